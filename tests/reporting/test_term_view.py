"""The term's marks on the dashboard: what a training check measured reaches the class row, and
the strip's axis holds every dot and line."""

from __future__ import annotations

from grader.models import CheckEntry, CheckResult, CheckStatus, ClassEntry
from grader.reporting.term_view import TermMarks, strips


def test_a_training_checks_figures_reach_the_class_row_and_nothing_else_does() -> None:
    check = CheckResult(
        id="test_accuracy",
        status=CheckStatus.FAILED,
        score=0.0,
        max_score=5.0,
        details={
            "accuracy": 0.84,
            "threshold": 0.85,
            "reference": 0.9,
            "target": 0.9,
            "threshold_text": "0.840 < 0.850",
            "weights_refused": True,  # a bool is not a figure
        },
    )
    entry = CheckEntry.of(check)
    assert dict(entry.figures) == {
        "accuracy": 0.84,
        "threshold": 0.85,
        "reference": 0.9,
        "target": 0.9,
    }
    assert CheckEntry.of(CheckResult("c", CheckStatus.PASSED, 1.0, 1.0)).figures == {}


def test_the_strip_axis_holds_every_dot_and_mark() -> None:
    rows = [
        ClassEntry(
            s,
            "ex05_mnist_cnn",
            "ok",
            checks=(
                CheckEntry(
                    "test_accuracy",
                    CheckStatus.PASSED,
                    5.0,
                    5.0,
                    figures={"accuracy": acc, "threshold": 0.71, "target": 0.97},
                ),
            ),
        )
        for s, acc in (("ann", 0.42), ("ben", 0.993))
    ]
    (strip,) = strips(rows, "ex05_mnist_cnn")
    assert strip.low <= 0.42 and strip.high >= 0.993
    xs = [d.x for d in strip.dots] + [m.x for m in strip.marks]
    assert all(16 <= x <= 504 for x in xs)
    assert [m.key for m in strip.marks] == ["threshold", "target"]
    assert strips(rows, "ex04_fashion_mnist") == []


def test_term_marks_per_exercise() -> None:
    marks = TermMarks(
        {("ann", "ex01"): "late", ("ben", "ex02"): "late too", ("cat", "ex01"): ""},
        {("ben", "ex01"): ["7 points by prof", "again"]},
    )
    assert marks.for_exercise("ex01") == ([("ann", "late")], [("ben", "7 points by prof; again")])
    assert marks.for_exercise("ex03") == ([], [])
