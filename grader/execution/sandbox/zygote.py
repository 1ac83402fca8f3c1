"""The warm parent of forked kernels: imports ipykernel, NumPy (and what else it is asked to)
once, then forks one kernel per request, each of which sandboxes itself exactly as launcher.py
does before it runs.

    python zygote.py FD [MODULE ...]      (started by grader.execution.forkserver)

It talks to the grader over FD, one end of a Unix SOCK_SEQPACKET pair, or, when FD is a
listening SEQPACKET socket, over each connection a batch's workers make to it (`serve_many`):
one JSON message per request, `{"argv": launcher's arguments + ["--", kernel command], "cwd":
..., "env": ...}`, with the kernel's log file sent alongside (SCM_RIGHTS); the answer is
`{"pid": ...}` with a pidfd of the kernel sent alongside, so the grader can watch and signal it
without racing a reused pid. The first message on each is `{"ready": ...}` once the imports
are done.

The child of each fork, before any student code runs and in this order:

1. leaves the zygote: its own session (as jupyter_client's Popen gives a kernel), stdin an empty
   pipe, stdout and stderr the kernel's log, every other descriptor of the zygote closed (the
   grader's socket first of all), signal dispositions and mask back to a fresh Python's, the
   random generators of `random` and NumPy reseeded from the system (as a fresh interpreter's);
2. goes to the kernel's folder and takes the environment the grader started it with;
3. runs the launcher's `apply` on itself, the very function launcher.py runs before exec: the
   kernel's cgroups, network and mount namespaces, hidden folders, resource limits, scrubbed
   environment, no-new-privileges, its own uid, death with its parent;
4. becomes the kernel: `sys.argv`, `sys.path` and `sys.orig_argv` as `python -m
   ipykernel_launcher` would have them, then ipykernel's own `launch_new_instance`.

It never runs as anything but a fork's parent: no request is ever executed in the zygote
itself, which imports only the standard library, the launcher (by path: the grader's package
is not importable from here), ipykernel and the modules it was asked to preload. It is
started with the kernel's environment (no credentials: the grader scrubs it) so that what a
module reads at import time is what a fresh kernel's import would read, and it dies with the
process that started it (its kernels die with it).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
# sys.path as `python -m ipykernel_launcher` has it, save its first entry (the kernel's folder)
BASE_PATH = [p for p in sys.path if os.path.abspath(p or ".") != HERE]


def _load_launcher() -> Any:
    spec = importlib.util.spec_from_file_location(
        "cnn_grader_launcher", os.path.join(HERE, "launcher.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()
START_ENV = dict(os.environ)
IMPORT_ENV: dict[str, str] = {}  # what the preloaded modules set in os.environ on import
PRELOADED: list[str] = []  # what the kernels of this zygote find imported (their report says)


# What every kernel's start imports (a fresh one imports them all before its first cell):
# ipykernel's app, shell and debugger (debugpy's pydevd, a third of the imports' time), IPython's
# completer and debugger, psutil. No module here runs anything at import but definitions and
# checks, save psutil's first reading of the CPU times (what its `cpu_percent()` first compares
# with: in a forked kernel, the zygote's reading).
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "ipykernel.comm",
    "IPython.core.completer",
    "IPython.core.debugger",
    "sqlite3",
    "pydoc",
    # A kernel's connection file read, jupyter_client lists the local addresses with psutil:
    # importing it was half of a forked kernel's start (0.055 of 0.097 s). Only imported here:
    # the addresses themselves are the kernel's to list, in its own network namespace.
    "jupyter_client.localinterfaces",
    "psutil",
)


def preload(modules: list[str]) -> list[str]:
    """Import what every kernel imports (ipykernel) and what the notebooks import first."""
    for name in KERNEL_MODULES:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - the kernel then imports it itself, as a fresh one
            pass
    done = []
    for name in modules:
        try:
            __import__(name)
            done.append(name)
        except Exception:  # noqa: BLE001 - the kernel then imports it itself, as a fresh one
            pass
    return done


def _tasks() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


# The kernels forked for each connection and not yet reaped (connection's fd -> pids): those of
# a worker that goes are killed with it (serve_many), as its own zygote's kernels die with it.
_KERNELS: dict[int, set[int]] = {}


def _reap(*_: Any) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for pids in _KERNELS.values():
            pids.discard(pid)


def _kill_kernels_of(fd: int) -> None:
    """Kill what was forked for connection `fd` (each kernel leads its own session and process
    group): SIGCHLD held, so no pid here has been reaped, and none reused."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        for pid in _KERNELS.pop(fd, set()):
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})


def serve(sock: socket.socket) -> None:
    """Fork for requests on `sock` until the grader closes it."""
    signal.signal(signal.SIGCHLD, _reap)
    while handle(sock):
        pass


def serve_many(listener: socket.socket, ready: bytes) -> None:
    """Fork for the requests of every process that connects to `listener` (a batch's workers),
    each sent `ready` as it connects, until the process that started us goes (PDEATHSIG)."""
    signal.signal(signal.SIGCHLD, _reap)
    conns: list[socket.socket] = []
    while True:
        try:
            readable, _, _ = select.select([listener, *conns], [], [])
        except InterruptedError:
            continue
        for s in readable:
            if s is listener:
                try:
                    conn, _addr = listener.accept()
                    conn.send(ready)
                except OSError:
                    continue
                conns.append(conn)
            elif not handle(s):
                conns.remove(s)
                _kill_kernels_of(s.fileno())
                s.close()


def handle(sock: socket.socket) -> bool:
    """One request on `sock`, forked and answered; False when its other end is gone."""
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 4)
    except InterruptedError:
        return True
    except OSError:
        return False
    if not msg:
        return False  # the grader closed its end: our kernels go with us (PDEATHSIG)
    try:
        request = json.loads(msg)
    except ValueError:
        for fd in fds:
            os.close(fd)
        return True
    # SIGCHLD held until the pidfd is open: the child cannot be reaped (its pid reused)
    # between the fork and pidfd_open.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    pid = os.fork()
    if pid == 0:
        become_kernel(request, fds, sock)  # never returns
    try:
        _KERNELS.setdefault(sock.fileno(), set()).add(pid)
        pidfd = os.pidfd_open(pid)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    for fd in fds:
        os.close(fd)
    try:
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [pidfd])
    except OSError:
        return False
    finally:
        os.close(pidfd)
    return True


def _close_others(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def become_kernel(request: dict[str, Any], fds: list[int], sock: socket.socket) -> None:
    """The fork's child: leave the zygote, sandbox itself, run ipykernel. Never returns."""
    code = 1
    try:
        sock.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        log = fds[0]
        stdin_r, stdin_w = os.pipe()  # as jupyter_client's: a pipe whose writer is closed
        os.close(stdin_w)
        os.dup2(stdin_r, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        _close_others({0, 1, 2})
        _reseed()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # as Popen's start says: its parent
        argv: list[str] = list(request["argv"])
        if argv and argv[0] == "--":  # no sandbox: the kernel command alone
            env = dict(os.environ)
            cmd = argv[1:]
            launcher.prctl(launcher.PR_SET_PDEATHSIG, 9)
        else:
            args = launcher.parse(argv)
            _report, env = launcher.apply(args, {"forked": PRELOADED})
            cmd = args.cmd
        if os.getppid() == 1:
            os._exit(1)  # the zygote died before PDEATHSIG was armed
        os.environ.clear()
        os.environ.update(env)
        os.environ.update(IMPORT_ENV)  # as those imports, in a fresh kernel, would have set
        _matplotlib_as_fresh()
        sys.modules.pop("cnn_grader_launcher", None)
        _user_site()
        code = _run_ipykernel(cmd)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - said in the kernel's log, then gone
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _matplotlib_as_fresh() -> None:
    """matplotlib, where the zygote imported it, as a fresh kernel's import leaves it: the
    folders it memoized on import (configuration, cache, TeX cache) are this kernel's, and a
    matplotlibrc of the kernel's own (in its folder, or $MATPLOTLIBRC) is read, with the
    backend the environment names. The zygote read the same defaults and found no such file
    (its folder is /, its MPLCONFIGDIR an empty one)."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    for name, fmt in (("get_configdir", "CONFIGDIR=%s"), ("get_cachedir", "CACHEDIR=%s")):
        inner = getattr(getattr(mpl, name), "__wrapped__", None)
        if inner is not None:
            setattr(mpl, name, mpl._logged_cached(fmt, inner))
    tex = sys.modules.get("matplotlib.texmanager")
    if tex is not None:
        tex.TexManager._cache_dir = type(tex.TexManager._cache_dir)(mpl.get_cachedir(), "tex.cache")
    fname = mpl.matplotlib_fname()
    if fname != ZYGOTE_RC[0]:
        mpl.rc_file(fname)
        if os.environ.get("MPLBACKEND"):
            mpl.rcParams["backend"] = os.environ["MPLBACKEND"]


ZYGOTE_RC = [""]  # the matplotlibrc the zygote's import read


def _reseed() -> None:
    """A fresh interpreter draws its generators' seeds from the system: so does each child
    (`random` reseeds itself after a fork; NumPy's legacy global state does not)."""
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        np_random.seed()


def _user_site() -> None:
    """site's per-user paths, as a Python started with this HOME computes them (the zygote's
    HOME is an empty folder: no user site-packages on its sys.path, as in a fresh kernel's)."""
    import site

    site.USER_BASE = None
    site.USER_SITE = None
    site.getusersitepackages()


def _run_ipykernel(cmd: list[str]) -> int:
    """`python -m ipykernel_launcher ARGS` in this process (its launcher drops the '' that
    `-m` puts first on sys.path)."""
    spec = importlib.util.find_spec("ipykernel_launcher")
    origin = spec.origin if spec is not None and spec.origin else "ipykernel_launcher"
    sys.argv = [origin, *cmd[3:]]
    sys.orig_argv = list(cmd)
    sys.path[:] = BASE_PATH
    from ipykernel import kernelapp

    app: Any = kernelapp.IPKernelApp.instance()
    # Its default was read from the environment when the zygote imported ipykernel.
    app.parent_handle = int(os.environ.get("JPY_PARENT_PID") or 0)
    app.initialize()
    app.start()
    return 0


def main() -> int:
    fd = int(sys.argv[1])
    launcher.prctl(launcher.PR_SET_PDEATHSIG, 9)  # the grader goes: so do we, and our kernels
    sock = socket.socket(fileno=fd)
    done = preload(sys.argv[2:])
    if "matplotlib" in sys.modules:
        ZYGOTE_RC[0] = sys.modules["matplotlib"].matplotlib_fname()
    PRELOADED[:] = ["ipykernel", *done]
    IMPORT_ENV.update({k: v for k, v in os.environ.items() if START_ENV.get(k) != v})
    import threading

    ready = {
        "ready": True,
        "preloaded": done,
        "python_threads": threading.active_count(),
        "tasks": _tasks(),
        "pid": os.getpid(),
        "env": START_ENV,  # what it was started with (scrubbed): a worker that connects compares
    }
    # What the imports made is left to the collector's permanent generation, as a pre-fork
    # server leaves it: a kernel's collections never walk it, so they never write to (and copy)
    # the pages it shares with the zygote. Measured on ex02 in a batch: its cells took 0.16 s
    # in kernels forked from a zygote that had imported matplotlib, 0.09 s frozen or without it.
    import gc

    gc.freeze()
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        serve_many(sock, json.dumps(ready).encode())  # a batch's zygote, its workers connect
    else:
        sock.send(json.dumps(ready).encode())
        serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
