"""The Markdown a GitHub Actions job shows on its run page ($GITHUB_STEP_SUMMARY).

The reporter's console log lists the checks but its table names runners, not checks; the run's
summary page is where a student reads the whole grading at a glance: every check with a status
symbol, its title and points, why it did not pass and a hint, the true total, the graded file.
Student-controlled text (messages quote what their code returned) is escaped, so it reads as
written and cannot break the table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from grader.models import CheckResult, CheckStatus, ExecutionStatus, GradeResult

# What a check's status reads as, and what a grader error tells a student (here and in the
# reporter's documents, grader.reporting.classroom).
VERDICT = {
    CheckStatus.PASSED: "passed",
    CheckStatus.FAILED: "failed",
    CheckStatus.NOT_ATTEMPTED: "not attempted",
    CheckStatus.TIMEOUT: "timed out",
    CheckStatus.ERROR: "grader error",
}
GRADER_ERROR = (
    "a problem of the grader, not of your notebook: your instructor sees the details in the report"
)


def number(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


SYMBOL = {
    CheckStatus.PASSED: "✅",
    CheckStatus.FAILED: "❌",
    CheckStatus.NOT_ATTEMPTED: "⏸️",
    CheckStatus.TIMEOUT: "⏱️",
    CheckStatus.ERROR: "⚠️",
}
_MAX_CELL = 800
_MARKDOWN = re.compile(r"([\\`*_\[\]|#~])")


def to_markdown(results: Sequence[GradeResult]) -> str:
    """One section per graded notebook, then the grand total when there are several."""
    text = "".join(_section(r) for r in results)
    if len(results) > 1:
        total = _pts(sum(r.score for r in results), sum(r.max_score for r in results))
        text += f"**Total of the {len(results)} notebooks: {total}**\n\n"
    return text


def _section(result: GradeResult) -> str:
    passed = sum(c.status is CheckStatus.PASSED for c in result.checks)
    title = result.title or result.exercise
    lines = [
        f"## {cell(title)}: {_pts(result.score, result.max_score)} points",
        "",
        (
            f"Graded file: `{_code(result.notebook)}` (exercise `{_code(result.exercise)}`, "
            f"seed {result.seed}, profile {cell(result.profile)}, cnn-grader "
            f"{cell(result.grader_version)}). {passed} of {len(result.checks)} checks passed; "
            "the full report is attached to this run as an artifact."
        ),
        "",
    ]
    ex = result.execution
    if ex.status is not ExecutionStatus.OK:
        why = ex.status.value.replace("_", " ")
        lines += [
            (
                f"> **The notebook did not run to the end ({why})**: "
                f"{cell(ex.message or 'see the report')}"
            ),
            "",
        ]
    lines += ["| | Check | Points | Why it did not pass |", "|:-:|---|--:|---|"]
    lines += [_row(c) for c in result.checks]
    lines += [f"| | **Total** | **{_pts(result.score, result.max_score)}** | |", "", ""]
    return "\n".join(lines)


def _row(check: CheckResult) -> str:
    if check.status is CheckStatus.PASSED:
        why = ""
    elif check.status is CheckStatus.ERROR:
        why = cell(GRADER_ERROR.capitalize() + ".")
    else:
        why = cell(check.message or VERDICT[check.status])
        if check.hint:
            why += f"<br>**Hint:** {cell(check.hint)}"
    return (
        f"| {SYMBOL[check.status]} | {cell(check.title or check.id)} | "
        f"{_pts(check.score, check.max_score)} | {why} |"
    )


def cell(text: str) -> str:
    """Text as it reads, inside a table cell: HTML and Markdown escaped, lines as <br>."""
    text = text if len(text) <= _MAX_CELL else text[:_MAX_CELL] + " …"
    text = _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))
    return "<br>".join(line.strip() for line in text.splitlines()) or ""


def _code(text: str) -> str:
    return text.replace("`", "'")


def _pts(score: float, max_score: float) -> str:
    return f"{number(score)} / {number(max_score)}"
