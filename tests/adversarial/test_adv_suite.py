"""The adversarial suite: every hostile or broken notebook of adv_cases gets its expected
statuses, the grader and the machine stay up, and nothing the notebook started survives it.

Cases whose outcome depends on the isolation this machine allows (network, reading the
solutions, signalling the grader) are separate tests that read `sandbox.capabilities()`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import helpers
import psutil
import pytest
from adv_cases import CASES, DEFS, EX2, Case, by_name, expected_status

from grader import GradeResult, Options, grade
from grader.course import solutions_dir
from grader.execution import sandbox
from grader.models import Limits


def _leftovers(names: tuple[str, ...], args: tuple[str, ...] = ()) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] in names or (args and tuple(proc.info["cmdline"] or ()) == args):
                found.append(proc)
        except psutil.Error:
            pass
    return found


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    """After the test, no process of the hostile notebooks may be alive; kill any before failing
    so that a broken sandbox cannot leave a fork bomb behind for the rest of the suite."""
    yield
    deadline = time.monotonic() + 10
    while True:
        left = _leftovers(("advforkbomb",), ("sleep", "987"))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for proc in left:
        try:
            proc.kill()
        except psutil.Error:
            pass
    assert not left, f"{len(left)} processes of the notebook outlived its grading"


def grade_case(case: Case, folder: Path, **options: object) -> GradeResult:
    path = case.write(folder)
    options.setdefault("limits", case.limits)
    return grade(path, Options(exercise=case.exercise, seed=helpers.SEED, **options))  # type: ignore[arg-type]


def assert_expected(case: Case, result: GradeResult) -> None:
    text = helpers.describe(result)
    assert result.execution.status.value == case.execution, text
    for check in result.checks:
        want = expected_status(case, check.id, check.group)
        assert check.status.value == want, f"{case.name}: {check.id}\n{text}"
    if case.problem is not None:
        assert result.execution.problems, text
        assert result.execution.problems[0].ename == case.problem, text
    if case.note is not None:
        assert any(case.note in n for n in result.execution.notes), result.execution.notes
    if case.integrity is not None:
        assert any(case.integrity in f for f in result.integrity), result.integrity
    assert 0 <= result.score <= result.max_score


def _output_was_truncated(result: GradeResult) -> None:
    assert result.execution.output_truncated


def _nothing_written_through_the_link(result: GradeResult) -> None:
    assert not Path("/etc/calls.json").exists() and not Path("/etc/in").exists()


def _wedged_kernel_is_named_and_restarted_once(result: GradeResult) -> None:
    """One restart with the cells replayed shows the kernel is still unable to answer; the
    grading calls are then not run at all, rather than each waiting out its timeout."""
    assert "a cell leaves it unable to run more code" in result.execution.message
    assert result.execution.kernel_restarts == 1
    assert all("could not be called" in c.message for c in result.checks)


EXTRA: dict[str, Callable[[GradeResult], None]] = {
    "stderr_replaced": _wedged_kernel_is_named_and_restarted_once,
    "hundred_mb_output": _output_was_truncated,
    "probe_folder_link_planted": _nothing_written_through_the_link,
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gets_its_expected_statuses(
    case: Case, tmp_path: Path, no_leftover_processes: None
) -> None:
    result = grade_case(case, tmp_path)
    assert_expected(case, result)
    if case.name in EXTRA:
        EXTRA[case.name](result)


def test_there_are_at_least_twenty_cases() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 20


DEFAULTS = Limits(cell_timeout=120, probe_timeout=20, notebook_timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["memory_bomb", "fork_bomb", "disk_filler"])
def test_bombs_are_stopped_with_the_default_limits(
    name: str, tmp_path: Path, no_leftover_processes: None
) -> None:
    """The same notebooks, with the limits a course runs with (6 GiB, 256 processes, 2 GiB)."""
    case = by_name(name)
    result = grade_case(case, tmp_path, limits=DEFAULTS)
    assert result.execution.status.value == "kernel_died", helpers.describe(result)
    assert result.execution.problems[0].ename == case.problem
    assert result.score == result.max_score


# -- outcomes that depend on the isolation in force -------------------------------------------


def test_network_is_off_or_the_grading_goes_on(tmp_path: Path) -> None:
    """A connection to a port the test listens on, and a lookup of a PyPI host: with the network
    off both fail at once; either way the grading finishes and says what was in force."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    case = Case(
        "network_call",
        EX2,
        [
            DEFS[EX2],
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n",
            "import urllib.request\n"
            "urllib.request.urlopen('https://pypi.org/simple/', timeout=5)\n",
        ],
    )
    t0 = time.monotonic()
    result = grade_case(case, tmp_path)
    assert result.score == result.max_score, helpers.describe(result)
    if sandbox.capabilities().network_off:
        assert time.monotonic() - t0 < 60
        assert [p.cell_index for p in result.execution.problems] == [1, 2]
        assert result.execution.problems[0].ename == "ConnectionRefusedError"
        assert any("network off" in n for n in result.execution.notes)
        with pytest.raises(OSError):  # nothing ever reached the grader's side of the network
            listener.accept()
    else:
        assert any("network on" in n for n in result.execution.notes)
    listener.close()


FIND_SOLUTIONS = """
import json, os, sys
def _find(start):
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, "solutions", "ex02_pooling.ipynb")
        if os.path.exists(candidate):
            return candidate
        if os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)
found = _find(sys.prefix) or _find(os.getcwd()) or (
    %r if os.path.exists(%r) else None)
if found:
    nb = json.load(open(found))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
            exec("".join(cell["source"]))
"""


def test_reading_the_solutions_is_flagged_and_hidden_where_isolated(tmp_path: Path) -> None:
    """Walk up from the virtualenv to the course folder, exec the solution's code: flagged for
    the instructor always; with the course folder hidden it finds nothing and scores 0."""
    target = str(solutions_dir() / "ex02_pooling.ipynb")
    case = Case("read_solutions", EX2, ["import numpy as np", FIND_SOLUTIONS % (target, target)])
    result = grade_case(case, tmp_path)
    assert any("reference solutions" in f for f in result.integrity), result.integrity
    if sandbox.capabilities().mount_ns:
        assert result.score == 0, helpers.describe(result)
        assert set(helpers.statuses(result).values()) == {"not_attempted"}
        assert any("hidden from it" in n for n in result.execution.notes)
    else:  # no isolation on this machine: the copy works, the report still flags it
        assert result.score == result.max_score


def test_the_kernel_cannot_signal_the_grader(tmp_path: Path) -> None:
    if sandbox.capabilities().uid_range is None:
        pytest.skip("the kernel runs as the grader's user here: it could kill the grader")
    case = Case(
        "kill_the_grader",
        EX2,
        [DEFS[EX2], f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\n"],
    )
    result = grade_case(case, tmp_path)
    assert result.execution.problems[0].ename == "PermissionError"
    assert result.score == result.max_score
