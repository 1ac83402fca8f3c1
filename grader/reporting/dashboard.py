"""The class dashboard: one self-contained HTML page for the instructor after a batch.

Per exercise: a histogram of scores and the pass rate of every check (drawn as inline SVG and
CSS bars, so the page needs no script and no network), the most common failure messages with
how many students hit each (numbers replaced by `#`, so "expected (4, 4)" and "expected (5, 5)"
count as one mistake), the submissions that timed out, crashed or could not be read, the
similarity flags, and every student with links to their reports.

Everything shown came from students (names, messages), so the environment autoescapes, and all
geometry is computed here, leaving the template only to lay it out.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import jinja2

from grader.models import BatchOutcome, CheckStatus, ClassEntry
from grader.reporting.csv_report import check_ids, exercises_of, short_id
from grader.reporting.html_report import format_duration, format_points
from grader.reporting.term_view import STRIP_H, STRIP_W, Strip, TermMarks, strips
from grader.similarity import SimilarPair

BINS = 10
TOP_FAILURES = 8
_CHART_W, _CHART_H, _PAD_L, _PAD_B, _PAD_T = 520, 170, 8, 26, 18
_NUMBER = re.compile(
    r"(?<![A-Za-z_\d.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_\d])"
)
FAILED_CHECK = frozenset({CheckStatus.FAILED, CheckStatus.TIMEOUT, CheckStatus.ERROR})
STATUS_LABELS = {
    BatchOutcome.OK.value: "Graded",
    BatchOutcome.TIMEOUT.value: "Timed out",
    BatchOutcome.KERNEL_DIED.value: "Kernel died",
    BatchOutcome.INVALID_NOTEBOOK.value: "Not a valid notebook",
    BatchOutcome.GRADER_FAILURE.value: "Grader failure",
    BatchOutcome.UNKNOWN_EXERCISE.value: "Unknown exercise",
    "missing": "Not submitted",
}


@dataclass(frozen=True)
class _Bar:
    label: str
    count: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class _Rate:
    id: str
    title: str
    passed: int
    total: int
    percent: float
    tone: str


@dataclass(frozen=True)
class _Failure:
    check: str
    message: str
    students: int
    names: str


@dataclass(frozen=True)
class _Exercise:
    id: str
    short: str
    title: str
    n: int
    max_score: float
    mean: float
    median: float
    full: int
    bars: list[_Bar]
    rates: list[_Rate]
    failures: list[_Failure]
    strips: list[Strip]
    late: list[tuple[str, str]]
    overridden: list[tuple[str, str]]


@dataclass(frozen=True)
class _Cell:
    score: float | None
    max_score: float
    status: str
    href: str | None


def normalise_message(message: str) -> str:
    """A failure message with its numbers replaced, so that one mistake counts once."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()][:2]
    text = _NUMBER.sub("#", " ".join(lines))
    return re.sub(r"\s+", " ", text)[:300]


def render_dashboard(
    entries: Sequence[ClassEntry],
    pairs: Sequence[SimilarPair] = (),
    *,
    title: str = "Class dashboard",
    generated_at: str = "",
    run: Mapping[str, Any] | None = None,
    missing: Sequence[str] = (),
    term: TermMarks | None = None,
) -> str:
    """The page; `run` is an optional summary of the batch (counts, duration) for its header;
    `missing`: students of the roster who submitted nothing (a row each, and named); `term`:
    who was late and whose grade was set by hand, per exercise."""
    exercises = exercises_of(entries)
    by_student: dict[str, dict[str, ClassEntry]] = defaultdict(dict)
    for e in entries:
        by_student[e.student]
        if e.exercise:
            by_student[e.student][e.exercise] = e
    for name in missing:
        by_student[name]
    students = []
    for name in sorted(by_student):
        cells = [_cell(by_student[name].get(ex)) for ex in exercises]
        total = sum(c.score or 0.0 for c in cells)
        max_total = sum(c.max_score for c in cells)
        students.append({"name": name, "cells": cells, "total": total, "max_total": max_total})
    problems = [
        e
        for e in sorted(entries, key=lambda e: (e.exercise, e.student))
        if e.status is not BatchOutcome.OK
    ]
    scores = {(e.student, e.exercise): e for e in entries}
    pair_views = [
        {
            "p": p,
            "a": scores.get((p.student_a, p.exercise)),
            "b": scores.get((p.student_b, p.exercise)),
        }
        for p in pairs
    ]
    flagged = {p.student_a for p in pairs} | {p.student_b for p in pairs}
    return (
        _environment()
        .get_template("dashboard.html.j2")
        .render(
            title=title,
            generated_at=generated_at,
            run=dict(run or {}),
            exercises=[_exercise(entries, ex, term or TermMarks()) for ex in exercises],
            exercise_ids=exercises,
            short=short_id,
            students=students,
            problems=problems,
            pairs=pair_views,
            flagged=flagged,
            labels=STATUS_LABELS,
            href=_href,
            n_students=len(by_student),
            missing=list(missing),
            chart_w=_CHART_W,
            chart_h=_CHART_H,
            strip_w=STRIP_W,
            strip_h=STRIP_H,
        )
    )


def _href(entry: ClassEntry | None) -> str | None:
    return quote(entry.report, safe="/") if entry is not None and entry.report else None


def _cell(entry: ClassEntry | None) -> _Cell:
    if entry is None:
        return _Cell(None, 0.0, "missing", None)
    return _Cell(entry.score, entry.max_score, entry.status.value, _href(entry))


def _exercise(entries: Sequence[ClassEntry], exercise: str, term: TermMarks) -> _Exercise:
    rows = [e for e in entries if e.exercise == exercise]
    graded = [e for e in rows if e.status is not BatchOutcome.GRADER_FAILURE]
    scores = [e.score for e in graded]
    max_score = max((e.max_score for e in rows), default=0.0)
    title = next((e.title for e in rows if e.title), exercise)
    return _Exercise(
        id=exercise,
        short=short_id(exercise),
        title=title,
        n=len(rows),
        max_score=max_score,
        mean=statistics.fmean(scores) if scores else 0.0,
        median=statistics.median(scores) if scores else 0.0,
        full=sum(1 for s in scores if max_score and s >= max_score),
        bars=_histogram(scores, max_score),
        rates=_rates(graded, check_ids(rows, exercise)),
        failures=_failures(graded),
        strips=strips(graded, exercise),
        late=term.for_exercise(exercise)[0],
        overridden=term.for_exercise(exercise)[1],
    )


def _histogram(scores: Sequence[float], max_score: float) -> list[_Bar]:
    """BINS equal bins over [0, max]; the last includes full marks."""
    counts = [0] * BINS
    for s in scores:
        i = int(s / max_score * BINS) if max_score > 0 else 0
        counts[min(max(i, 0), BINS - 1)] += 1
    top = max(counts) or 1
    inner_w = _CHART_W - _PAD_L * 2
    inner_h = _CHART_H - _PAD_B - _PAD_T
    step = inner_w / BINS
    bars = []
    for i, n in enumerate(counts):
        h = inner_h * n / top
        lo, hi = max_score * i / BINS, max_score * (i + 1) / BINS
        bars.append(
            _Bar(
                label=f"{format_points(lo)}–{format_points(hi)}",
                count=n,
                x=round(_PAD_L + i * step + 2, 1),
                y=round(_PAD_T + inner_h - h, 1),
                w=round(step - 4, 1),
                h=round(h, 1),
            )
        )
    return bars


def _rates(graded: Sequence[ClassEntry], ids: Sequence[str]) -> list[_Rate]:
    out = []
    for cid in ids:
        checks = [c for e in graded for c in e.checks if c.id == cid]
        passed = sum(1 for c in checks if c.status is CheckStatus.PASSED)
        pct = round(100.0 * passed / len(checks), 1) if checks else 0.0
        title = next((c.title for c in checks if c.title), "")
        tone = "good" if pct >= 80 else "fair" if pct >= 50 else "poor"
        out.append(_Rate(cid, title, passed, len(checks), pct, tone))
    return out


def _failures(graded: Sequence[ClassEntry]) -> list[_Failure]:
    who: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in graded:
        for c in e.checks:
            if c.status in FAILED_CHECK and c.message:
                who[(c.id, normalise_message(c.message))].add(e.student)
    counted = Counter({k: len(v) for k, v in who.items()})
    return [
        _Failure(check=cid, message=msg, students=n, names=", ".join(sorted(who[(cid, msg)])[:12]))
        for (cid, msg), n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FAILURES]
    ]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
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
