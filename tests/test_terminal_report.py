"""`cnn-grader check` in a terminal: whole messages with their hints, native logs kept out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import helpers
import nbformat

from grader.models import CheckResult, CheckStatus, ExecutionStatus, ExecutionSummary, GradeResult
from grader.reporting import terminal

REPO = Path(__file__).resolve().parents[1]


def _result(message: str) -> GradeResult:
    checks = [
        CheckResult(
            "a",
            CheckStatus.FAILED,
            0,
            1,
            message=message,
            title="conv2d same",
            hint="TensorFlow puts the extra row at the bottom.",
            group="conv2d",
        ),
        CheckResult(
            "b",
            CheckStatus.PASSED,
            1,
            1,
            title="zero_pad",
            group="zero_pad",
            hint="not shown for a pass",
        ),
    ]
    return GradeResult(
        "ex01_convolution",
        "Convolution",
        "nb.ipynb",
        7,
        "smoke",
        ExecutionSummary(ExecutionStatus.OK, 1.0),
        checks,
        "0",
        "now",
    )


def test_a_failed_check_shows_its_whole_message_wrapped_and_its_hint() -> None:
    long = "conv2d(x (8, 8, 3), kernel (3, 3, 3, 4)): " + "the values differ " * 30 + "END"
    lines = list(terminal.render(_result(long)))
    text = "\n".join(lines)
    assert "END" in text and "…" not in text
    assert all(len(line) <= terminal.width() for line in lines)
    assert "hint: TensorFlow puts the extra row at the bottom." in text
    assert "not shown for a pass" not in text


def test_a_message_past_the_limit_is_cut_with_an_ellipsis_and_says_where_the_rest_is() -> None:
    long = "\n".join(f"  traceback line {i}" for i in range(200))
    text = "\n".join(terminal.render(_result(long), report=Path("/r/nb.html")))
    assert "traceback line 0" in text and "traceback line 199" not in text
    assert f"… ({200 - terminal.MAX_MESSAGE_LINES} more lines in /r/nb.html)" in text


def test_check_on_a_mutant_prints_hints_and_messages(tmp_path: Path) -> None:
    nb = nbformat.read(helpers.solution_path("ex01_convolution"), as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "_c = conv2d\ndef conv2d(x, kernel, bias=None, stride=1, padding='valid'):\n"
            "    return _c(x, kernel, None, stride, padding)\n"
        )
    )
    path = tmp_path / "ex01.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(path),
            "--seed",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CNN_GRADER_CACHE_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    failed = [line for line in out.splitlines() if line.strip().startswith("✘")]
    assert failed and all("bias" not in line or "0/" in line for line in failed)
    assert out.count("hint: Each output channel sums over all input channels") >= 1
    assert "score: " in out and "full report: " in out


def test_native_stderr_goes_to_the_log_and_python_messages_to_the_terminal(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from grader.console import divert_native_stderr\n"
        f"undo = divert_native_stderr(Path({str(tmp_path / 'native.log')!r}))\n"
        "os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on\\n')\n"
        "print('cnn-grader: a message for the user', file=sys.stderr, flush=True)\n"
        "import subprocess; subprocess.run(['sh', '-c', 'echo failed call to cuInit >&2'])\n"
        "undo()\n"
        "os.write(2, b'after undo\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["cnn-grader: a message for the user", "after undo"]
    log = (tmp_path / "native.log").read_text()
    assert "oneDNN" in log and "cuInit" in log
