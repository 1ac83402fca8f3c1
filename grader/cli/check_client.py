"""`cnn-grader check` served warm.

A student checks the same notebook again and again, and a cold check pays, before the first
cell runs, for a Python, the grader's imports and a kernel's start: about 1.1 s of ex01's 1.9 s
(benchmarks/grading_breakdown.py). So the first check of a session runs as ever and then
leaves a check server behind: a process of this user that keeps the grader imported and the
next kernel forked ahead (`grader.execution.warm.KernelPool`, forked from a zygote that has
imported ipykernel and NumPy). Later checks hand it their command line and print its answer.

    cnn-grader check NB              served when a server for this setup runs; else run here,
                                     and a server is started for the next one
    cnn-grader check --no-server NB  run here, start nothing
    cnn-grader check-server status   this user's servers: what each serves, how long it stays
    cnn-grader check-server stop     stop them

This module is the client's side (and what says whether servers are on, and where their
sockets are); the server is `grader.cli.check_server`, run as its own process.

A served check is the same code as a local one (`grader.cli.run_parsed` on the same arguments,
in the client's folder, with the client's terminal width), so it prints the same summary and
writes the same reports. Its one difference is how the notebook ran: in a kernel started
before the notebook was handed to it, as in a batch (the report's notes say so).

One server per user, Python and environment: the key in its socket's name hashes them, so a
check started in another environment finds none and starts its own, and a kernel never gets an
environment its cold check would not have given it. A server that finds the grader's files or
the course's changed since it first saw them answers "stale" and exits, and the client runs
the check itself. Idle for CNN_GRADER_CHECK_SERVER_IDLE seconds (default 600), a server exits.
Its socket is in a folder only the user may enter, and it answers only its own uid.

Linux only. Off: `--no-server`, CNN_GRADER_CHECK_SERVER=off, or under CI (the CI variable set;
each check runs once there) unless CNN_GRADER_CHECK_SERVER=on. `--verbose` checks run locally,
where the native libraries' output is shown as it comes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENV = "CNN_GRADER_CHECK_SERVER"
IDLE_ENV = "CNN_GRADER_CHECK_SERVER_IDLE"
IDLE_S = 600.0
# What differs between two shells of one session and changes nothing a check does.
VOLATILE = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES"})
_MAX_PATH = 100  # sun_path holds 108 bytes


def enabled(argv: Sequence[str]) -> bool:
    """Whether this `check` command line may be served (and may start a server)."""
    if not argv or argv[0] != "check":
        return False
    if not sys.platform.startswith("linux"):
        return False  # its peer check (SO_PEERCRED) and forked kernels are Linux's
    if any(a in ("--no-server", "--verbose", "-h", "--help") for a in argv[1:]):
        return False
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in ("0", "off", "no", "false"):
        return False
    if setting in ("1", "on", "yes", "true"):
        return True
    return not os.environ.get("CI")


def runtime_dir() -> Path | None:
    """This user's folder for servers' sockets: made if missing, and used only if it is a real
    folder of this user that no one else may enter."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        folder = Path(base) / "cnn-grader"
    else:
        folder = Path(tempfile.gettempdir()) / f"cnn-grader-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def key() -> str:
    """What a server serves: this user, this Python, the grader's version and this environment
    (save what changes between shells and nothing reads)."""
    from grader import __version__

    env = sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE)
    text = json.dumps([os.getuid(), sys.executable, sys.path, __version__, env])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def socket_path() -> Path | None:
    folder = runtime_dir()
    if folder is None:
        return None
    path = folder / f"check-{key()}.sock"
    return path if len(os.fsencode(path)) <= _MAX_PATH else None


# ---------------------------------------------------------------------------- the client


def _ask(path: Path, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """One request, one answer; OSError or ValueError when there is no server (or it died)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        s.connect(str(path))
        s.settimeout(timeout)
        s.sendall(json.dumps(request).encode())
        s.shutdown(socket.SHUT_WR)
        data = read_all(s)
    if not data:
        raise ValueError("the server closed the connection without an answer")
    answer: dict[str, Any] = json.loads(data)
    return answer


def read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def client(argv: Sequence[str]) -> int | None:
    """The check served: its exit code, after printing what the server printed; None when no
    server answered (the caller runs the check itself)."""
    if not enabled(argv):
        return None
    path = socket_path()
    if path is None or not path.exists():
        return None
    request = {
        "op": "check",
        "argv": list(argv),
        "cwd": os.getcwd(),
        "columns": shutil.get_terminal_size((100, 24)).columns,
    }
    try:
        answer = _ask(path, request)
    except (OSError, ValueError):
        return None
    if "code" not in answer:  # stale: the server is gone, the check runs here
        return None
    sys.stdout.write(answer.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(answer.get("stderr", ""))
    return int(answer["code"])


def spawn(argv: Sequence[str]) -> None:
    """Start a server for this setup in the background (nothing when one is there already or
    servers are off), warmed on `argv` (the check that just ran here)."""
    if not enabled(argv):
        return
    path = socket_path()
    if path is None:
        return
    try:
        with open(path.with_suffix(".log"), "ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "grader.cli.check_server", str(path), os.getcwd(), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd="/",  # nothing of the student's folder on the server's sys.path
                start_new_session=True,  # the terminal's Ctrl-C is the check's, not the server's
            )
    except OSError:
        pass  # the next check runs here as well


def servers() -> list[Path]:
    folder = runtime_dir()
    return sorted(folder.glob("check-*.sock")) if folder is not None else []


def command(action: str) -> int:
    """`cnn-grader check-server status|stop`."""
    found = servers()
    if not found:
        print("no check server is running")
        return 0
    for path in found:
        try:
            answer = _ask(path, {"op": action}, timeout=10)
        except (OSError, ValueError):
            print(f"{path.name}: not answering (a server that has gone)")
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        idle = answer.get("idle_s", 0.0)
        print(
            f"{path.name}: pid {answer.get('pid')}, cnn-grader {answer.get('version')}, "
            f"{answer.get('served', 0)} checks served, "
            + ("stopping" if action == "stop" else f"exits after {idle:.0f} s idle")
        )
    return 0
