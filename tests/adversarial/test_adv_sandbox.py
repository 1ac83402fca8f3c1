"""The sandbox's pieces, each on its own: the launcher, the watchdog, the capability probe,
the probe folder's link, and the fallback where the machine gives no user, cgroup or namespace
(the watchdog alone must then stop a memory hog and a fork bomb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.execution import kernel, sandbox
from grader.execution.kernel_types import RunResult
from grader.execution.sandbox import launcher
from grader.execution.sandbox.watchdog import (
    Verdict,
    Watchdog,
    format_bytes,
    over_memory,
    resident_bytes,
    tree_size,
)
from grader.models import Limits

ROOT = os.geteuid() == 0


# -- the launcher -----------------------------------------------------------------------------


def selftest(*args: str, cwd: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-I", str(sandbox.LAUNCHER), *args, "--selftest"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture
def grading_root() -> Iterator[Path]:
    """A folder laid out like a grading's: root-owned 0711 with the kernel's folder inside."""
    root = Path(tempfile.mkdtemp(prefix="cnn-grader-test-"))
    (root / "work").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(
    not ROOT or sandbox.capabilities().uid_range is None,
    reason="needs root and a machine that allows a separate user",
)
def test_launcher_switches_user_network_and_view(grading_root: Path) -> None:
    uid = sandbox.capabilities().uid_range[0] + 4242  # type: ignore[index]
    os.chmod(grading_root, 0o711)
    os.chown(grading_root / "work", uid, uid)
    outside = Path(tempfile.mkdtemp(prefix="cnn-grader-outside-"))
    try:
        report = selftest(
            "--uid",
            str(uid),
            "--no-net",
            "--mount-ns",
            "--hide",
            str(outside),
            *[a for p in sandbox.python_paths() for a in ("--keep", p)],
            "--keep",
            str(grading_root),
            "--private-tmp",
            "/tmp",
            cwd=grading_root / "work",
        )
    finally:
        outside.rmdir()
    assert report["uid_now"] == uid and report["python_ok"] is True
    if sandbox.capabilities().network_off:
        assert report["network"] == "off" and report["interfaces"] == ["lo"]
    if sandbox.capabilities().mount_ns:
        assert "/tmp" in report["private_tmp"]  # type: ignore[operator]
        assert report["errors"] == []


def test_launcher_passes_no_secrets_to_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "MY_PASSWORD",
        "SSH_AUTH_SOCK",
        "CNN_GRADER_BUNDLE_KEY",
    ):
        monkeypatch.setenv(name, "s3cr3t")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    env = launcher.kernel_env(launcher.parse(["--home", "/h", "--", "python"]))
    assert "s3cr3t" not in env.values()
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["PATH"] == os.environ["PATH"]
    assert env["HOME"] == env["TMPDIR"] == "/h"
    assert env["PIP_NO_INDEX"] == "1"  # `!pip install` fails at once instead of hanging


def test_blocked_ancestors_are_the_folders_others_cannot_enter(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "py" / "lib").mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(private, 0o700)
    assert str(private) in launcher.blocked_ancestors([str(private / "py" / "lib")])
    os.chmod(private, 0o711)
    assert str(private) not in launcher.blocked_ancestors([str(private / "py" / "lib")])


# -- the watchdog -------------------------------------------------------------------------------


def make_watchdog(
    tmp_path: Path, pids: set[int], killed: list[Verdict], oom: list[int] | None = None
) -> Watchdog:
    return Watchdog(
        procs=lambda: pids,
        kill=killed.append,
        memory_bytes=10 * 2**20,
        max_processes=3,
        disk_bytes=2**20,
        disk_roots=[tmp_path],
        oom_kills=(lambda: oom[0]) if oom is not None else None,
        disk_every=1,
    )


def test_watchdog_stops_too_many_processes(tmp_path: Path) -> None:
    killed: list[Verdict] = []
    dog = make_watchdog(tmp_path, {5_000_001, 5_000_002, 5_000_003}, killed)  # no such pids
    dog.poll()
    assert killed == []
    dog._procs = lambda: {5_000_001, 5_000_002, 5_000_003, 5_000_004}  # noqa: SLF001
    dog.poll()
    assert killed == [Verdict("ProcessLimit", "the notebook started more than 3 processes")]
    assert dog.take_verdict() == killed[0] and dog.take_verdict() is None


def test_watchdog_measures_memory_itself_without_a_cgroup(tmp_path: Path) -> None:
    killed: list[Verdict] = []
    make_watchdog(tmp_path, {os.getpid()}, killed).poll()  # this test process: > 10 MiB
    assert [v.ename for v in killed] == ["MemoryLimit"]
    assert "more than 10 MiB of memory" in killed[0].message


def test_watchdog_trusts_the_cgroup_and_reads_its_oom_kills(tmp_path: Path) -> None:
    killed: list[Verdict] = []
    oom = [0]
    dog = make_watchdog(tmp_path, {os.getpid()}, killed, oom)
    dog.poll()
    assert killed == []  # the resident memory is the cgroup's business here
    oom[0] = 1  # the Linux kernel killed a process of the group
    assert dog.take_verdict() == Verdict(
        "MemoryLimit", "the notebook used more than 10 MiB of memory"
    )


def test_watchdog_stops_a_disk_filler(tmp_path: Path) -> None:
    killed: list[Verdict] = []
    dog = make_watchdog(tmp_path, set(), killed)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x" * 600_000)
    dog.poll()
    assert killed == []
    (tmp_path / "g").write_bytes(b"x" * 600_000)
    dog.poll()
    assert [v.ename for v in killed] == ["DiskLimit"]


def test_a_kernel_that_died_between_polls_is_still_found_over_the_disk_limit(
    tmp_path: Path,
) -> None:
    """Written faster than the poll, then killed by the per-file cap: the verdict still says
    DiskLimit when the grader asks why the kernel died."""
    killed: list[Verdict] = []
    dog = make_watchdog(tmp_path, set(), killed)
    assert dog.take_verdict() is None
    (tmp_path / "log").write_bytes(b"x" * 1_200_000)
    verdict = dog.take_verdict()
    assert verdict is not None and verdict.ename == "DiskLimit"
    assert killed == []  # nothing left to kill: the kernel is already gone


def test_pages_shared_by_forked_processes_count_once(tmp_path: Path) -> None:
    """200 MB touched, then 3 forks: RSS sums to 800 MB, the memory really used is 200 MB."""
    ready = tmp_path / "ready"
    code = (
        "import os, time, numpy as np\n"
        "a = np.ones(200 * 2**20 // 8)\n"
        "kids = [os.fork() for _ in range(3) if os.getpid() == PARENT]\n"
        "if os.getpid() == PARENT:\n"
        f"    open({str(ready)!r}, 'w').write(' '.join(map(str, [PARENT, *kids])))\n"
        "time.sleep(30)\n"
    ).replace("PARENT", "%d")
    proc = subprocess.Popen(
        [sys.executable, "-c", f"import os; exec({code!r} % ((os.getpid(),) * 3))"]
    )
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and len(ready.read_text().split()) == 4):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        pids = {int(p) for p in ready.read_text().split()}
        assert resident_bytes(pids) > 700 * 2**20
        assert not over_memory(pids, 400 * 2**20)
        assert over_memory(pids, 150 * 2**20)
    finally:
        for pid in [proc.pid, *(int(p) for p in ready.read_text().split()[1:] if ready.exists())]:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        proc.wait()


def test_tree_size_counts_allocated_bytes_and_skips_links(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 100_000)
    os.symlink("/usr", tmp_path / "link")
    size = tree_size([tmp_path], stop_at=10**12)
    assert 100_000 <= size < 200_000


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 bytes"), (1536, "1.5 KiB"), (6 * 2**30, "6 GiB"), (200 * 2**20, "200 MiB")],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


# -- the grading's folders ------------------------------------------------------------------


def test_the_probe_link_replaces_whatever_the_notebook_put_there(
    grading_root: Path, tmp_path: Path
) -> None:
    work = grading_root / "work"
    (work / "submission.ipynb").write_text("{}")
    victim = tmp_path / "victim"
    victim.mkdir()
    os.symlink(victim, work / ".cnn_grader_probe")
    box = sandbox.Sandbox(grading_root, work, Limits())
    try:
        probe = grading_root / ".cnn_grader_probe"
        (probe / "in").mkdir(parents=True)
        (probe / "out").mkdir()
        box.inputs_written(probe, link=work / ".cnn_grader_probe")
        assert os.readlink(work / ".cnn_grader_probe") == str(probe)
        assert list(victim.iterdir()) == []
        if box.uid is not None:
            assert (probe / "out").stat().st_uid == box.uid
            assert (probe / "in").stat().st_uid == 0 and (probe / "in").stat().st_mode & 0o7 == 0
    finally:
        box.close()


def test_wipe_keeps_the_submission(grading_root: Path) -> None:
    work = grading_root / "work"
    (work / "submission.ipynb").write_text("{}")
    (work / "junk").mkdir()
    (work / "junk" / "big.bin").write_bytes(b"x")
    box = sandbox.Sandbox(grading_root, work, Limits())
    try:
        box.wipe_files()
        assert sorted(p.name for p in work.iterdir()) == ["submission.ipynb"]
    finally:
        box.close()


def test_capabilities_explain_what_is_missing() -> None:
    caps = sandbox.capabilities()
    if ROOT and caps.uid_range is None:
        assert caps.problems, "root, yet no separate user: the probe must say why"
    assert caps is sandbox.capabilities()  # probed once per process


# -- the fallback: no user, no cgroup, no namespace -----------------------------------------

NOTHING = sandbox.Capabilities()


def run_fallback(source: str, tmp_path: Path, limits: Limits) -> RunResult:
    root = tmp_path / "grading"
    (root / "work").mkdir(parents=True)
    box = sandbox.Sandbox(root, root / "work", limits, caps=NOTHING)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("survivor = 1")]
    )
    try:
        return kernel.run(nb, root / "work", limits=limits, guard=box)
    finally:
        box.close()
        assert box.procs() == set()
        assert "ran as root (no separate user: not isolated)" in box.notes()[0] or not ROOT


FALLBACK = Limits(
    cell_timeout=30,
    notebook_timeout=120,
    memory_bytes=600 * 2**20,
    max_processes=20,
    disk_bytes=50 * 2**20,
)


@pytest.mark.parametrize(
    ("source", "ename"),
    [
        ("import numpy as np\nh = [np.ones(2**20) for _ in range(2000)]", "MemoryLimit"),
        (
            "import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n"
            "        time.sleep(60)\n"
            "        os._exit(0)",
            "ProcessLimit",
        ),
        (
            "import time\nfor i in range(100):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n"
            "time.sleep(10)",
            "DiskLimit",
        ),  # writes faster than the watchdog looks, then lingers
    ],
)
def test_watchdog_alone_stops_the_bombs(source: str, ename: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    run = run_fallback(source, tmp_path, FALLBACK)
    problem = run.summary.problems[0]
    assert (problem.kind, problem.ename) == ("kernel_died", ename), run.summary
    assert run.summary.cells_executed == 2  # the grading went on after the kill
    assert time.monotonic() - t0 < 60


def test_a_cell_that_ends_over_the_disk_limit_stops_the_kernel_without_any_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog's thread never runs here: the look taken at the end of every cell alone
    must find the notebook over the disk limit, whatever the speed of the machine (on a fast
    disk a writer can finish between two polls, or meet the per-file cap as an OSError)."""
    monkeypatch.setattr(Watchdog, "start", lambda self: None)
    run = run_fallback(
        "for i in range(60):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)", tmp_path, FALLBACK
    )
    problem = run.summary.problems[0]
    assert (problem.cell_index, problem.kind, problem.ename) == (0, "kernel_died", "DiskLimit")
    assert run.summary.cells_executed == 2


def test_the_end_of_cell_look_leaves_a_kernel_under_its_limits_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Watchdog, "start", lambda self: None)
    run = run_fallback("open('f', 'wb').write(b'x' * 2**20)", tmp_path, FALLBACK)
    assert run.summary.problems == [] and run.summary.kernel_restarts == 0


def test_tree_size_counts_a_file_by_its_length_before_its_blocks_are_counted(
    tmp_path: Path,
) -> None:
    """A sparse file stands for a file whose blocks the filesystem has not counted yet (ZFS
    and btrfs count them at their next commit): its length is what it costs."""
    with open(tmp_path / "sparse", "wb") as fh:
        fh.truncate(3 * 2**20)
    assert os.stat(tmp_path / "sparse").st_blocks * 512 < 2**20  # nothing allocated yet
    assert tree_size([tmp_path], stop_at=10**12) >= 3 * 2**20
    killed: list[Verdict] = []
    make_watchdog(tmp_path, set(), killed).poll()
    assert [v.ename for v in killed] == ["DiskLimit"]
