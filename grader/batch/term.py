"""Deadlines and a late policy, in a small course file an instructor keeps for the term (TOML):

    [deadlines]
    ex01_convolution = 2026-10-01T23:59:00Z

    [extensions.dan]             # a student's own deadline for an exercise
    ex01_convolution = 2026-10-03T23:59:00Z

    [late]
    per = "day"                  # or "hour": each started unit late costs `penalty`
    penalty = 0.1                # a fraction of the points earned
    cap = 0.5                    # at most this fraction
    hard = 2026-10-08T23:59:00Z  # after it, nothing (optional; an extension past it wins)
    accept = true                # false: late work is not taken (the due date is the cutoff)

In a GitHub Classroom clone the notebook graded is the one of the last commit at or before the
cutoff (the hard deadline, or the due date where late work is not accepted;
grader.batch.collect); without a cutoff, the newest commit, with its lateness.

A submission's time is its last commit where it lives in a git repository (a GitHub Classroom
clone: `git log -1 --format=%cI -- FILE`, read with git itself), else the file's modification
time. `batch` records it in the gradebook; `export` takes the penalty off the points.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.collect import last_commit
from grader.errors import ConfigurationError


@dataclass(frozen=True)
class Late:
    per: str = "day"
    penalty: float = 0.0
    cap: float = 1.0
    hard: dt.datetime | None = None
    accept: bool = True


@dataclass(frozen=True)
class Term:
    deadlines: dict[str, dt.datetime] = field(default_factory=dict)
    extensions: dict[str, dict[str, dt.datetime]] = field(default_factory=dict)
    late: Late = field(default_factory=Late)

    def due(self, student: str, exercise: str) -> dt.datetime | None:
        return self.extensions.get(student, {}).get(exercise) or self.deadlines.get(exercise)

    def hard(self, student: str, exercise: str) -> dt.datetime | None:
        """After this nothing counts: the hard deadline (later where the student's own due
        date is later), or the due date itself where late work is not accepted."""
        due = self.due(student, exercise)
        if not self.late.accept:
            return due
        if self.late.hard is None:
            return None
        return max(self.late.hard, due) if due is not None else self.late.hard

    def lateness(self, student: str, exercise: str, at: dt.datetime | None) -> tuple[float, str]:
        """(the fraction of the points taken off, what the report says) for a submission made
        at `at`; (0, "") when on time or without a deadline."""
        due = self.due(student, exercise)
        if due is None or at is None or at <= due:
            return 0.0, ""
        late = at - due
        hard = self.hard(student, exercise)
        if hard is not None and at > hard:
            return 1.0, f"submitted {_span(late)} late, after the hard deadline: no points"
        unit = 3600.0 if self.late.per == "hour" else 86400.0
        units = math.ceil(late.total_seconds() / unit)
        fraction = min(self.late.cap, self.late.penalty * units)
        cost = f"−{fraction:.0%}" if fraction else "no points off"
        return fraction, (
            f"submitted {_span(late)} late ({units} {self.late.per}"
            f"{'s' if units != 1 else ''}): {cost}"
        )

    def late_submissions(
        self, submitted: Mapping[tuple[str, str], tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[float, str]]:
        """Each late (student, exercise) of `submitted` (the gradebook's hand-in times: ISO
        time and how it was read), with the fraction it loses and what is said of it."""
        out = {}
        for (student, exercise), (at, _how) in submitted.items():
            fraction, text = self.lateness(student, exercise, dt.datetime.fromisoformat(at))
            if text:
                out[(student, exercise)] = (fraction, text)
        return out


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _when(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(f"{where}: {value!r} is not a date and time") from None
    else:
        raise ConfigurationError(f"{where}: {value!r} is not a date and time")
    if when.tzinfo is None:
        raise ConfigurationError(f"{where}: {value!r} needs a time zone (Z, +02:00, ...)")
    return when


def load(path: Path) -> Term:
    import importlib

    tomllib: Any = None
    for name in ("tomllib", "tomli"):  # the standard library's from Python 3.11, else tomli
        try:
            tomllib = importlib.import_module(name)
            break
        except ImportError:
            continue
    if tomllib is None:
        raise ConfigurationError("reading a course file needs Python 3.11 or tomli")
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"course file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
    late = data.get("late", {})
    if late.get("per", "day") not in ("day", "hour"):
        raise ConfigurationError(f"{path}: [late] per is 'day' or 'hour'")
    return Term(
        deadlines={
            k: _when(v, f"{path} [deadlines] {k}") for k, v in data.get("deadlines", {}).items()
        },
        extensions={
            s: {k: _when(v, f"{path} [extensions.{s}] {k}") for k, v in ex.items()}
            for s, ex in data.get("extensions", {}).items()
        },
        late=Late(
            str(late.get("per", "day")),
            float(late.get("penalty", 0.0)),
            float(late.get("cap", 1.0)),
            _when(late["hard"], f"{path} [late] hard") if "hard" in late else None,
            _accept(late.get("accept", True), path),
        ),
    )


def _accept(value: Any, path: Path) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{path}: [late] accept is true or false")
    return value


def submitted_at(path: Path) -> tuple[dt.datetime, str]:
    """When a notebook was submitted, and how that was read: its last commit in a git
    repository, else its modification time."""
    path = Path(path)
    at, how = last_commit(path.parent, path.name)
    if at is not None:
        return at, how
    mtime = path.stat().st_mtime
    return dt.datetime.fromtimestamp(mtime, tz=dt.timezone.utc), "file time"
