"""`cnn-grader check` served warm (grader.cli.check_server): a served check says what a local
one says, a server never serves a changed grader or course or another environment, and it
goes when told to or when idle.

Each test's servers live in a runtime folder of its own (XDG_RUNTIME_DIR), so none of them can
answer another test's checks, and are stopped at its end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import helpers
import nbformat
import pytest

from grader.cli import check_client

EX = "ex01_convolution"
# A mistake that costs points: the failures, their messages and hints are part of what must match.
WRONG_PAD = """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    widths = [(ph, ph), (pw, pw)] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, widths, constant_values=1)
"""


@pytest.fixture
def runtime() -> Iterator[dict[str, str]]:
    """The environment of a check with servers on, its runtime folder its own (short: a
    socket's path holds 108 bytes); every server it started is stopped afterwards."""
    folder = tempfile.mkdtemp(prefix="ck-", dir="/tmp")
    env = dict(os.environ, XDG_RUNTIME_DIR=folder, CNN_GRADER_CHECK_SERVER="on")
    env.pop("CI", None)
    yield env
    subprocess.run(
        [sys.executable, "-m", "grader.cli", "check-server", "stop"], env=env, timeout=60
    )
    for pid in _pids(Path(folder)):
        _wait_gone(pid)
    shutil.rmtree(folder, ignore_errors=True)


def _pids(folder: Path) -> list[int]:
    pids = []
    for log in (folder / "cnn-grader").glob("check-*.log"):
        pids += [int(line.split()[4]) for line in log.read_text().splitlines() if "server" in line]
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def _wait_gone(pid: int, within: float = 60) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def check(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def status(env: dict[str, str]) -> str:
    """`check-server status`, which waits for a server still warming up to answer."""
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check-server", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def wait_for_server(env: dict[str, str], within: float = 120) -> str:
    end = time.monotonic() + within
    while time.monotonic() < end:
        out = status(env)
        if "checks served" in out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"no check server started: {status(env)}")


def served(env: dict[str, str]) -> int:
    out = status(env)
    return sum(int(part.split()[0]) for part in out.split(", ") if part.endswith("checks served"))


def _same(summary: str) -> str:
    """The summary less how long the notebook took."""
    return re.sub(r" in \d+(\.\d+)?s\b", " in …s", summary)


def _judged(report: Path) -> list[tuple[str, str, float, str]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return [(c["id"], c["status"], c["score"], c["message"]) for c in data["checks"]]


def test_a_served_check_says_what_a_local_one_says(runtime: dict[str, str], tmp_path: Path) -> None:
    nb = helpers.with_cells(helpers.solution_notebook(EX), WRONG_PAD)
    path = tmp_path / f"{EX}.ipynb"
    nbformat.write(nb, path)
    args = (path.name, "--seed", "7")

    local = check(runtime, *args, "--no-server", "--out", "out_l", cwd=tmp_path)
    assert "no check server is running" in status(runtime)  # --no-server leaves none behind
    first = check(runtime, *args, "--out", "out_f", cwd=tmp_path)  # runs here, starts one
    wait_for_server(runtime)
    before = served(runtime)
    again = check(runtime, *args, "--out", "out_s", cwd=tmp_path)
    assert served(runtime) == before + 1, "the second check was not served"

    assert local.returncode == first.returncode == again.returncode == 0, local.stderr
    assert "zero_pad" in local.stdout and "✘" in local.stdout  # the mistake is shown
    for proc, out in ((first, "out_f"), (again, "out_s")):
        assert _same(proc.stdout.replace(f"/{out}/", "/out_l/")) == _same(local.stdout)
    # The reports: written in the client's folder, judged alike
    assert _judged(tmp_path / "out_s" / f"{EX}.json") == _judged(tmp_path / "out_l" / f"{EX}.json")
    notes = json.loads((tmp_path / "out_s" / f"{EX}.json").read_text())["execution"]["notes"]
    assert any("pre-warmed kernel" in n for n in notes)  # how it ran is said


def test_a_changed_course_is_never_served_by_the_old_server(
    runtime: dict[str, str], tmp_path: Path
) -> None:
    course = tmp_path / "course"
    for part in ("solutions", "exercises"):
        shutil.copytree(helpers.solution_path(EX).parents[1] / part, course / part)
    nb = tmp_path / f"{EX}.ipynb"
    shutil.copyfile(helpers.solution_path(EX), nb)
    args = (nb.name, "--seed", "3", "--course", str(course), "--out", "out")

    assert check(runtime, *args, cwd=tmp_path).returncode == 0
    first_pid = _pid_of(wait_for_server(runtime))
    # The reference now pads with ones: the submission's zero padding must fail its checks.
    solution = course / "solutions" / f"{EX}.ipynb"
    ref = helpers.with_cells(nbformat.read(solution, as_version=4), WRONG_PAD)
    nbformat.write(ref, solution)

    proc = check(runtime, *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "✘" in proc.stdout, "the old server's answer (all passed) was printed"
    assert _wait_gone(first_pid), "a stale server stayed"


def test_another_environment_gets_another_server() -> None:
    env = dict(os.environ)
    try:
        os.environ["KERAS_BACKEND"] = "jax"
        jax = check_client.key()
        os.environ["KERAS_BACKEND"] = "tensorflow"
        tf = check_client.key()
        os.environ["PWD"] = "/elsewhere"  # a shell's folder changes nothing a check does
        assert check_client.key() == tf
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert jax != tf


def test_servers_are_off_under_ci_and_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(check_client.ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    assert not check_client.enabled(["check", "nb.ipynb"])
    monkeypatch.setenv(check_client.ENV, "on")
    assert check_client.enabled(["check", "nb.ipynb"])
    assert not check_client.enabled(["check", "nb.ipynb", "--no-server"])
    assert not check_client.enabled(["check", "nb.ipynb", "--verbose"])
    assert not check_client.enabled(["grade", "nb.ipynb"])
    monkeypatch.delenv("CI")
    monkeypatch.setenv(check_client.ENV, "off")
    assert not check_client.enabled(["check", "nb.ipynb"])
    monkeypatch.setenv(check_client.ENV, "on")
    monkeypatch.setattr(sys, "platform", "darwin")  # no SO_PEERCRED: checks run as before
    assert not check_client.enabled(["check", "nb.ipynb"])


def test_an_idle_server_goes(runtime: dict[str, str], tmp_path: Path) -> None:
    env = dict(runtime, **{check_client.IDLE_ENV: "2"})
    path = tmp_path / f"{EX}.ipynb"
    nbformat.write(helpers.build_notebook([helpers.solution_definitions(EX)], EX), path)
    assert check(env, path.name, "--out", "out", cwd=tmp_path).returncode == 0
    pid = _pid_of(wait_for_server(env))
    assert _wait_gone(pid, within=30), "the server outlived its idle time"
    assert not list((Path(env["XDG_RUNTIME_DIR"]) / "cnn-grader").glob("*.sock"))


def _pid_of(status_line: str) -> int:
    return int(status_line.split("pid ")[1].split(",")[0])
