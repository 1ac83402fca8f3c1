"""grader.timing: a grading records its named spans when asked to, and nothing when not.
What the spans measure is benchmarks/grading_breakdown.py's business: no timed assertion here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from grader import GradeResult, timing

REPO = Path(__file__).resolve().parents[1]
GRADING = (
    "open",
    "calibration",
    "prepare",
    "sandbox",
    "kernel.start",
    "notebook",
    "probe.inputs",
    "probe.calls",
    "kernel.stop",
    "reference",
    "evidence",
    "checks",
    "result",
    "cleanup",
)


def test_off_a_span_is_the_shared_null_context_and_records_nothing() -> None:
    assert not timing.enabled()
    assert timing.span("a") is timing.span("b")
    with timing.span("a"):
        timing.mark("b")


def test_collect_records_spans_in_order_with_their_grading() -> None:
    with timing.collect() as records:
        assert timing.enabled()
        with timing.grading("alice"):
            with timing.span("outer"), timing.span("inner"):
                pass
            with timing.grading("bob"):  # nested: the outer label stays
                timing.mark("here")
        timing.mark("after")
    assert not timing.enabled()
    assert [(r["name"], r["grading"]) for r in records] == [
        ("inner", "alice"),
        ("outer", "alice"),
        ("here", "alice"),
        ("after", None),
    ]
    assert all(r["pid"] == os.getpid() and r["start"] <= r["end"] for r in records)


def test_a_grading_records_each_of_its_parts(grade_nb: Callable[..., GradeResult]) -> None:
    path = REPO / "solutions" / "ex01_convolution.ipynb"
    with timing.collect() as records:
        result = grade_nb(path, "ex01_convolution")
    assert result.execution.status.value == "ok"
    names = [r["name"] for r in records]
    assert set(GRADING) <= set(names), sorted(set(GRADING) - set(names))
    assert {r["grading"] for r in records} == {str(path)}


def test_the_command_line_appends_its_spans_to_the_file_named(tmp_path: Path) -> None:
    """CNN_GRADER_TIMING=FILE: one JSON line per span, the command's own (its start, its
    parsing, its imports, the reports) besides the grading's; the kernel does not inherit it."""
    log = tmp_path / "spans.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(REPO / "solutions" / "ex01_convolution.ipynb"),
            "--out",
            str(tmp_path / "out"),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, timing.ENV: str(log)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    names = [json.loads(line)["name"] for line in log.read_text().splitlines()]
    assert names[0] == "cli"
    expected = {"cli.parse", "imports", "course", "reports", "terminal", *GRADING}
    assert expected <= set(names), sorted(expected - set(names))
