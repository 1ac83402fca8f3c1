"""Gradescope: the results.json its autograder harness reads, and the zip that sets it up.

Gradescope unpacks the autograder zip into /autograder/source, runs `setup.sh` once to build
the image, then `run_autograder` for every submission (the student's files are in
/autograder/submission) and shows /autograder/results/results.json:

    {"score", "output", "execution_time", "visibility",
     "tests": [{"name", "score", "max_score", "status": "passed" | "failed", "output",
                "visibility"}]}

The zip carries this package's source and only the solution notebook of its exercise (the
grader computes reference answers from it; the student's code runs in the same container).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.errors import ConfigurationError
from grader.models import CheckStatus, ExecutionStatus, GradeResult

DEFAULT_RESULTS = Path("/autograder/results/results.json")
_PACKAGE_SUFFIXES = {".py", ".j2", ".html", ".css", ".json", ".typed"}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same source gives the same zip


def to_gradescope(results: Sequence[GradeResult]) -> dict[str, Any]:
    several = len(results) > 1
    tests = []
    for r in results:
        for c in r.checks:
            out = c.message
            if c.hint and c.status is not CheckStatus.PASSED:
                out = f"{out}\nHint: {c.hint}" if out else f"Hint: {c.hint}"
            tests.append({
                "name": f"{r.exercise} · {c.title or c.id}" if several else (c.title or c.id),
                "score": c.score, "max_score": c.max_score,
                "status": "passed" if c.status is CheckStatus.PASSED else "failed",
                "output": out, "visibility": "visible"})
    return {"score": round(sum(r.score for r in results), 6), "output": _summary(results),
            "tests": tests, "execution_time": int(round(sum(r.duration_s for r in results))),
            "visibility": "visible"}


def write_results(results: Sequence[GradeResult], path: Path = DEFAULT_RESULTS) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_gradescope(results), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
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
            lines.append(f"  cell {p.cell_index + 1}: {p.kind} {p.ename} {p.evalue}".rstrip())
    return "\n".join(lines)


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
if ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update
  apt-get install -y --no-install-recommends python3 python3-pip python3-venv
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; the student's files are in /autograder/submission.
set -uo pipefail
EXERCISE="{exercise}"
export CNN_GRADER_COURSE_DIR=/autograder/source
mkdir -p /autograder/results
pick() {{
  find /autograder/submission -type f -iname "$1" -not -path '*/.ipynb_checkpoints/*' \\
    | LC_ALL=C sort | head -n 1
}}
notebook="$(pick "*${{EXERCISE%%_*}}*.ipynb")"
[ -n "$notebook" ] || notebook="$(pick '*.ipynb')"
# No notebook at all: grading the expected path yields a report saying it could not be read.
[ -n "$notebook" ] || notebook="/autograder/submission/$EXERCISE.ipynb"
/autograder/venv/bin/cnn-grader grade "$notebook" --exercise "$EXERCISE" \\
  --out /autograder/results/reports --gradescope --gradescope-out /autograder/results/results.json
exit 0
"""


def build_autograder_zip(exercise: str, out: Path, *, source_root: Path | None = None,
                         course_root: Path | None = None) -> Path:
    """Write Gradescope's autograder zip for one exercise; returns its path.

    `source_root` is the checkout holding pyproject.toml and grader/ (by default the one this
    package runs from); `course_root` the folder with solutions/ (by default the grader's).
    """
    from grader.course import course_dir
    from grader.exercises import get

    get(exercise)  # an unknown id is a usage error, raised before anything is written
    src = Path(source_root) if source_root else Path(__file__).resolve().parents[2]
    if not (src / "pyproject.toml").is_file() or not (src / "grader").is_dir():
        raise ConfigurationError(f"{src} is not a source checkout of the grader (no "
                                 "pyproject.toml and grader/); build the zip from one")
    solution = (Path(course_root) if course_root else course_dir()) / "solutions" / f"{exercise}.ipynb"
    if not solution.is_file():
        raise ConfigurationError(f"no solution notebook {solution}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(exercise=exercise).encode(),
             executable=True)
        _add(zf, "pyproject.toml", (src / "pyproject.toml").read_bytes())
        readme = src / "README.md"
        _add(zf, "README.md", readme.read_bytes() if readme.is_file()
             else b"# cnn-grader\n\nAutograder for the CNN course.\n")
        for path in sorted((src / "grader").rglob("*")):
            if path.is_file() and path.suffix in _PACKAGE_SUFFIXES \
                    and "__pycache__" not in path.parts:
                _add(zf, path.relative_to(src).as_posix(), path.read_bytes())
        _add(zf, f"solutions/{exercise}.ipynb", solution.read_bytes())
    return out


def _add(zf: zipfile.ZipFile, name: str, data: bytes, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
