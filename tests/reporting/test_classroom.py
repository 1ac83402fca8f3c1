"""GitHub Classroom: what a student sees through the v1 reporter and the run's summary page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from classroom_v1 import RUNNERS_PATTERN, parse_command_file, run_reporter

from grader.models import CheckStatus, GradeResult
from grader.reporting.classroom import (
    RUNNER_ID,
    append_command_file,
    emit,
    encode,
    to_classroom,
    to_runners,
)
from grader.reporting.classroom_summary import to_markdown

NOT_PASSED = (CheckStatus.FAILED, CheckStatus.NOT_ATTEMPTED, CheckStatus.TIMEOUT)


def _reporter_env(result: GradeResult) -> tuple[str, dict[str, str]]:
    runners = to_runners([result])
    return ",".join(r.id for r in runners), {r.variable: encode(r.document) for r in runners}


def test_console_total_and_recorded_points_are_the_weighted_score(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result()  # checks of 2, 2, 1, 1, 3, 1 and 0.5 points; 2.5 scored
    run = run_reporter(*_reporter_env(result))
    assert run.console_total == run.points == result.score == 2.5
    assert run.console_max == run.max_points == result.max_score == 10.5
    assert run.failure == "Some tests failed."
    # why one runner per check: one runner for all shows passed/total x max = 2/7 x 10.5
    single = run_reporter("grader", {"GRADER_RESULTS": encode(to_classroom([result]))})
    assert single.console_total == pytest.approx(3.0) and single.points == 2.5


@pytest.mark.parametrize("passed", [(), (0,), (1, 4), (0, 1, 2, 3, 4, 5, 6)])
def test_every_subset_of_passed_checks_totals_right(
    make_result: Callable[..., GradeResult], passed: tuple[int, ...]
) -> None:
    result = make_result()
    for i, c in enumerate(result.checks):
        c.status = CheckStatus.PASSED if i in passed else CheckStatus.FAILED
        c.score = c.max_score if i in passed else 0.0
    run = run_reporter(*_reporter_env(result))
    assert run.console_total == run.points == result.score
    assert run.failure == (None if len(passed) == 7 else "Some tests failed.")


def test_reason_and_hint_are_printed_under_each_check_that_did_not_pass(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result()
    run = run_reporter(*_reporter_env(result))
    text = run.text
    for c in result.checks:
        (test,) = run.documents[
            next(r for r, d in run.documents.items() if d["tests"][0]["name"].startswith(c.title))
        ]["tests"]
        if c.status in NOT_PASSED:
            block = text.split(f"❌ {test['name']}\n", 1)[1].split("Total points for", 1)[0]
            assert f"Why: {c.message}" in block, c.id
            assert (f"Hint: {c.hint}" in block) == bool(c.hint), c.id
            verdict = {
                CheckStatus.FAILED: "failed",
                CheckStatus.NOT_ATTEMPTED: "not attempted",
                CheckStatus.TIMEOUT: "timed out",
            }[c.status]
            assert (
                test["name"] == f"{c.title} — {verdict}, 0/{c.max_score:g} "
                f"{'pt' if c.max_score == 1 else 'pts'}"
            )
            assert test["status"] == "fail" and test["score"] == 0
        elif c.status is CheckStatus.PASSED:
            assert f"✅ {c.title} — passed, {c.max_score:g}/{c.max_score:g}" in text
            assert test["test_code"] == c.call
        else:  # a grader error: said to be the grader's, its internals stay in the report
            assert test["status"] == "error"
            assert "Error: a problem of the grader, not of your notebook" in text
            assert c.message not in text
    assert [d["tests"][0]["status"] for d in run.documents.values()] == [
        "pass",
        "fail",
        "fail",
        "error",
        "fail",
        "fail",
        "pass",
    ]


def test_the_log_shows_the_call_and_what_went_wrong_in_the_run(
    make_result: Callable[..., GradeResult],
) -> None:
    """Under each check that did not pass, the console prints the call the grader made and,
    where the notebook's run did not go cleanly, what happened there (a check that fails
    because a cell raised reads as that); a clean run adds nothing."""
    from grader.models import CellProblem, ExecutionStatus

    clean = make_result()
    clean.execution.problems = []
    clean.execution.status = ExecutionStatus.OK
    run = run_reporter(*_reporter_env(clean))
    assert "Notebook run:" not in run.text
    broken = make_result()
    broken.execution.status = ExecutionStatus.TIMEOUT
    broken.execution.message = "the notebook did not finish within 900s"
    broken.execution.problems = [
        CellProblem(
            cell_index=6,
            kind="error",
            ename="NameError",
            evalue="name 'x_train' is not defined",
            cell=4,
        )
    ]
    run = run_reporter(*_reporter_env(broken))
    failed = next(c for c in broken.checks if c.status is CheckStatus.FAILED)
    block = run.text.split(f"❌ {failed.title}", 1)[1].split("Total points for", 1)[0]
    assert failed.call in block
    assert "Notebook run: timeout: the notebook did not finish within 900s" in block
    assert "Notebook run: cell 4: error NameError: name 'x_train' is not defined" in block
    passed = next(c for c in broken.checks if c.status is CheckStatus.PASSED)
    assert (
        "Notebook run:"
        not in run.text.split(f"✅ {passed.title}", 1)[1].split("\n✅", 1)[0].split("\n❌", 1)[0]
    )


def test_runner_ids_pass_the_reporters_check_and_are_unique(
    make_result: Callable[..., GradeResult],
) -> None:
    one, two = make_result(), make_result(exercise="ex02_pooling", notebook="ex02_pooling.ipynb")
    runners = to_runners([one, two])
    ids = [r.id for r in runners]
    assert len(ids) == len(set(ids)) == 14
    assert all(RUNNER_ID.match(i) and len(i) <= 18 for i in ids)
    assert RUNNERS_PATTERN.match(",".join(ids))
    assert ids[:2] == ["c01conv2dvalid2d", "c02conv2dsamestrid"]
    names = [r.document["tests"][0]["name"] for r in runners]
    assert names[0].startswith("ex01_convolution · ") and names[7].startswith("ex02_pooling · ")
    run = run_reporter(",".join(ids), {r.variable: encode(r.document) for r in runners})
    assert run.console_total == run.points == one.score + two.score


def test_a_grading_without_checks_still_gives_the_reporter_a_runner(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result(checks=[], exercise="unknown")
    result.execution.message = "not a notebook: Expecting value: line 1 column 1"
    run = run_reporter(*_reporter_env(result))
    assert run.failure == "Some tests failed." and run.max_points == 0
    assert "Why: not a notebook: Expecting value" in run.text


def test_emit_writes_outputs_env_and_summary_where_set(
    tmp_path: Path, make_result: Callable[..., GradeResult], capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        name: tmp_path / name for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.write_text("EARLIER=1\n")
    result = make_result()
    value = emit([result], env={k: str(v) for k, v in files.items()})
    assert capsys.readouterr().out == ""
    outputs = parse_command_file(files["GITHUB_OUTPUT"].read_text())
    env = parse_command_file(files["GITHUB_ENV"].read_text())
    assert outputs["EARLIER"] == env["EARLIER"] == "1" and outputs["result"] == value
    run = run_reporter(outputs["runners"], env)
    assert run.console_total == run.points == result.score
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    assert summary.startswith("EARLIER=1\n## Convolution from scratch: 2.5 / 10.5 points")
    # outside Actions: the base64 of `result` alone on stdout, nothing written
    assert emit([result], env={}) == value
    assert capsys.readouterr().out == value + "\n"


def test_command_file_values_with_line_breaks_use_a_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "out"
    append_command_file(path, {"one": "a=b", "two": "line 1\nline 2\n", "three": "c"})
    text = path.read_text()
    assert text.startswith("one=a=b\ntwo<<ghadelimiter_") and text.endswith("three=c\n")
    assert parse_command_file(text) == {"one": "a=b", "two": "line 1\nline 2\n", "three": "c"}


def _plain(markdown: str) -> str:
    """A summary cell as the student reads it (our own bold "Hint:" as plain text)."""
    text = markdown.replace("<br>", "\n").replace("**Hint:**", "Hint:")
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


def test_summary_has_every_check_its_points_reason_hint_and_the_total(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result()
    md = to_markdown([result])
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == len(result.checks) + 2  # header, checks, total
    assert rows[-1] == "| | **Total** | **2.5 / 10.5** | |"
    symbols = {"passed": "✅", "failed": "❌", "not_attempted": "⏸️", "timeout": "⏱️", "error": "⚠️"}
    for row, c in zip(rows[1:-1], result.checks, strict=False):
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 4, row
        assert cells[0].strip() == symbols[c.status.value]
        assert _plain(cells[1].strip()) == c.title
        assert cells[2].strip() == f"{c.score:g} / {c.max_score:g}"
        if c.status in NOT_PASSED:
            assert _plain(cells[3]).strip() == c.message + (f"\nHint: {c.hint}" if c.hint else "")
        else:
            assert c.message == "" or c.message not in _plain(cells[3])
    assert "Graded file: `ex01_convolution.ipynb`" in md and "2 of 7 checks passed" in md


def test_summary_escapes_what_students_control(
    make_result: Callable[..., GradeResult], make_check: Callable[..., object]
) -> None:
    hostile = "got | a <script>alert(1)</script> *bold* `code`\nsecond line"
    result = make_result(
        checks=[
            make_check(
                "x", CheckStatus.FAILED, 1.0, title="T|t", message=hostile, hint="[link](http://x)"
            )
        ]
    )
    md = to_markdown([result])
    row = next(line for line in md.splitlines() if line.startswith("| ❌"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 4 and "<script>" not in md and "**Hint:**" in row
    assert _plain(cells[1]).strip() == "T|t"
    assert _plain(cells[3]).strip() == f"{hostile}\nHint: [link](http://x)"


def test_summary_says_when_the_notebook_did_not_run_to_the_end(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result()
    result.execution.status = result.execution.status.__class__("timeout")
    result.execution.message = "the notebook ran past its 600 s"
    md = to_markdown([result, make_result()])
    assert (
        "> **The notebook did not run to the end (timeout)**: the notebook ran past its 600 s"
    ) in md
    assert md.rstrip().endswith("**Total of the 2 notebooks: 5 / 21**")
