"""The gradebook: one SQLite file that makes a batch resumable and cheap to repeat.

Only the batch's parent process writes it, one transaction per finished submission, so a run
killed at any instant (kill -9 included) loses at most the submissions that were still being
graded. WAL mode with synchronous=NORMAL keeps a committed row through a killed process (it
may lose the last commits on a power cut, which a rerun regrades).

A row is reused instead of grading again when the notebook's bytes (sha256), the grader's
version and the grading configuration (the exercise's checks and solution, the options) are all
unchanged, and the last attempt was not a grader failure.

A row's `status` is a `BatchOutcome`. Schema 1 wrote a grader failure as "error", the word a
check's status uses for something else; opening such a gradebook migrates its rows (schema 2),
and a row read from anywhere is read through `BatchOutcome.of`, which knows the old word. A
row's `result` is the results document (`GradeResult.to_dict()`), read with `GradeResult.
from_dict`: `Entry.row()` is what the CSV and the dashboard get.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from grader.models import BatchOutcome, ClassEntry, GradeResult, SchemaError

SCHEMA_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    student        TEXT NOT NULL,
    exercise       TEXT NOT NULL,
    path           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    config         TEXT NOT NULL,
    seed           INTEGER,
    status         TEXT NOT NULL,
    score          REAL NOT NULL DEFAULT 0,
    max_score      REAL NOT NULL DEFAULT 0,
    result         TEXT,
    message        TEXT NOT NULL DEFAULT '',
    report         TEXT,
    graded_at      TEXT NOT NULL,
    duration_s     REAL NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 1,
    executions     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (student, exercise)
);
CREATE TABLE IF NOT EXISTS similarity (
    exercise  TEXT NOT NULL,
    student_a TEXT NOT NULL,
    student_b TEXT NOT NULL,
    score     REAL NOT NULL,
    PRIMARY KEY (exercise, student_a, student_b)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS overrides (
    student   TEXT NOT NULL,
    exercise  TEXT NOT NULL,
    check_id  TEXT NOT NULL DEFAULT '',  -- '' overrides the exercise's total
    points    REAL NOT NULL,
    why       TEXT NOT NULL,
    by        TEXT NOT NULL,
    at        TEXT NOT NULL,
    basis     REAL,  -- what the grader gave when the override was made
    PRIMARY KEY (student, exercise, check_id)
);
CREATE TABLE IF NOT EXISTS submitted (
    student  TEXT NOT NULL,
    exercise TEXT NOT NULL,
    at       TEXT NOT NULL,  -- ISO 8601 with its time zone
    source   TEXT NOT NULL,  -- "git commit" or "file time"
    PRIMARY KEY (student, exercise)
);
CREATE TABLE IF NOT EXISTS roster (
    position INTEGER PRIMARY KEY,
    student  TEXT NOT NULL UNIQUE,
    data     TEXT NOT NULL  -- the roster's student as JSON (name, email, aliases, LMS ids)
);
"""


@dataclass(frozen=True)
class Override:
    """An instructor's points for one student's exercise (`check` "") or one of its checks,
    with who, when and why; kept through regrades, applied on top of grading."""

    student: str
    exercise: str
    check: str
    points: float
    why: str
    by: str
    at: str
    basis: float | None = None  # the grader's points when it was made

    def for_student(self) -> str:
        """What the student's report says of it (the instructor's name and reason included:
        the student is told who changed their grade and why)."""
        what = f"the check {self.check}" if self.check else "this exercise"
        return f"Your instructor ({self.by}) set {what} to {self.points:g} points: {self.why}"

    def describe(self) -> str:
        what = f"{self.exercise}/{self.check}" if self.check else self.exercise
        return f"{what}: {self.points:g} points by {self.by} on {self.at[:10]} ({self.why})"


@dataclass
class Entry:
    """One row: the latest grading of one student's notebook for one exercise."""

    student: str
    exercise: str
    path: str
    sha256: str
    grader_version: str
    config: str
    seed: int | None
    status: BatchOutcome
    score: float = 0.0
    max_score: float = 0.0
    result: str | None = None  # the results file (CONTRACT.md §3), as JSON text
    message: str = ""
    report: str | None = None  # "students/<student>/<exercise>.html", relative to the gradebook
    graded_at: str = ""
    duration_s: float = 0.0
    attempts: int = 1
    executions: int = 0  # how many times this row's notebook was actually run, over all runs

    def __post_init__(self) -> None:
        self.status = BatchOutcome.of(self.status)

    def grade_result(self) -> GradeResult | None:
        """The results document of a graded row; None without one, or for one this grader
        cannot read (a row of another grader version keeps its columns)."""
        if not self.result:
            return None
        try:
            return GradeResult.from_dict(json.loads(self.result))
        except (ValueError, SchemaError):
            return None

    def row(self) -> ClassEntry:
        """This row as the class-level renderers (CSV, dashboard) see it."""
        unknown = self.status is BatchOutcome.UNKNOWN_EXERCISE
        return ClassEntry.of(
            student=self.student,
            exercise="" if unknown else self.exercise,
            status=self.status,
            result=self.grade_result(),
            score=self.score,
            max_score=self.max_score,
            report=self.report,
            notebook=self.path,
            message=self.message,
            duration_s=self.duration_s,
        )


_COLUMNS = [f.name for f in fields(Entry)]


def _entry(row: Any) -> Entry:
    return Entry(**{k: row[k] for k in _COLUMNS})


def _check_points(entry: Entry, check: str) -> float | None:
    result = entry.grade_result()
    found = next((c for c in result.checks if c.id == check), None) if result else None
    return found.score if found is not None else None


def graded_points(
    entry: Entry | None, overrides: list[Override], *, penalty: float = 0.0, late: str = ""
) -> tuple[float | None, list[str]]:
    """An exercise's points after the overrides on it (None: nothing graded and no override),
    and the notes that go with them: each override, and where the grader's own points for what
    it overrides changed since (a regrade). A late penalty (a fraction) applies to the graded
    points with a check's overrides; an override of the whole exercise is the final word."""
    notes = [late] if late else []
    total = entry.score if entry is not None else None
    for o in sorted(overrides, key=lambda o: o.check == ""):  # a check's first, the total last
        now = (entry.score if not o.check else _check_points(entry, o.check)) if entry else None
        if o.check:
            if total is not None and now is not None:
                total += o.points - now
        else:
            total = o.points
        note = o.describe()
        if o.basis is not None and now is not None and abs(now - o.basis) > 1e-9:
            note += f"; the grader now gives {now:g} (it gave {o.basis:g} when overridden)"
        notes.append(note)
    if penalty and total is not None and not any(not o.check for o in overrides):
        total = round(total * (1.0 - penalty), 6)
    return total, notes


class Gradebook:
    """`with Gradebook(path) as gb: ...`; every `put` is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self._migrate()

    def _migrate(self) -> None:
        """Schema 1 → 2: a grader failure was stored as "error"."""
        found = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is not None and found[0] == "1":
            self._db.execute(
                "UPDATE submissions SET status = ? WHERE status = 'error'",
                (BatchOutcome.GRADER_FAILURE.value,),
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def get(self, student: str, exercise: str) -> Entry | None:
        row = self._db.execute(
            "SELECT * FROM submissions WHERE student = ? AND exercise = ?", (student, exercise)
        ).fetchone()
        return _entry(row) if row else None

    def is_fresh(
        self, entry: Entry | None, *, sha256: str, grader_version: str, config: str
    ) -> bool:
        """Can this row stand for the submission as it is now, without running it again?"""
        return (
            entry is not None
            and entry.status is not BatchOutcome.GRADER_FAILURE
            and entry.sha256 == sha256
            and entry.grader_version == grader_version
            and entry.config == config
        )

    def put(self, entry: Entry, *, executed: bool) -> Entry:
        """Insert or replace the row and commit; `executed` counts a real run of the notebook."""
        old = self.get(entry.student, entry.exercise)
        entry.executions = (old.executions if old else 0) + (1 if executed else 0)
        values = asdict(entry) | {"status": entry.status.value}
        with self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO submissions ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [values[c] for c in _COLUMNS],
            )
        return entry

    def entries(self) -> list[Entry]:
        rows = self._db.execute("SELECT * FROM submissions ORDER BY student, exercise")
        return [_entry(r) for r in rows]

    def replace_similarity(self, exercise: str, pairs: Iterable[tuple[str, str, float]]) -> None:
        """Similarity is recomputed per exercise over the notebooks of the latest run."""
        with self._db:
            self._db.execute("DELETE FROM similarity WHERE exercise = ?", (exercise,))
            self._db.executemany(
                "INSERT OR REPLACE INTO similarity VALUES (?, ?, ?, ?)",
                [(exercise, a, b, float(s)) for a, b, s in pairs],
            )

    # -- the term: overrides and the roster -------------------------------------------------
    def override(self, o: Override) -> Override:
        """Record (or replace) an override; its basis is what the grader gives now."""
        entry = self.get(o.student, o.exercise)
        basis = o.basis
        if basis is None and entry is not None:
            basis = entry.score if not o.check else _check_points(entry, o.check)
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (o.student, o.exercise, o.check, float(o.points), o.why, o.by, o.at, basis),
            )
        return Override(o.student, o.exercise, o.check, o.points, o.why, o.by, o.at, basis)

    def overrides(self) -> list[Override]:
        rows = self._db.execute("SELECT * FROM overrides ORDER BY student, exercise, check_id")
        return [
            Override(
                r["student"],
                r["exercise"],
                r["check_id"],
                float(r["points"]),
                r["why"],
                r["by"],
                r["at"],
                r["basis"],
            )
            for r in rows
        ]

    def set_submitted(self, student: str, exercise: str, at: str, source: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO submitted VALUES (?, ?, ?, ?)",
                (student, exercise, at, source),
            )

    def submitted(self) -> dict[tuple[str, str], tuple[str, str]]:
        rows = self._db.execute("SELECT student, exercise, at, source FROM submitted")
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    def set_roster(self, students: list[dict[str, Any]]) -> None:
        with self._db:
            self._db.execute("DELETE FROM roster")
            self._db.executemany(
                "INSERT INTO roster VALUES (?, ?, ?)",
                [(i, s["id"], json.dumps(s)) for i, s in enumerate(students)],
            )

    def roster(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM roster ORDER BY position")
        return [json.loads(r[0]) for r in rows]

    def similarity(self) -> list[tuple[str, str, str, float]]:
        rows = self._db.execute(
            "SELECT exercise, student_a, student_b, score FROM similarity "
            "ORDER BY exercise, score DESC, student_a, student_b"
        )
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]
