"""What the class dashboard shows of a term: each student's held-out accuracy on a training
exercise against the threshold, the reference and the course target (a strip plot: the score
histogram alone hides how close a class came), and per exercise who was late and which grades
an instructor set by hand.

Geometry is computed here (inline SVG, no script), the template only lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grader.models import ClassEntry

STRIP_W, STRIP_H, _PAD_X, _AXIS_Y = 520, 120, 16, 92
FIGURES = ("accuracy", "threshold", "reference", "target")
_MARKS = (("threshold", "threshold"), ("reference", "reference"), ("target", "course target"))


@dataclass(frozen=True)
class Dot:
    student: str
    accuracy: float
    x: float
    y: float
    passed: bool


@dataclass(frozen=True)
class Mark:
    label: str
    value: float
    x: float
    key: str = ""


@dataclass(frozen=True)
class Strip:
    """One training check's accuracies, on an axis from `low` to `high`."""

    check: str
    low: float
    high: float
    dots: list[Dot]
    marks: list[Mark]
    ticks: list[Mark]


@dataclass(frozen=True)
class TermMarks:
    """Per (student, exercise): what the report says of lateness, and the overrides set."""

    late: Mapping[tuple[str, str], str] = field(default_factory=dict)
    overrides: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)

    def for_exercise(self, exercise: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(student, what) of the late submissions and of the overrides of one exercise."""
        late = sorted((s, text) for (s, x), text in self.late.items() if x == exercise and text)
        overridden = sorted(
            (s, "; ".join(said))
            for (s, x), said in self.overrides.items()
            if x == exercise and said
        )
        return late, overridden


def strips(entries: Sequence[ClassEntry], exercise: str) -> list[Strip]:
    """A strip per check of `exercise` that measured an accuracy, in check order."""
    by_check: dict[str, list[tuple[str, dict[str, float], bool]]] = {}
    for e in entries:
        if e.exercise != exercise:
            continue
        for c in e.checks:
            if "accuracy" in c.figures:
                by_check.setdefault(c.id, []).append(
                    (e.student, dict(c.figures), c.status.value == "passed")
                )
    return [_strip(check, rows) for check, rows in by_check.items()]


def _strip(check: str, rows: list[tuple[str, dict[str, float], bool]]) -> Strip:
    marks = {k: v for _, f, _ in rows for k, v in f.items() if k != "accuracy"}
    values = [f["accuracy"] for _, f, _ in rows] + list(marks.values())
    low = max(0.0, int(min(values) * 20) / 20)  # the nearest 0.05 below
    high = min(1.0, int(max(values) * 20 + 1) / 20)
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return round(_PAD_X + (STRIP_W - 2 * _PAD_X) * (v - low) / span, 1)

    dots = [
        # Jittered by name, not by chance: the same class draws the same plot.
        Dot(s, f["accuracy"], x(f["accuracy"]), 30 + (sum(map(ord, s)) % 9) * 6, ok)
        for s, f, ok in sorted(rows)
    ]
    ticks = [Mark(f"{v:.2f}", v, x(v)) for v in _ticks(low, high)]
    return Strip(
        check,
        low,
        high,
        dots,
        [Mark(label, marks[key], x(marks[key]), key) for key, label in _MARKS if key in marks],
        ticks,
    )


def _ticks(low: float, high: float) -> list[float]:
    step = 0.05 if high - low <= 0.3 else 0.1
    out, v = [], low
    while v <= high + 1e-9:
        out.append(round(v, 2))
        v += step
    return out
