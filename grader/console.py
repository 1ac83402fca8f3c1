"""Keep native libraries' logging out of the terminal.

TensorFlow's C++ code, absl and the CUDA stubs write to file descriptor 2 directly ("oneDNN
custom operations are on", "failed call to cuInit"), whatever TF_CPP_MIN_LOG_LEVEL says, and
child processes (the evaluation process, batch workers) inherit that descriptor. The command
line therefore points descriptor 2 at a log file and gives Python's `sys.stderr` a copy of the
terminal: the grader's own messages still reach the user, the libraries' go to the log.
`--verbose` leaves descriptor 2 alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

MAX_LOG_BYTES = 20 * 1024 * 1024


def log_path() -> Path:
    from grader.datasets.registry import cache_root

    return cache_root() / "logs" / "native-stderr.log"


def divert_native_stderr(path: Path | None = None) -> Callable[[], None]:
    """Send descriptor 2 to `path` (default: `<cache>/logs/native-stderr.log`) and keep
    `sys.stderr` on the terminal; returns what undoes it. Nothing changes when `sys.stderr` is
    not the process's own (a test's capture, an embedding program) or the log cannot be opened."""
    if sys.stderr is not sys.__stderr__:
        return lambda: None
    path = path or log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_suffix(".log.1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return lambda: None
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        os.close(fd)
        return lambda: None
    os.dup2(fd, 2)
    os.close(fd)
    original = sys.stderr
    sys.stderr = open(
        terminal,
        "w",
        buffering=1,
        encoding="utf-8",  # noqa: SIM115 - kept open for the process's life, closed by undo()
        errors="backslashreplace",
    )

    def undo() -> None:
        sys.stderr.flush()
        os.dup2(terminal, 2)
        sys.stderr.close()  # closes `terminal`
        sys.stderr = original

    return undo
