"""The class-level renderers (CSV, dashboard) and the progress line, from hand-made rows."""

from __future__ import annotations

import csv
import io
import re

from grader.batch.progress import Progress, format_eta
from grader.reporting.csv_report import CheckEntry, ClassEntry, render_csv
from grader.reporting.dashboard import normalise_message, render_dashboard
from grader.similarity import SimilarPair

HOSTILE = "<script>alert('x')</script>"


def _checks(*statuses: str, message: str = "") -> tuple[CheckEntry, ...]:
    return tuple(
        CheckEntry(
            id=f"c{i}",
            status=s,
            score=1.0 if s == "passed" else 0.0,
            max_score=1.0,
            title=f"check {i}",
            message="" if s == "passed" else message,
        )
        for i, s in enumerate(statuses)
    )


ENTRIES = [
    ClassEntry(
        "alice",
        "ex01_convolution",
        "ok",
        2,
        2,
        _checks("passed", "passed"),
        report="reports/alice/ex01_convolution.html",
        title="Convolution",
    ),
    ClassEntry(
        "bob",
        "ex01_convolution",
        "ok",
        1,
        2,
        _checks("passed", "failed", message="expected shape (4, 4, 3), got (3, 3, 3)"),
        report="reports/bob/ex01_convolution.html",
    ),
    ClassEntry(
        HOSTILE,
        "ex01_convolution",
        "timeout",
        0,
        2,
        _checks("failed", "failed", message="expected shape (5, 5, 3), got (2, 2, 3)"),
        report="reports/x-123/ex01_convolution.html",
        message="cell 3 timed out",
    ),
    ClassEntry(
        "=cmd|' /C calc'!A0", "ex02_pooling", "invalid_notebook", 0, 1, _checks("not_attempted")
    ),
    ClassEntry("erin", "", "unknown_exercise", message="cannot tell which exercise"),
    ClassEntry("frank", "ex02_pooling", "error", 0, 1, message="worker died"),
]
PAIRS = [SimilarPair("ex01_convolution", "alice", "bob", 0.97)]


def test_csv_has_a_row_per_student_with_exercise_and_check_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(ENTRIES, PAIRS))))
    students = sorted(e.student for e in ENTRIES)
    assert [r["student"] for r in rows] == [
        "'" + s if s.startswith("=") else s for s in students
    ], "formulas are defused"
    header = list(rows[0])
    assert header[:6] == ["student", "ex01.score", "ex01.max", "ex01.status", "ex01.c0", "ex01.c1"]
    assert header[-3:] == ["total", "max_total", "similarity"]
    bob = next(r for r in rows if r["student"] == "bob")
    assert (bob["ex01.score"], bob["ex01.c1"], bob["ex02.status"]) == ("1", "0", "missing")
    assert bob["similarity"] == "ex01: alice (0.97)"
    assert next(r for r in rows if r["student"] == "erin")["total"] == "0"


def test_dashboard_escapes_student_text_and_needs_nothing_from_the_network() -> None:
    html = render_dashboard(ENTRIES, PAIRS, generated_at="today")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    for student in ("alice", "bob", "erin", "frank"):
        assert f">{student}<" in html or f">{student} <" in html
    assert 'href="reports/alice/ex01_convolution.html"' in html
    assert html.count("<svg") == 2  # one histogram per exercise


def test_dashboard_counts_one_mistake_once_and_lists_problems() -> None:
    html = render_dashboard(ENTRIES, PAIRS)
    message = "expected shape (#, #, #), got (#, #, #)"
    assert normalise_message("expected shape (4, 4, 3), got (3.5, 3, -3)") == message
    row = re.search(
        r"<tr><td class=\"num\">(\d+)</td><td class=\"mono\">c1</td><td><span "
        r"class=\"msg\">" + re.escape(message),
        html,
    )
    assert row and row.group(1) == "2", "bob and the hostile name share one normalised message"
    problems = html.split('id="problems"')[1].split("</section>")[0]
    for label in ("Timed out", "Not a valid notebook", "Unknown exercise", "Grader failure"):
        assert label in problems
    assert "alice" not in problems


def test_normalising_keeps_the_digits_that_belong_to_names() -> None:
    assert (
        normalise_message("conv2d(x (7, 7, 3), kernel=k1, stride=2) raised ValueError")
        == "conv2d(x (#, #, #), kernel=k1, stride=#) raised ValueError"
    )
    assert (
        normalise_message("max_pool2d: expected -0.5, got 1e-3") == "max_pool2d: expected #, got #"
    )


def test_progress_writes_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    p = Progress(out, live=False, workers=2)
    p.start(total=3, cached=1)
    p.finished("amy", "ex01_convolution", "10/10 [ok]", failed=False)
    p.finished("bo", "ex01_convolution", "0/10 [timeout]", failed=True)
    p.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0].startswith("3 submissions: 1 unchanged")
    assert lines[1].startswith("[2/3] amy ex01_convolution: 10/10 [ok]")
    assert lines[2].startswith("[3/3] bo") and lines[2].endswith("(ETA 0:00)")
    assert p.failed == 1


def test_progress_redraws_one_line_on_a_terminal() -> None:
    out = io.StringIO()
    p = Progress(out, live=True)
    p.start(total=2, cached=0)
    p.finished("amy", "ex01", "ok", failed=False)
    assert out.getvalue().count("\n") == 1  # only the opening summary is a line of its own
    assert "1/2 done · 0 failed · 1 left · ETA" in p.status_line()
    assert format_eta(3725) == "1:02:05" and format_eta(None) == "--:--"
