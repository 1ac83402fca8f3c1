"""The terminal report of `cnn-grader check` (and `grade --verbose`): what the HTML says, as text.

Every failed check shows its whole message, wrapped to the terminal, and its hint; a message
cut for length ends with "…" and says where the rest is. Cells are named as the student sees
them in Jupyter ("cell N"), as in every other report.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

from grader.models import CheckStatus, ExecutionStatus, GradeResult

SYMBOL = {"passed": "✔", "failed": "✘", "not_attempted": "·", "error": "!", "timeout": "⧗"}
MAX_MESSAGE_LINES = 40  # a traceback can be long; the HTML report has all of it
_SHOWN = (CheckStatus.FAILED, CheckStatus.TIMEOUT, CheckStatus.ERROR)


# The terminal the summary is printed on, when it is not this process's (a check server prints
# for its client: grader.cli.check_server).
COLUMNS: int | None = None


def width() -> int:
    columns = COLUMNS or shutil.get_terminal_size((100, 24)).columns
    return max(60, min(columns, 120))


def _wrapped(text: str, indent: str, cols: int) -> list[str]:
    out: list[str] = []
    for line in text.splitlines() or [""]:
        if line.startswith((" ", "\t")) or not line.strip():  # code and tracebacks keep their shape
            out.append(indent + line)
            continue
        out += textwrap.wrap(
            line,
            cols - len(indent),
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=True,
            break_on_hyphens=False,
        ) or [indent]
    return out


def message_lines(
    text: str,
    *,
    indent: str = "      ",
    cols: int | None = None,
    limit: int = MAX_MESSAGE_LINES,
    rest: str = "the HTML report",
) -> list[str]:
    """A whole message, wrapped; past `limit` lines, cut with "…" and where to read the rest."""
    lines = _wrapped(text, indent, cols or width())
    if len(lines) > limit:
        lines = lines[:limit] + [f"{indent}… ({len(lines) - limit} more lines in {rest})"]
    return lines


def render(
    result: GradeResult,
    *,
    report: Path | None = None,
    public: str = "",
    unchecked: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The lines of the terminal report. `public` is the note that these were public examples
    only (a release's self-check), printed first and last; `unchecked` the functions that have
    none, with why (counted on the total line)."""
    cols = width()
    if public:
        yield public
    yield f"{result.title or result.exercise} — {result.notebook}"
    ex = result.execution
    yield (
        f"execution: {ex.status.value} in {ex.duration_s:.1f}s"
        + (f" — {ex.message}" if ex.message else "")
    )
    for p in ex.problems:
        where = f"cell {p.cell}" if p.cell else "a cell"
        yield f"  {where}: {p.kind} {p.ename}: {p.evalue}".rstrip(": ")
    if public:  # what the run was: the budget it trained under, the limits
        for note in ex.notes:
            yield from _wrapped(f"note: {note}", "  ", cols)
    group = None
    for c in result.checks:
        if c.group != group:
            group = c.group
            yield ""
            yield group or "other"
        points = "" if public else f" {c.score:g}/{c.max_score:g}"
        yield f"  {SYMBOL.get(c.status.value, '?')} {c.title or c.id:<44}{points}".rstrip()
        if c.status in _SHOWN and c.message:
            rest = str(report) if report else "the HTML report"
            yield from message_lines(c.message, cols=cols, rest=rest)
        if c.status in _SHOWN and c.hint:
            yield from _wrapped(f"hint: {c.hint}", "      ", cols)
    yield ""
    if public:
        passed = sum(c.status is CheckStatus.PASSED for c in result.checks)
        missing = dict(unchecked or {})
        yield (
            f"public examples passed: {passed} of {len(result.checks)}"
            + (f"; {', '.join(missing)}: no public examples" if missing else "")
        )
        for name, why in missing.items():
            yield from _wrapped(f"{name}: {why}", "  ", cols)
    else:
        yield f"score: {result.score:g} / {result.max_score:g}   (seed {result.seed})"
    if report is not None:
        yield f"full report: {report}"
    if public:
        yield public


def exit_code(result: GradeResult) -> int:
    return 1 if result.execution.status is ExecutionStatus.INVALID_NOTEBOOK else 0
