"""The student's HTML report: one self-contained page rendered from the result tree.

Everything in a result is untrusted text (messages quote what the student's code returned,
tracebacks quote its exceptions), so the jinja2 environment autoescapes every value. This
module only turns the tree into plain values the template can lay out; the wording that
explains a status to a student lives here, next to the statuses it explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2

from grader.models import CellProblem, CheckResult, CheckStatus, ExecutionStatus, GradeResult

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_SOURCE_HEAD_LINES = 6

CHECK_LABELS: dict[CheckStatus, str] = {
    CheckStatus.PASSED: "Passed",
    CheckStatus.FAILED: "Failed",
    CheckStatus.NOT_ATTEMPTED: "Not attempted",
    CheckStatus.ERROR: "Grader error",
    CheckStatus.TIMEOUT: "Timed out",
}
_CHECK_ICONS: dict[CheckStatus, str] = {
    CheckStatus.PASSED: "✓",
    CheckStatus.FAILED: "✗",
    CheckStatus.NOT_ATTEMPTED: "–",
    CheckStatus.ERROR: "!",
    CheckStatus.TIMEOUT: "◷",
}
EXECUTION_LABELS: dict[ExecutionStatus, str] = {
    ExecutionStatus.OK: "Ran to the end",
    ExecutionStatus.TIMEOUT: "Timed out",
    ExecutionStatus.KERNEL_DIED: "Kernel stopped",
    ExecutionStatus.INVALID_NOTEBOOK: "Not a valid notebook",
}
_EXECUTION_EXPLAINED: dict[ExecutionStatus, str] = {
    ExecutionStatus.OK: (
        "Your notebook ran from top to bottom in a fresh kernel, then the grader called your "
        "functions on its own inputs."
    ),
    ExecutionStatus.TIMEOUT: (
        "Your notebook took longer than the time limit and was stopped, so some cells did not "
        "run. Look for a loop that never ends or training that runs for too many epochs."
    ),
    ExecutionStatus.KERNEL_DIED: (
        "The Python process running your notebook stopped unexpectedly, usually because it ran "
        "out of memory or the code called exit(). Cells after that point may not have run."
    ),
    ExecutionStatus.INVALID_NOTEBOOK: (
        "The file could not be opened as a Jupyter notebook, so none of it was run. Submit the "
        ".ipynb file saved from Jupyter, not an export or a renamed copy."
    ),
}
_PROBLEM_LABELS = {
    "error": "raised an error",
    "timeout": "ran past the time limit",
    "kernel_died": "stopped the kernel",
    "skipped": "was not run",
}


@dataclass(frozen=True)
class _Cell:
    text: str
    status: str  # "ok" | "bad" | ""


@dataclass(frozen=True)
class _CheckView:
    check: CheckResult
    label: str
    icon: str
    table: list[list[_Cell]] | None
    threshold_text: str


@dataclass(frozen=True)
class _GroupView:
    name: str
    checks: list[_CheckView]
    score: float
    max_score: float


@dataclass(frozen=True)
class _ProblemView:
    problem: CellProblem
    number: int  # 1-based, as a person counts cells
    label: str
    source_head: str
    traceback: str


def render_html(result: GradeResult) -> str:
    """Render the page a student opens from a file: inline CSS, no network, no scripts."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=result,
        title=result.title or result.exercise,
        percent=_percent(result.score, result.max_score),
        counts=[
            (s.value, CHECK_LABELS[s], n) for s in CheckStatus if (n := result.counts()[s.value])
        ],
        execution_label=EXECUTION_LABELS[result.execution.status],
        execution_explained=_EXECUTION_EXPLAINED[result.execution.status],
        problems=[_problem_view(p) for p in result.execution.problems],
        groups=_groups(result.checks),
        graded_at=_when(result.graded_at),
    )


def prepare() -> None:
    """Compile the report's template now (grader.prewarm), not at the first report."""
    _environment().get_template("report.html.j2")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """One environment per process: templates compile once, and autoescape is never optional."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points"] = format_points
    env.filters["duration"] = format_duration
    return env


def format_points(value: float) -> str:
    """Points as people write them: 7, 0.5, 2.25 (never 7.0 or 0.30000000000000004)."""
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_duration(seconds: float) -> str:
    """A duration a student can read at a glance: 3.2 s, 2 min 05 s."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def _percent(score: float, max_score: float) -> float:
    if max_score <= 0:
        return 0.0
    return round(min(max(score / max_score, 0.0), 1.0) * 100, 1)


def _when(stamp: str) -> str:
    """ISO timestamps shortened to the minute; anything else is shown as given."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    zone = f" {moment.strftime('%Z')}" if moment.tzinfo else ""
    return moment.strftime("%Y-%m-%d %H:%M") + zone


def _groups(checks: list[CheckResult]) -> list[_GroupView]:
    """Checks grouped by the student function they test, in the order the exercise declares."""
    by_name: dict[str, list[CheckResult]] = {}
    for check in checks:
        by_name.setdefault(check.group, []).append(check)
    return [
        _GroupView(
            name=name,
            checks=[_check_view(c) for c in members],
            score=sum(c.score for c in members),
            max_score=sum(c.max_score for c in members),
        )
        for name, members in by_name.items()
    ]


def _check_view(check: CheckResult) -> _CheckView:
    details: dict[str, Any] = check.details if isinstance(check.details, dict) else {}
    threshold = details.get("threshold_text")
    return _CheckView(
        check=check,
        label=CHECK_LABELS[check.status],
        icon=_CHECK_ICONS[check.status],
        table=_table(details.get("table")),
        threshold_text="" if threshold is None else str(threshold),
    )


def _table(rows: Any) -> list[list[_Cell]] | None:
    """A `details["table"]` as rows of cells; a malformed table is dropped, not fatal.

    The first row is the header. A cell is plain text or {"text": ..., "status": "ok"|"bad"}.
    """
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
        return None
    return [[_cell(c) for c in row] for row in rows]


def _cell(value: Any) -> _Cell:
    if isinstance(value, dict):
        status = value.get("status")
        text = value.get("text")
        return _Cell("" if text is None else str(text), status if status in ("ok", "bad") else "")
    return _Cell("" if value is None else str(value), "")


def _problem_view(problem: CellProblem) -> _ProblemView:
    lines = _ANSI.sub("", problem.source_head).rstrip().splitlines()
    head = "\n".join(lines[:_SOURCE_HEAD_LINES])
    if len(lines) > _SOURCE_HEAD_LINES:
        head += "\n…"
    return _ProblemView(
        problem=problem,
        number=problem.cell,
        label=_PROBLEM_LABELS.get(problem.kind, problem.kind),
        source_head=head,
        traceback=_ANSI.sub("", problem.traceback).strip(),
    )
