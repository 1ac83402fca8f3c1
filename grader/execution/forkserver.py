"""Kernels forked from a warm parent: the grader's side of sandbox/zygote.py.

    server = ForkServer.start(env, ("numpy",))   # once per worker and kernel environment
    km.forker = server                          # grader.execution.kernel_session.KernelManager
    ...                                         # every start of km is now a fork
    server.close()

A fresh kernel is a new Python (about 0.3 s on an idle core) that imports ipykernel, IPython
and zmq (0.3 s), then the notebook's NumPy (0.1 s). The zygote has done all that once; each
kernel is a fork of it (milliseconds) that sandboxes itself with the launcher's own steps, in
the launcher's order, and then runs ipykernel in place (its app and shell: the part that is
per kernel). The kernel manager is jupyter_client's as always: it writes the connection file,
watches, interrupts and kills the kernel through its provisioner, whose process is the forked
kernel (`ForkedKernel`, over a pidfd: the kernel is the zygote's child, not ours).

A start is forked only when the command is exactly what a fresh start would run (the launcher,
then `python -m ipykernel_launcher`) and the environment is the zygote's, save for what
differs per kernel; anything else (another launch prefix, a changed environment, a zygote that
died) starts as before, so a fork can only be the same kernel, sooner. Only where it is safe
(`why_not` says why not): Linux with pidfds, a zygote with no thread of Python's, and no
TensorFlow in it (not fork-safe: training exercises keep the pool of pre-started kernels).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from grader.execution.sandbox import launcher, seed
from grader.execution.sandbox.machine import LAUNCHER, launcher_cmd

ZYGOTE = Path(__file__).with_name("sandbox") / "zygote.py"
# What may differ between the zygote's environment and a kernel's: what jupyter_client and the
# launcher set per kernel. Anything else differing (what a module may read on import) means a
# fresh start instead.
PER_KERNEL = ("JPY_", "HOME", "TMPDIR", "MPLCONFIGDIR", "USER", "LOGNAME")
NOT_FORK_SAFE = ("tensorflow", "keras", "torch", "jax")
# What every NumPy notebook imports first (a warm kernel imports it in a throw-away namespace),
# and what a zygote imports besides: there it costs once per worker, not once per kernel, and
# its kernels find it loaded (ex01's `import matplotlib.pyplot` was two thirds of its cells'
# time). A started kernel does not import matplotlib ahead: only ex01 uses it.
NUMPY_PRELUDE = ("numpy",)
FORKED_EXTRA = ("matplotlib", "matplotlib.pyplot")


def why_not(prelude: Sequence[str] = ()) -> str | None:
    """Why kernels cannot be forked here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "forking a kernel needs Linux (pidfds, namespaces after fork)"
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return "this Python has no pidfd_open or send_fds"
    unsafe = [m for m in prelude if m.split(".")[0] in NOT_FORK_SAFE]
    if unsafe:
        return f"{', '.join(unsafe)} is not fork-safe (its thread pools do not survive a fork)"
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as exc:
        return f"no pidfds on this system: {exc}"
    return None


def _scrubbed(env: Mapping[str, str]) -> dict[str, str]:
    """No credentials in the zygote (a kernel's memory is a copy of the zygote's)."""
    return {k: v for k, v in env.items() if not launcher.SECRET.search(k)}


def _comparable(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in _scrubbed(env).items() if not k.startswith(PER_KERNEL)}


class ForkedKernel:
    """The `subprocess.Popen` a provisioner expects, for a kernel that is not our child: poll,
    wait, signal and kill go through a pidfd (immune to a reused pid)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self._fd = pidfd
        self.returncode: int | None = None
        self._killed = False

    def _exited(self, timeout: float | None) -> bool:
        if self.returncode is not None:
            return True
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        # Its status is the zygote's to collect: a kill is what ended almost every one.
        self.returncode = -signal.SIGKILL if self._killed else 1
        os.close(self._fd)
        return True

    def poll(self) -> int | None:
        self._exited(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited(timeout):
            raise subprocess.TimeoutExpired(["forked kernel", str(self.pid)], timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            if sig == signal.SIGKILL:
                self._killed = True
            try:
                signal.pidfd_send_signal(self._fd, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self) -> None:
        if self.returncode is None:
            try:
                os.close(self._fd)
            except OSError:
                pass


class ForkServer:
    """One zygote: started with a kernel environment, forks kernels for this process."""

    def __init__(
        self, proc: subprocess.Popen[bytes] | None, sock: socket.socket, env: dict[str, str]
    ):
        self._proc = proc  # None: a zygote another process started (`connect`)
        self._sock = sock
        self._env = _comparable(env)
        self.path: Path | None = None  # where workers connect (`start(listen=True)`)
        self._lock = threading.Lock()
        self.info: dict[str, Any] = {}
        self.forks = 0
        self._home = ""
        self._timeout = 120.0

    @classmethod
    def start(
        cls,
        env: Mapping[str, str],
        prelude: Sequence[str] = (),
        *,
        timeout: float = 120,
        wait: bool = True,
        listen: bool = False,
    ) -> ForkServer:
        """Start a zygote with `env` (scrubbed) and wait until it has imported `prelude`
        (`wait` False: `ready()` waits, and the first fork calls it). Raises OSError when it
        cannot start or is not fit to fork (a thread of Python's). `listen`: the zygote forks
        for every process that connects to `path` (`connect`: a batch's workers share one
        zygote), in a folder only this user may enter, and not for this one."""
        why = why_not(prelude)
        if why is not None:
            raise OSError(why)
        if listen:
            where = Path(tempfile.mkdtemp(prefix="cnn-grader-zygote-sock-"))
            theirs = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            theirs.bind(str(where / "zygote"))
            theirs.listen(64)
            ours = theirs.dup()  # held, so that close() has a socket to close
        else:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # An empty HOME, as a kernel's starts: no user site-packages on the zygote's sys.path.
        home = tempfile.mkdtemp(prefix="cnn-grader-zygote-")
        # matplotlib's folder as a kernel's is (grader.execution.sandbox.launcher), with the
        # font list a kernel's home is seeded with: importing it lists no fonts.
        mplconfig = Path(home) / ".config" / "matplotlib"
        seed.seed_home(Path(home), None)
        zenv = {**_scrubbed(env), "HOME": home, "MPLCONFIGDIR": str(mplconfig)}
        try:
            proc = subprocess.Popen(
                [sys.executable, str(ZYGOTE), str(theirs.fileno()), *prelude],
                pass_fds=[theirs.fileno()],
                env=zenv,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            shutil.rmtree(home, ignore_errors=True)
            raise
        finally:
            theirs.close()
        server = cls(proc, ours, zenv)
        server._home = home
        server._timeout = timeout
        if listen:
            server.path = where / "zygote"
            server.info = {"listening": True}  # its ready message goes to each worker
        elif wait:
            server.ready()
        return server

    @classmethod
    def connect(cls, path: Path, *, timeout: float = 120) -> ForkServer:
        """The zygote listening at `path` (started by another process with `listen`); its
        environment is what its ready message says. OSError when it is not there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            raise
        server = cls(None, sock, {})
        server._timeout = timeout
        return server

    def ready(self) -> None:
        """Wait until the zygote has imported its prelude (once); OSError, the zygote stopped,
        when it did not start or is not fit to fork."""
        if self.info:
            return
        try:
            self._sock.settimeout(self._timeout)
            self.info = json.loads(self._sock.recv(1 << 16) or b"{}")
            self._sock.settimeout(None)
            if not self.info.get("ready"):
                raise OSError("the zygote did not start")
            if self.info.get("python_threads") != 1:
                raise OSError("the zygote runs a thread of Python's: forking it is not safe")
            if self._proc is None:
                self._env = _comparable(self.info.get("env") or {})
        except (OSError, ValueError) as exc:
            self.info = {"failed": str(exc)}
            self.close()
            raise OSError(f"no fork server: {exc}") from exc

    @property
    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        pid = self.info.get("pid")
        if not isinstance(pid, int):
            return self._sock.fileno() != -1  # not ready yet: alive until it says otherwise
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return self._sock.fileno() != -1

    def matches(self, env: Mapping[str, str]) -> bool:
        return _comparable(env) == self._env

    def fork(
        self, cmd: Sequence[str], *, cwd: str, env: Mapping[str, str], log: IO[Any] | int | None
    ) -> ForkedKernel | None:
        """A kernel for the launch command `cmd`, forked; None when this command is not one a
        fork reproduces (the caller then starts it as before)."""
        argv = _launcher_argv(list(cmd))
        if argv is None:
            return None
        try:
            self.ready()  # and a connected zygote's environment known
        except OSError:
            return None
        if not self.alive or not self.matches(env):
            return None
        if log is None:
            return None
        log_fd = log if isinstance(log, int) else log.fileno()
        sandboxed = argv[0] != "--"
        request = {"argv": argv, "cwd": cwd, "env": _scrubbed(env) if sandboxed else dict(env)}
        with self._lock:
            try:
                socket.send_fds(self._sock, [json.dumps(request).encode()], [log_fd])
                msg, fds, _flags, _addr = socket.recv_fds(self._sock, 1 << 16, 1)
            except OSError:
                return None
        if not msg or not fds:
            for fd in fds:
                os.close(fd)
            return None
        self.forks += 1
        return ForkedKernel(int(json.loads(msg)["pid"]), fds[0])

    def close(self) -> None:
        """Stop the zygote (its kernels die with it: PDEATHSIG)."""
        try:
            self._sock.close()
        finally:
            if self._proc is not None:
                if self._proc.poll() is None:
                    self._proc.kill()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            if self._home:
                shutil.rmtree(self._home, ignore_errors=True)
            if self.path is not None:
                shutil.rmtree(self.path.parent, ignore_errors=True)


def _launcher_argv(cmd: list[str]) -> list[str] | None:
    """The launcher's arguments and the kernel command after "--", when `cmd` is the launcher
    (as the sandbox prefixes it) in front of `python -m ipykernel_launcher`, or that command
    alone ("--" first); None for any other command."""
    kernel = [sys.executable, "-m", "ipykernel_launcher"]
    prefix = launcher_cmd()
    if cmd[:3] == kernel:
        return ["--", *cmd]
    if cmd[: len(prefix)] != prefix or str(LAUNCHER) != prefix[-1]:
        return None
    rest = cmd[len(prefix) :]
    if "--" not in rest:
        return None
    split = rest.index("--")
    if rest[split + 1 : split + 4] != kernel:
        return None
    return rest
