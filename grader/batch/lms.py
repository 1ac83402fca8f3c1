"""Grades into the LMS: the gradebook's points, after overrides, as each LMS imports them.

One row per student of the roster (missing ones included, with an empty cell: no grade rather
than a zero), or per student in the gradebook without a roster; one column per exercise.

- `canvas`: Canvas' gradebook import: `Student, ID, SIS User ID, SIS Login ID, Section`, then
  one column per assignment; the second row, `Points Possible`, gives each column's maximum
  (Canvas makes a new assignment of a column it does not know).
- `moodle`: Moodle's grade import matches rows by a user field: `Email address` (or the roster's
  id), then one column per grade item.
- `blackboard`: the Grade Center's upload: `Last Name, First Name, Username, Student ID`, then
  `<exercise> [Total Pts: <points> Score]` per exercise (a header without Blackboard's
  `|<column id>` makes a new column); every cell quoted, as Blackboard asks of a CSV.
- `csv`: `id, name`, then one column per exercise, and `notes`: lateness, and each override
  (who, when, why).

Cells are defused against spreadsheet formulas by the class CSV's own function
(grader.reporting.csv_report.defuse).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from grader.batch.gradebook import Entry, Override, graded_points
from grader.reporting.csv_report import defuse

FORMATS = ("canvas", "moodle", "blackboard", "csv")


def _safe(value: Any) -> str:
    return defuse("" if value is None else str(value))


def _points(value: float | None) -> str:
    return "" if value is None else f"{round(value, 4):g}"


Row = dict[str, Any]  # a roster student as the gradebook keeps them (grader.batch.roster)


def _header(fmt: str, maxima: dict[str, float]) -> list[list[str]]:
    """The header row(s) of `fmt`, for these exercises and their points."""
    xs = list(maxima)
    if fmt == "canvas":
        return [
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *xs],
            ["Points Possible", "", "", "", "", *(_points(maxima[x]) for x in xs)],
        ]
    if fmt == "moodle":
        return [["Email address", "ID number", *xs]]
    if fmt == "blackboard":
        scored = (f"{x} [Total Pts: {_points(maxima[x])} Score]" for x in xs)
        return [["Last Name", "First Name", "Username", "Student ID", *scored]]
    return [["id", "name", *xs, "notes"]]


def _row(fmt: str, s: Row, cells: list[str], notes: list[str]) -> list[str]:
    """One student's row of `fmt`: the LMS's own ids from the roster, then the points."""
    lms = s.get("lms") or {}
    if fmt == "canvas":
        ids = [
            lms.get("Student") or s.get("name") or s["id"],
            lms.get("ID", ""),
            lms.get("SIS User ID", ""),
            lms.get("SIS Login ID") or s["id"],
            lms.get("Section", ""),
        ]
    elif fmt == "blackboard":
        first, _, last = str(s.get("name") or "").rpartition(" ")
        ids = [
            lms.get("Last Name") or last,
            lms.get("First Name") or first,
            lms.get("Username") or s["id"],
            lms.get("Student ID", ""),
        ]
    elif fmt == "moodle":
        ids = [lms.get("Email address") or s.get("email") or s["id"], lms.get("ID number", "")]
    else:
        return [_safe(s["id"]), _safe(s.get("name", "")), *cells, _safe(" | ".join(notes))]
    return [*(_safe(v) for v in ids), *cells]


def export(
    fmt: str,
    entries: Sequence[Entry],
    overrides: Sequence[Override],
    roster: Sequence[Row],
    max_scores: dict[str, float],
    lateness: Callable[[str, str], tuple[float, str]] | None = None,
) -> str:
    """The import file's text. `max_scores`: each exercise's points (its columns, in order);
    `lateness(student, exercise)`: the fraction a late submission loses, and why
    (grader.batch.term)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    by_key = {(e.student, e.exercise): e for e in entries}
    students = roster or [
        {"id": s, "name": s, "email": "", "lms": {}} for s in sorted({e.student for e in entries})
    ]
    out = io.StringIO()
    w = csv.writer(
        out,
        lineterminator="\n",
        quoting=csv.QUOTE_ALL if fmt == "blackboard" else csv.QUOTE_MINIMAL,
    )
    w.writerows(_header(fmt, max_scores))
    for s in students:
        cells, notes = [], []
        for x in max_scores:
            mine = [o for o in overrides if o.student == s["id"] and o.exercise == x]
            penalty, late = lateness(s["id"], x) if lateness else (0.0, "")
            points, said = graded_points(
                by_key.get((s["id"], x)), mine, penalty=penalty, late=f"{x}: {late}" if late else ""
            )
            cells.append(_points(points))
            notes += said
        w.writerow(_row(fmt, s, cells, notes))
    return out.getvalue()
