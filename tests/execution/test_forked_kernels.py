"""Kernels forked from a warm parent (grader.execution.forkserver): a forked kernel is the
kernel a fresh start gives (same sandbox, same interpreter state save for per-kernel values),
it shares nothing with the zygote or another fork, a command a fork would not reproduce starts
as before, and gradings through a forking pool get the verdicts of fresh kernels."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.api import Options, grade
from grader.execution import forkserver, kernel, kernel_env, sandbox, warm
from grader.execution.sandbox import policy
from grader.models import Limits

ROOT = Path(__file__).resolve().parents[2]
LIMITS = Limits(cell_timeout=60, startup_timeout=60)
# One environment for the zygote and every kernel (a fork needs the zygote's environment;
# pytest's PYTEST_CURRENT_TEST changes from test to test).
ENV = kernel_env.default_kernel_env({"PYTEST_CURRENT_TEST": ""})

pytestmark = pytest.mark.skipif(
    forkserver.why_not(warm.NUMPY_PRELUDE) is not None,
    reason=f"no forked kernels here: {forkserver.why_not(warm.NUMPY_PRELUDE)}",
)

# What the kernel sees of itself and of the machine, as JSON on stdout. Its open files, less
# its sockets: how many of ZeroMQ's a kernel has opened by its first cell depends on timing
# (its threads open theirs as they start); `seqpacket` says that none is the zygote's.
PROBE = """
import json, os, socket, sys, site, random, IPython, numpy as np
fds = {}
for fd in os.listdir('/proc/self/fd'):
    try:
        fds[fd] = os.readlink('/proc/self/fd/' + fd).split('[')[0]
    except OSError:
        pass
seqpacket = []
for fd in map(int, fds):
    try:
        s = socket.socket(fileno=fd)
    except OSError:
        continue
    try:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_SEQPACKET:
            seqpacket.append(fd)
    except OSError:
        pass
    finally:
        s.detach()
try:
    os.kill(os.getppid(), 0)
    parent = 'reachable'
except PermissionError:
    parent = 'PermissionError'
status = [l for l in open('/proc/self/status') if l.startswith(('Cap', 'NoNewPrivs', 'Groups'))]
print(json.dumps({
    'uid': os.getuid(), 'cwd': os.getcwd(), 'path': sys.path, 'flags': str(sys.flags),
    'env': dict(os.environ), 'hash': hash('abc'), 'argv': sys.argv, 'orig_argv': sys.orig_argv,
    'nics': [n for _, n in socket.if_nameindex()], 'usersite': site.getusersitepackages(),
    'ipdir': IPython.paths.get_ipython_dir(), 'leader': os.getsid(0) == os.getpid(),
    'fds': sorted(v for v in fds.values() if v != 'socket:'),
    'limits': open('/proc/self/limits').read(), 'status': status,
    'cgroup': open('/proc/self/cgroup').read().count('cnn'), 'stdin': fds.get('0'),
    'mounts': len(open('/proc/self/mounts').read().splitlines()),
    'seqpacket': seqpacket, 'parent': parent, 'np_rand': float(np.random.rand()),
    'rand': random.random(), 'sigint': str(__import__('signal').getsignal(2)),
    'mpl': mpl_seen,
}))
"""
# matplotlib, which a zygote imports before any kernel's start: its folders, its settings (a
# matplotlibrc in the kernel's folder included) and its backend, as a fresh import finds them.
MPL = """
import matplotlib, matplotlib.pyplot as plt, matplotlib.texmanager as tm
mpl_seen = {
    'configdir': matplotlib.get_configdir(), 'cachedir': matplotlib.get_cachedir(),
    'texcache': str(tm.TexManager._cache_dir), 'rcfile': matplotlib.matplotlib_fname(),
    'rc': sorted((k, repr(v)) for k, v in matplotlib.rcParams.items()),
    'backend': matplotlib.get_backend(), 'fonts': len(matplotlib.font_manager.fontManager.ttflist),
}
"""
PER_KERNEL = ("HOME", "TMPDIR", "MPLCONFIGDIR", "JPY_PARENT_PID")


@pytest.fixture(scope="module")
def server() -> Iterator[forkserver.ForkServer]:
    s = forkserver.ForkServer.start(ENV, (*warm.NUMPY_PRELUDE, *warm.FORKED_EXTRA))
    try:
        yield s
    finally:
        s.close()


def _probe(forker: Any, rc: str | None = None) -> tuple[dict[str, Any], str]:
    root = Path(tempfile.mkdtemp(prefix="cnn-grader-test-"))
    (root / "work").mkdir()
    if rc is not None:
        (root / "work" / "matplotlibrc").write_text(rc)
    box = policy.for_grading(
        root, root / "work", LIMITS, submission=ROOT / "submissions" / "x.ipynb", env={}
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(MPL + PROBE)])
    try:
        run = kernel.run(
            nb,
            root / "work",
            limits=LIMITS,
            env=ENV,
            guard=box,
            forker=forker,
        )
    finally:
        box.close()
    out = run.notebook.cells[0].outputs  # type: ignore[union-attr]
    assert out and "text" in out[0], (out, (root / "work.kernel.log").read_text()[-3000:])
    seen: dict[str, Any] = json.loads(out[0]["text"].replace(str(root), "ROOT"))
    return seen, box.notes()[0]


def test_a_forked_kernel_is_the_kernel_a_fresh_start_gives(
    server: forkserver.ForkServer,
) -> None:
    fresh, fresh_note = _probe(None)
    forked, forked_note = _probe(server)
    assert "forked from a warm parent" in forked_note and "forked" not in fresh_note
    assert (
        fresh_note.split(")", 1)[1]
        == forked_note.split("(its own process", 1)[0]
        .split(")", 1)[1]
        .rstrip("; ")
        .rsplit("; forked", 1)[0]
        + forked_note.split("before any cell ran)", 1)[1]
    )
    per_kernel = {"uid", "np_rand", "rand"}
    for key in fresh.keys() - per_kernel - {"env"}:
        assert forked[key] == fresh[key], key
    for name in fresh["env"].keys() | forked["env"].keys():
        if name not in PER_KERNEL:
            assert forked["env"].get(name) == fresh["env"].get(name), name
    assert set(PER_KERNEL) <= forked["env"].keys()
    if sandbox.capabilities().uid_range is not None:
        assert forked["uid"] != fresh["uid"] and forked["parent"] == "PermissionError"


def test_matplotlib_imported_by_the_zygote_reads_the_kernels_own_settings(
    server: forkserver.ForkServer,
) -> None:
    rc = "lines.linewidth: 7\nimage.cmap: magma\nbackend: pdf\n"
    fresh, _ = _probe(None, rc)
    forked, _ = _probe(server, rc)
    assert "matplotlib" in server.info["preloaded"]
    assert ["lines.linewidth", "7.0"] in fresh["mpl"]["rc"]  # the file was read
    assert forked["mpl"] == fresh["mpl"]
    assert fresh["mpl"]["backend"].lower() == "agg"  # MPLBACKEND wins over the file's


def test_forked_kernels_share_nothing_with_the_zygote_or_each_other(
    server: forkserver.ForkServer,
) -> None:
    one, _ = _probe(server)
    two, _ = _probe(server)
    assert one["seqpacket"] == two["seqpacket"] == [], "the zygote's socket was inherited"
    assert one["np_rand"] != two["np_rand"] and one["rand"] != two["rand"]
    if sandbox.capabilities().uid_range is not None:
        assert one["uid"] != two["uid"]
    assert server.alive and server.forks >= 2


def test_a_command_a_fork_would_not_reproduce_starts_as_before(
    server: forkserver.ForkServer,
) -> None:
    env = ENV
    assert (
        server.fork(["nice", "python", "-m", "ipykernel_launcher"], cwd="/", env=env, log=2) is None
    )
    assert server.fork([*forkserver.launcher_cmd("--", "bash")], cwd="/", env=env, log=2) is None
    assert not server.matches({**env, "OMP_NUM_THREADS": "1"})  # read by NumPy on import
    assert server.matches({**env, "HOME": "/elsewhere", "JPY_PARENT_PID": "1"})
    assert "not fork-safe" in (forkserver.why_not(warm.TRAINING_PRELUDE) or "")


def test_a_forking_pool_grades_as_fresh_kernels_and_leaves_nothing(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    paths = []
    for name, src in (("a", "solutions"), ("b", "exercises"), ("c", "solutions")):
        dest = subs / f"{name}_ex01_convolution.ipynb"
        dest.write_bytes((ROOT / src / "ex01_convolution.ipynb").read_bytes())
        paths.append(dest)
    pool = warm.KernelPool(fork=True)  # forked, and one ahead
    try:
        forked = [grade(p, Options(seed=7, executor=pool)) for p in paths]
        assert pool.fork_problem is None and pool.hits == 2
        zygote = pool._forker
        assert zygote is not None and zygote.forks >= 3
    finally:
        pool.close()
    assert not zygote.alive  # its kernels went with it (PDEATHSIG), each already stopped
    fresh = [grade(p, Options(seed=7)) for p in paths]
    for got, want in zip(forked, fresh, strict=True):
        assert [(c.id, c.status, c.score) for c in got.checks] == [
            (c.id, c.status, c.score) for c in want.checks
        ]
        assert got.score == want.score and got.execution.status == want.execution.status
        assert any("forked from a warm parent" in n for n in got.execution.notes)


def test_one_zygote_serves_every_worker_and_a_workers_kernels_go_with_it(tmp_path: Path) -> None:
    """A batch's zygote (`listen`): each worker connects and forks its own kernels, which are
    the kernels a fresh start gives; a worker that goes takes its kernels with it."""
    shared = forkserver.ForkServer.start(
        ENV, (*warm.NUMPY_PRELUDE, *warm.FORKED_EXTRA), listen=True
    )
    assert shared.path is not None and oct(shared.path.parent.stat().st_mode)[-3:] == "700"
    try:
        one, two = (
            forkserver.ForkServer.connect(shared.path),
            forkserver.ForkServer.connect(shared.path),
        )
        fresh, _ = _probe(None)
        for worker in (one, two):
            forked, note = _probe(worker)
            assert "forked from a warm parent" in note
            for key in fresh.keys() - {"uid", "np_rand", "rand", "env"}:
                assert forked[key] == fresh[key], key
        # A kernel forked for `one`, left running, goes when `one` closes its connection.
        spec = warm.KernelSpec.of(
            limits=LIMITS,
            env=ENV,
            sandbox_env={},
            submission=tmp_path / "x.ipynb",
            launch_prefix=(),
            sandboxed=False,
            prelude=warm.NUMPY_PRELUDE,
        )
        started = asyncio.run(warm.prestart(spec, one))
        pid = started.km.provisioner.pid  # type: ignore[union-attr]
        assert started.km.forked and _running(pid)
        one.close()
        deadline = time.monotonic() + 10
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid), "a kernel outlived the worker it was forked for"
        asyncio.run(started.destroy())
        assert two.alive and shared.alive  # the others are served on
        two.close()
    finally:
        shared.close()
    assert not shared.alive and not shared.path.parent.exists()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
