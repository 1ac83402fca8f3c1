"""The warm judge: one long-lived evaluation process per grading process, Keras imported (on the
grading's backend: TensorFlow, JAX or PyTorch; grader.backends).

    judge.prestart()                      # as soon as a grading knows it will need one
    reply = judge.shared().ask(request, timeout=300)

A fresh `python -m grader.keras_support.evaluate` per submission spent most of its 4 s
importing TensorFlow (measured on ex05, smoke profile, 2 CPU cores). The judge imports it once,
while the notebook's kernel is still running, and then evaluates each saved model it is sent
exactly as that fresh process did (`evaluate._run`: the held-out images, `safe_mode=True`, no
custom objects, the memory cap around loading and the forward pass). It never runs student
code: it only opens `.keras` files the probe wrote, as the fresh process did.

Nothing of one submission can reach the next one's verdict:

- each request loads its model from its file, predicts, and drops it; Keras' global state
  (layer-name counters, the session) is cleared after every request;
- after any reply but "ok" (a model that could not be loaded or run, a memory cap hit) the
  process is replaced before the next request, and after `MAX_REQUESTS` in any case;
- a judge that dies or hangs on a request (a crafted file) is killed and replaced; that check
  is reported exactly as when the fresh process died or ran out of time.

The process is `python -m grader.keras_support.evaluate --serve` (`evaluate.serve`): one JSON
request per line on stdin, one `CNN_GRADER_EVAL {json}` line per request on stdout; it exits
when its stdin closes (the grading process is gone). Its stderr
(TensorFlow's chatter) goes to a log file, read back only to explain a death.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

MARKER = "CNN_GRADER_EVAL "
MAX_REQUESTS = 40  # then a fresh process: memory a long run accumulates goes with the old one


class JudgeDied(RuntimeError):
    """The process ended without answering (crashed, killed for memory)."""

    def __init__(self, code: int | None, tail: str) -> None:
        super().__init__(f"the evaluation process ended with code {code} without a result:\n{tail}")
        self.code = code
        self.tail = tail


class JudgeTimeout(RuntimeError):
    """No answer within the request's time; the process was killed."""


def judge_env() -> dict[str, str]:
    """The fresh evaluation process's environment, as before: CPU only, quiet TensorFlow, and
    the grading's Keras backend (grader.backends: TensorFlow unless KERAS_BACKEND says JAX or
    PyTorch), the one the kernel trained with."""
    from grader import backends

    backend = backends.current()
    env = dict(os.environ)
    env.update(
        {
            "CUDA_VISIBLE_DEVICES": "-1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0",
            **backends.child_env(backend),
        }
    )
    if backend == "jax":
        env["JAX_PLATFORMS"] = "cpu"  # not the CUDA plugin's failed start on a hidden GPU
    return env


class Judge:
    """One judge process (started on first use, or by `start()` ahead of it), replaced
    whenever it may no longer be the clean process a verdict needs."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._log: IO[bytes] | None = None
        self._served = 0
        self._lock = threading.Lock()
        self.started_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the process now if none is running (it imports TensorFlow in the background)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._discard()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "grader.keras_support.evaluate", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=judge_env(),
            bufsize=0,
            start_new_session=True,
        )
        self._served = 0
        self._buf = b""
        self.started_at = time.monotonic()
        return self._proc

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        with self._lock:
            self._discard()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _tail(self, lines: int = 5) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(max(0, self._log.seek(0, os.SEEK_END) - 4000))
            text = self._log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    # -- one request ---------------------------------------------------------------------
    def ask(self, request: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """The judge's reply to `request`; JudgeDied or JudgeTimeout (the process is then
        gone, and the next request gets a fresh one)."""
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write((json.dumps(request) + "\n").encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # it is dead: reading says how
            reply = self._read(proc, timeout)
            self._served += 1
            if reply.get("recycle") or self._served >= MAX_REQUESTS:
                self._discard()
            return reply

    def _read(self, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        """The next protocol line, read from the raw pipe (no buffer that `select` cannot see)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._buf:
                    line, self._buf = self._buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace")
                    if text.startswith(MARKER):
                        reply: dict[str, Any] = json.loads(text[len(MARKER) :])
                        return reply
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self._discard()
                    raise JudgeTimeout(f"no answer within {timeout:.0f}s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # EOF: it died
                    code = proc.wait()
                    tail = self._tail()
                    self._discard()
                    raise JudgeDied(code, tail)
                self._buf += chunk


_shared: Judge | None = None
_shared_lock = threading.Lock()


def shared() -> Judge:
    """This process's judge (a batch worker's, or one `cnn-grader grade`'s)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Judge()
            atexit.register(_shared.close)
        return _shared


def wanted_by(exercise: Any) -> bool:
    """Does grading `exercise` evaluate a trained model? (Its checks are then of the Keras
    check module, which is therefore loaded already: nothing is imported to find out.)"""
    checks = sys.modules.get("grader.keras_support.checks")
    if checks is None:
        return False
    kinds = tuple(
        k
        for k in (
            getattr(checks, "AccuracyCheck", None),
            getattr(checks, "AccuracyMeasurement", None),
        )
        if k is not None
    )
    return bool(kinds) and any(isinstance(c.fn, kinds) for c in exercise.checks)


def prestart() -> None:
    """Warm this process's judge ahead of the first evaluation (best effort)."""
    try:
        shared().start()
    except OSError:
        pass  # the evaluation then starts it, and reports what goes wrong
