"""The check server (`python -m grader.cli.check_server SOCKET CWD CHECK-ARGS...`, started by
`grader.cli.check_client.spawn`): one process of this user that keeps the grader imported and
the next kernel forked ahead, and runs each check it is handed with the same code as a local
check (`grader.cli.run_parsed`), in the client's folder, at the client's terminal width.

It serves until idle for `IDLE_ENV` seconds, until told to stop, or until the grader's files or
a course it served changed (then it answers "stale" and goes: the client runs that check itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grader.cli.check_client import IDLE_ENV, IDLE_S, read_all


def _files_stamp(folders: Sequence[Path]) -> str:
    """The files under `folders`, by path, size and time: a change of any of them changes it."""
    h = hashlib.sha256()
    for folder in folders:
        if folder.is_file():
            st = folder.stat()
            h.update(f"{folder}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                p = os.path.join(root, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def grader_stamp() -> str:
    import grader

    return _files_stamp([Path(grader.__file__).parent])


def course_stamp(args: Any) -> tuple[str, str]:
    """(the course, its files' stamp) for a parsed check command line."""
    from grader.course import resolve

    course = resolve(getattr(args, "course", None))
    folders = [course.source]
    if course.kind != "bundle":
        folders = [course.exercises_dir] + ([course.solutions_dir] if course.can_grade else [])
    return str(course.source), _files_stamp(folders)


@contextlib.contextmanager
def _as_client(request: dict[str, Any]) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The request's folder and terminal width, its output captured; the server's own
    environment and folder back afterwards (a command line may set variables)."""
    from grader.reporting import terminal

    env = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.chdir(request["cwd"])
        terminal.COLUMNS = int(request.get("columns") or 0) or None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        terminal.COLUMNS = None
        os.chdir("/")
        os.environ.clear()
        os.environ.update(env)


class Server:
    def __init__(self, path: Path) -> None:
        from grader import __version__
        from grader.execution.warm import KernelPool

        self.path = path
        self.version = __version__
        self.idle_s = float(os.environ.get(IDLE_ENV) or IDLE_S)
        self.pool = KernelPool(fork=True, train_ahead=False)
        self.grader = grader_stamp()
        self.courses: dict[str, str] = {}
        self.served = 0

    def run_check(self, argv: Sequence[str]) -> int | str:
        """The check's exit code, or why the server is stale."""
        from grader.cli import build_parser, run_parsed

        try:
            args = build_parser().parse_args(list(argv))
        except SystemExit as exc:  # argparse said why on stderr
            return int(exc.code or 0)
        if grader_stamp() != self.grader:
            return "the grader's files changed"
        try:
            name, stamp = course_stamp(args)
        except Exception:  # noqa: BLE001 - the check says what is wrong with the course
            name, stamp = "", ""
        if self.courses.setdefault(name, stamp) != stamp:
            return f"the course {name} changed"
        args.executor = self.pool
        return run_parsed(args)

    def handle(self, conn: socket.socket) -> bool:
        """Answer one connection; False when the server should stop."""
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            return True
        try:
            request: dict[str, Any] = json.loads(read_all(conn) or b"{}")
        except ValueError:
            return True
        op = str(request.get("op"))
        info = {"pid": os.getpid(), "version": self.version, "served": self.served}
        if op in ("status", "stop"):
            conn.sendall(json.dumps({**info, "idle_s": self.idle_s}).encode())
            return op == "status"
        if op != "check":
            return True
        with _as_client(request) as (out, err):
            code = self.run_check(request.get("argv") or [])
        if isinstance(code, str):
            conn.sendall(json.dumps({"stale": code}).encode())
            return False
        self.served += 1
        answer = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        with contextlib.suppress(OSError):  # the client was interrupted: nothing to say
            conn.sendall(json.dumps(answer).encode())
        return True

    def warm_up(self, cwd: str, argv: Sequence[str]) -> None:
        """The check that started the server, again, its output dropped and its reports kept
        apart: the grader's imports, the zygote and the next kernel forked ahead."""
        with tempfile.TemporaryDirectory(prefix="cnn-grader-warm-") as tmp:
            with _as_client({"cwd": cwd}):
                try:
                    self.run_check([*argv, "--out", tmp])  # the last --out wins
                except Exception:  # noqa: BLE001 - the first served check says it again
                    pass

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(self.idle_s)
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return  # idle long enough
            with conn:
                conn.settimeout(None)
                if not self.handle(conn):
                    return


def main(argv: Sequence[str]) -> int:
    """`python -m grader.cli.check_server SOCKET CWD CHECK-ARGS...`: started by `spawn`."""
    path, cwd, first = Path(argv[0]), argv[1], list(argv[2:])
    lock = open(path.with_suffix(".lock"), "w")  # noqa: SIM115 - held until the socket is gone
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server for this key is starting or running
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a server that died without removing it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(8)
    os.chdir("/")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} check server {os.getpid()} at {path}", flush=True)
    server = Server(path)
    try:
        server.warm_up(cwd, first)
        server.serve(listener)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # ours: no other server binds it while we hold the lock
        listener.close()
        lock.close()  # a new server may start now, while this one's kernels are stopped
        server.pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
