"""The `cnn-grader` command line as CONTRACT.md §2 fixes it, run as a separate process.

Exit codes: 0 a report was written (whatever the score); 1 not a usable notebook (a report is
still written); 2 a usage error. The exercise comes from --exercise when given, else from the
notebook's metadata, else from its file name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import helpers
import pytest

from grader.exercises import available, get


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def report(out: Path, stem: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))


def test_list_prints_every_check_with_its_points() -> None:
    """Every discovered exercise, Keras ones included, with each of its checks."""
    proc = cli("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "ex10_conv_backward" in available()
    for eid in available():
        exercise = get(eid)
        assert any(
            line.startswith(eid) and f"({exercise.max_score:g} points)" in line for line in lines
        ), eid
        for check in exercise.checks:
            assert any(line.split()[:2] == [check.id, f"{check.points:g}"] for line in lines), (
                check.id
            )


def test_grade_a_solution_exits_0_and_writes_both_reports(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    proc = cli(
        "grade", str(helpers.solution_path("ex02_pooling")), "--out", str(out), "--seed", "7"
    )
    assert proc.returncode == 0, proc.stderr
    doc = report(out, "ex02_pooling")
    assert doc["exercise"] == "ex02_pooling" and doc["score"] == doc["max_score"] == 10
    assert "<html" in (out / "ex02_pooling.html").read_text(encoding="utf-8").lower()
    assert "10/10" in proc.stdout


def test_grade_unknown_exercise_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli(
        "grade",
        str(helpers.solution_path("ex02_pooling")),
        "--exercise",
        "ex99_nope",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 2
    assert "ex99_nope" in proc.stderr and "ex02_pooling" in proc.stderr  # lists the known ids
    assert not list(tmp_path.iterdir())


def test_grade_without_any_exercise_hint_is_a_usage_error(tmp_path: Path) -> None:
    nb = helpers.solution_notebook("ex02_pooling")
    del nb.metadata["cnn_grader"]
    path = helpers.write_notebook(tmp_path, "homework.ipynb", nb)
    proc = cli("grade", str(path), "--out", str(tmp_path / "reports"))
    assert proc.returncode == 2
    assert "--exercise" in proc.stderr


def test_bad_arguments_exit_2() -> None:
    assert cli("grade").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_check_prints_the_score_and_the_report_path(tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = cli("check", str(helpers.starter_path("ex03_parameters")), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html = (out / "ex03_parameters.html").resolve()
    assert html.is_file()
    assert f"full report: {html}" in proc.stdout
    assert "score: 0 / 10" in proc.stdout


def test_exercise_is_inferred_metadata_first_then_file_name(tmp_path: Path) -> None:
    # No metadata: the file name says ex02.
    by_name = helpers.solution_notebook("ex02_pooling")
    del by_name.metadata["cnn_grader"]
    first = helpers.write_notebook(tmp_path, "alice_ex02_pooling.ipynb", by_name)
    # The metadata (ex02) wins over a file name that says ex03.
    second = helpers.write_notebook(
        tmp_path, "bob_ex03_parameters.ipynb", helpers.solution_notebook("ex02_pooling")
    )
    out = tmp_path / "reports"
    proc = cli("grade", str(first), str(second), "--out", str(out), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    for stem in ("alice_ex02_pooling", "bob_ex03_parameters"):
        doc = report(out, stem)
        assert doc["exercise"] == "ex02_pooling", stem
        assert doc["score"] == doc["max_score"] == 10, stem


def test_exercise_option_wins_over_metadata(tmp_path: Path) -> None:
    nb = helpers.solution_notebook("ex02_pooling")
    nb.metadata["cnn_grader"]["exercise"] = "ex01_convolution"
    path = helpers.write_notebook(tmp_path, "ex01_convolution.ipynb", nb)
    out = tmp_path / "reports"
    proc = cli("grade", str(path), "--exercise", "ex02_pooling", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = report(out, "ex01_convolution")
    assert doc["exercise"] == "ex02_pooling"
    assert doc["score"] == 10


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help(flag: str) -> None:
    proc = cli(flag)
    assert proc.returncode == 0
    assert "cnn-grader" in proc.stdout


def test_a_bug_in_the_grader_exits_3_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never 1, which says the notebook is not usable, nor a bare traceback and status 1."""
    import grader.cli as cli
    from grader.cli import grading

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(grading, "_cmd_list", broken)
    assert cli.main(["list"]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err and "internal error, a bug in the grader" in err


def test_main_called_in_a_process_that_goes_on_leaves_its_collector_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only the command itself (main() reading sys.argv, the process ending next) freezes the
    garbage collector's objects for its exit; main([...]) in a test or a script does not."""
    import gc

    import grader.cli as cli

    before = gc.get_freeze_count()
    assert cli.main(["list"]) == 0
    assert gc.get_freeze_count() == before
    capsys.readouterr()
