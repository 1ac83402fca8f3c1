"""A pool of worker processes in which one failure stays one failure.

`concurrent.futures.ProcessPoolExecutor` marks the whole pool broken when any worker dies, which
would fail every submission in flight because of one. Here each worker has its own pipe and the
parent watches each worker's pipe and process handle: a worker that dies (or outlives its
deadline and is killed) fails only its own task, which is retried once; the
others go on. Exercises that train get their own, smaller limit, since one TensorFlow training
already takes every core (or the GPU's memory).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from typing import Any, Literal

from grader.batch.worker import Task, grade_task, kill_tree, numpy_zygote, worker_main

MAX_ATTEMPTS = 2
Handler = Callable[[Task], tuple[str, str]]
# How a task ended, before the runner turns it into a gradebook row (a `BatchOutcome`).
TaskEnd = Literal["ok", "unknown", "failed"]


@dataclass(frozen=True)
class Finished:
    """How one task ended: "ok" (payload: the results document, `GradeResult.to_dict()` as
    JSON), "unknown" (no such exercise) or "failed" (payload: what went wrong in the grader,
    after the last attempt)."""

    task: Task
    kind: TaskEnd
    payload: str
    wall_s: float


def task_end(kind: str) -> TaskEnd:
    """A handler's word for how a task ended; anything but "ok" and "unknown" is a failure."""
    if kind == "ok":
        return "ok"
    return "unknown" if kind == "unknown" else "failed"


class _Worker:
    def __init__(self, ctx: Any, handler: Handler, zygote: str | None = None) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=worker_main,
            args=(child, os.getpid(), handler, zygote),
            daemon=True,
            name="cnn-grader-worker",
        )
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.started = 0.0
        self.deadline = 0.0

    def give(self, task: Task, deadline_s: float) -> None:
        self.task, self.started = task, time.monotonic()
        self.deadline = self.started + deadline_s
        self.conn.send(task)

    def collect(self) -> tuple[str, str] | None:
        """The reply if there is one; ("failed", why) if the worker is gone; None if still busy."""
        try:
            if self.conn.poll():
                kind, payload = self.conn.recv()
                return str(kind), str(payload)
        except (EOFError, OSError):
            pass
        if self.proc.is_alive():
            return None
        self.proc.join(1)
        code = self.proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return "failed", f"the grading worker process died ({how}) while grading this notebook"

    def kill(self) -> None:
        if self.proc.pid is not None:
            kill_tree(self.proc.pid)
        self.proc.join(5)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.kill()
        self.conn.close()


# Workers started before the batch has its tasks (`start_early`), and the zygote they share:
# their imports and its overlap the parent's own imports and planning. run_tasks takes them
# first; `stop_early` stops what it did not take, and the zygote.
_early: list[_Worker] = []
_early_context = ""
_zygote: Any = None


def default_workers() -> int:
    """Kernels are mostly single-threaded: one worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def start_early(workers: int, context: str = "spawn") -> None:
    """Start `workers` grading workers now, for the next run_tasks of this process, and one
    zygote for all of their NumPy kernels (where kernels are forked: grader.batch.worker)."""
    global _early_context, _zygote
    ctx = mp.get_context(context)
    _early_context = context
    _zygote = shared_zygote()
    path = str(_zygote.path) if _zygote is not None else None
    _early.extend(_Worker(ctx, grade_task, path) for _ in range(workers))


def shared_zygote() -> Any:
    """A zygote for the workers' NumPy kernels, listening for them (one import of ipykernel,
    NumPy and matplotlib for the batch, not one per worker); None where kernels are not forked
    or cannot be (each worker then starts its own, or none)."""
    found = numpy_zygote(listen=True)
    return found[0] if found is not None else None


def stop_early() -> None:
    """Stop the early workers no run_tasks took (a batch with less to grade, or none), and
    the zygote (the workers' kernels are all stopped by then)."""
    global _zygote
    while _early:
        _early.pop().stop()
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def run_tasks(
    tasks: Iterable[Task],
    *,
    workers: int,
    training_workers: int,
    deadline_s: Callable[[Task], float],
    on_finish: Callable[[Finished], None],
    on_retry: Callable[[Task, str], None] | None = None,
    on_poll: Callable[[], None] | None = None,
    context: str = "spawn",
    handler: Handler = grade_task,
) -> None:
    """Grade every task on at most `workers` processes (at most `training_workers` of them on
    exercises that train), calling `on_finish` in this process as each one ends.

    Tasks start in the order given; put the long ones first. `on_finish` runs between polls, so
    the caller can commit each result before the next one is awaited. `handler` runs in the
    workers (it must be importable by name there); the default grades and writes reports.
    """
    ctx = mp.get_context(context)
    pending = deque(tasks)
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    workers = max(1, workers)
    training_workers = max(1, min(training_workers, workers))
    try:
        while pending or busy:
            _fill(
                pending,
                idle,
                busy,
                lambda: (
                    _early.pop()
                    if _early and handler is grade_task and context == _early_context
                    else _Worker(ctx, handler)
                ),
                workers,
                training_workers,
                deadline_s,
            )
            now = time.monotonic()
            timeout = max(0.05, min([w.deadline - now for w in busy] + [1.0]))
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout)
            if on_poll is not None:
                on_poll()
            for w in list(busy):
                task = w.task
                assert task is not None
                reply = w.collect()
                if reply is None and time.monotonic() > w.deadline:
                    w.kill()
                    reply = (
                        "failed",
                        f"grading took longer than {deadline_s(task):.0f} s "
                        "and its worker was stopped",
                    )
                if reply is None:
                    continue
                busy.remove(w)
                wall, w.task = time.monotonic() - w.started, None
                if w.proc.is_alive():
                    idle.append(w)
                else:
                    w.conn.close()
                kind, payload = reply
                if kind == "failed" and task.attempt < MAX_ATTEMPTS:
                    if on_retry is not None:
                        on_retry(task, payload)
                    pending.appendleft(replace(task, attempt=task.attempt + 1))
                    continue
                on_finish(Finished(task, task_end(kind), payload, wall))
    finally:
        for w in idle + busy:
            if w.task is not None:
                w.kill()
            w.stop()


def _fill(
    pending: deque[Task],
    idle: list[_Worker],
    busy: list[_Worker],
    new: Callable[[], _Worker],
    workers: int,
    training_workers: int,
    deadline_s: Callable[[Task], float],
) -> None:
    training_busy = sum(1 for w in busy if w.task is not None and w.task.training)
    while pending and len(busy) < workers:
        task = next(
            (t for t in pending if not t.training or training_busy < training_workers), None
        )
        if task is None:
            return
        pending.remove(task)
        worker = idle.pop() if idle else new()
        try:
            worker.give(task, deadline_s(task))
        except (OSError, ValueError):  # it died while idle: a fresh one takes the task
            worker.kill()
            worker = new()
            worker.give(task, deadline_s(task))
        busy.append(worker)
        training_busy += task.training
