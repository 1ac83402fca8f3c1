"""Gradescope: the results.json its autograder harness reads and shows to the student.

    {"score", "output", "execution_time", "visibility", "output_format": "md",
     "test_output_format": "md",
     "tests": [{"name", "score", "max_score", "status": "passed" | "failed", "output",
                "visibility"}]}

(https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format). The zip that
sets Gradescope up is built by `grader.deploy.gradescope_zip`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.models import CheckStatus, ExecutionStatus, GradeResult

DEFAULT_RESULTS = Path("/autograder/results/results.json")
# The messages name code in backticks (`conv2d` is not defined): Gradescope renders them as
# Markdown only when told so; otherwise the backticks show.
OUTPUT_FORMAT = "md"


def to_gradescope(
    results: Sequence[GradeResult], *, note: str = "", score_factor: float = 1.0
) -> dict[str, Any]:
    """`note` leads the student-visible output (e.g. which file of the submission was graded);
    `score_factor` scales the total (a late penalty: the tests keep their own points, and the
    top-level score, which Gradescope takes over their sum, is what is left)."""
    several = len(results) > 1
    tests = []
    for r in results:
        for c in r.checks:
            out = c.message
            if c.hint and c.status is not CheckStatus.PASSED:
                out = f"{out}\nHint: {c.hint}" if out else f"Hint: {c.hint}"
            tests.append(
                {
                    "name": f"{r.exercise} · {c.title or c.id}" if several else (c.title or c.id),
                    "score": c.score,
                    "max_score": c.max_score,
                    "status": "passed" if c.status is CheckStatus.PASSED else "failed",
                    "output": out,
                    "visibility": "visible",
                }
            )
    findings = [f"{r.exercise}: {f}" if several else f for r in results for f in r.integrity]
    if findings:  # Gradescope shows a "hidden" test to instructors only
        tests.append(
            {
                "name": "For the instructor: integrity findings",
                "score": 0.0,
                "max_score": 0.0,
                "status": "failed",
                "output": "\n".join(findings),
                "visibility": "hidden",
            }
        )
    output = "\n".join(part for part in (note.strip(), _summary(results)) if part)
    return {
        "score": round(sum(r.score for r in results) * score_factor, 6),
        "output": output,
        "tests": tests,
        "execution_time": int(round(sum(r.duration_s for r in results))),
        "visibility": "visible",
        "output_format": OUTPUT_FORMAT,
        "test_output_format": OUTPUT_FORMAT,
    }


def write_results(
    results: Sequence[GradeResult],
    path: Path = DEFAULT_RESULTS,
    *,
    note: str = "",
    score_factor: float = 1.0,
) -> Path:
    return write_document(to_gradescope(results, note=note, score_factor=score_factor), path)


def failure_document(message: str) -> dict[str, Any]:
    """What the student sees when the grader itself failed: a score of 0 that says so, rather
    than Gradescope's bare "The autograder failed to execute correctly"."""
    return {
        "score": 0.0,
        "output": message,
        "tests": [],
        "visibility": "visible",
        "output_format": OUTPUT_FORMAT,
    }


def write_document(document: dict[str, Any], path: Path = DEFAULT_RESULTS) -> Path:
    """Written whole through a temporary file: Gradescope never reads half a JSON document."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _summary(results: Sequence[GradeResult]) -> str:
    lines = []
    for r in results:
        ex = r.execution
        line = f"{r.title or r.exercise}: {r.score:g} / {r.max_score:g}"
        if ex.status is not ExecutionStatus.OK:
            line += f" — the notebook's run ended with status {ex.status.value}"
            if ex.message:
                line += f": {ex.message}"
        lines.append(line)
        for p in ex.problems[:5]:
            lines.append(f"  cell {p.cell}: {p.kind} {p.ename} {p.evalue}".rstrip())
    return "\n".join(lines)
