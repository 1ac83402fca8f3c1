"""One `DaskExecutor.run` (grader.batch.dask_executor): the window of futures in flight on the
cluster, and their bookkeeping.

Tasks are submitted as the window allows (trainings limited where workers declare no GPU);
each job announces its start, so an attempt is counted only when a task really started: a task
that was merely queued on a worker that died is resubmitted without blame (up to
MAX_UNSTARTED times), one that started twice without an answer is a grader failure, never a
zero. A task past its deadline is cancelled and its worker restarted, which ends its kernels.
The reports of a grading are written here, where the gradebook is.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.batch.pool import MAX_ATTEMPTS, Finished
from grader.batch.remote import Job, Reply, WorkerSpec
from grader.batch.worker import Task

if TYPE_CHECKING:
    from grader.batch.dask_executor import DaskExecutor

MAX_UNSTARTED = 3  # resubmissions of a task that a lost worker held but never started
POLL_S = 0.05


@dataclass
class Flight:
    """One task's future on the cluster, and what its start announcements said."""

    task: Task
    future: Any
    submitted: float
    started: float | None = None
    worker: str = ""
    starts: int = 0


class DaskRun:
    """One `DaskExecutor.run`: the window of futures in flight and their bookkeeping."""

    def __init__(
        self,
        ex: DaskExecutor,
        client: Any,
        distributed: Any,
        pending: deque[Task],
        workers: list[str] | None,
        gpus: bool,
        spec: WorkerSpec,
        deadline_s: Callable[[Task], float],
        on_finish: Callable[[Finished], None],
        on_retry: Callable[[Task, str], None] | None,
        started: queue.SimpleQueue[dict[str, Any]],
    ) -> None:
        from grader.batch import dask_worker

        self.ex, self.client, self.distributed = ex, client, distributed
        self.pending, self.workers, self.gpus = pending, workers, gpus
        self.deadline_s, self.on_finish, self.on_retry = deadline_s, on_finish, on_retry
        self.started = started
        self.flights: dict[str, Flight] = {}
        self.unstarted: dict[int, int] = {}
        # with_results: a result is fetched as soon as it exists, not left on a worker
        # that may die before it is read
        self.done = distributed.as_completed(
            loop=client.loop, with_results=True, raise_errors=False
        )
        self.run_job, self.stop_worker = dask_worker.run_job, dask_worker.stop_worker
        self.spec = spec
        self.limit = max(1, ex.window * max(1, ex.workers))

    def fill(self) -> None:
        training = sum(1 for f in self.flights.values() if f.task.training)
        while self.pending and len(self.flights) < self.limit:
            task = next(
                (
                    t
                    for t in self.pending
                    if not t.training or self.gpus or training < max(1, self.ex.training_workers)
                ),
                None,
            )
            if task is None:
                return
            self.pending.remove(task)
            self._submit(task)
            training += task.training

    def _submit(self, task: Task) -> None:
        token = f"cnn-grader-{task.key}-{task.attempt}-{uuid.uuid4().hex[:8]}"
        try:
            notebook = Path(task.path).read_bytes()
        except OSError as exc:  # the file went away since discovery: its grading fails
            self.on_finish(Finished(task, "failed", f"cannot read {task.path}: {exc}", 0.0))
            return
        job = Job(
            task,
            notebook,
            Path(task.path).name,
            self.spec.grader_version,
            self.spec.fingerprint,
            self.spec.course.identity,
            token=token,
        )
        kw: dict[str, Any] = {"key": token, "pure": False, "retries": 0}
        if task.training and self.gpus:
            kw["resources"] = {"GPU": self.ex.gpu_share}
        if self.workers is not None:
            kw.update(workers=self.workers, allow_other_workers=False)
        future = self.client.submit(self.run_job, self.ex.handler, job, **kw)
        self.flights[token] = Flight(task, future, time.monotonic())
        self.done.add(future)

    def collect(self) -> bool:
        """Handle whatever finished; False when nothing had."""
        if not self.done.has_ready():
            return False
        self._drain_starts()
        for future, result in self.done.next_batch(block=False):
            flight = self.flights.pop(future.key, None)
            if flight is not None:  # else cancelled here (deadline), and handled then
                self._ended(flight, future, result)
            future.release()
        return True

    def wait(self) -> None:
        """Until something finishes, or POLL_S."""
        cond = getattr(self.done, "thread_condition", None)
        if cond is None:
            time.sleep(POLL_S)
            return
        with cond:
            if not self.done.has_ready():
                cond.wait(timeout=POLL_S)

    def _ended(self, flight: Flight, future: Any, result: Any) -> None:
        task = replace(flight.task, attempt=flight.task.attempt + max(0, flight.starts - 1))
        wall = time.monotonic() - (flight.started or flight.submitted)
        if isinstance(result, Reply):
            reply = result
            if reply.kind == "ok":
                try:
                    _write_reports(task, reply.payload, reply.html)
                except OSError as exc:
                    return self._attempt_failed(task, f"cannot write the reports: {exc}", wall)
                return self.on_finish(Finished(task, "ok", reply.payload, reply.wall_s or wall))
            if reply.kind == "unknown":
                return self.on_finish(Finished(task, "unknown", reply.payload, wall))
            return self._attempt_failed(task, reply.payload, wall)
        error = result[1] if isinstance(result, tuple) and len(result) == 3 else result
        lost = isinstance(error, self.distributed.KilledWorker)
        if lost:
            why = (
                f"the Dask worker grading this notebook died ({flight.worker or 'worker'} was lost)"
            )
        else:
            why = f"the Dask task ended with {future.status}: {error!r}"
        if lost and flight.starts == 0:
            # it was only queued on the lost worker: not an attempt
            n = self.unstarted.get(task.key, 0) + 1
            self.unstarted[task.key] = n
            if n <= MAX_UNSTARTED:
                self.pending.appendleft(flight.task)
                return None
        return self._attempt_failed(task, why, wall)

    def _attempt_failed(self, task: Task, why: str, wall: float) -> None:
        if task.attempt < MAX_ATTEMPTS:
            if self.on_retry is not None:
                self.on_retry(task, why)
            self.pending.appendleft(replace(task, attempt=task.attempt + 1))
            return
        self.on_finish(Finished(task, "failed", why, wall))

    def _drain_starts(self) -> None:
        while True:
            try:
                msg = self.started.get_nowait()
            except queue.Empty:
                return
            flight = self.flights.get(str(msg.get("key")))
            if flight is None:
                continue
            flight.starts += 1
            flight.started = time.monotonic()
            flight.worker = str(msg.get("worker", ""))
            if flight.starts > 1:  # Dask ran it again after its worker was lost
                attempt = flight.task.attempt + flight.starts - 1
                if attempt > MAX_ATTEMPTS:
                    flight.starts -= 1  # this run is not counted: it is stopped
                    self._stop(
                        flight,
                        f"the Dask workers grading this notebook were lost {MAX_ATTEMPTS} times",
                        restart=False,
                        retry=False,
                    )
                elif self.on_retry is not None:
                    self.on_retry(
                        replace(flight.task, attempt=attempt - 1), "its Dask worker was lost"
                    )

    def watch(self) -> None:
        """Start announcements in; tasks past their deadline stopped (their worker restarted,
        which ends its kernels) and counted as a failed attempt."""
        self._drain_starts()
        now = time.monotonic()
        for flight in list(self.flights.values()):
            if flight.started is not None and now - flight.started > self.deadline_s(flight.task):
                self._stop(
                    flight,
                    f"grading took longer than {self.deadline_s(flight.task):.0f} "
                    "s and was stopped",
                )

    def _stop(self, flight: Flight, why: str, *, restart: bool = True, retry: bool = True) -> None:
        self.flights.pop(flight.future.key, None)
        flight.future.cancel()
        if restart and flight.worker:
            try:  # a thread cannot be stopped: its worker process is, with its kernels (its
                # nanny starts another; a worker without one is gone)
                self.client.run(self.stop_worker, workers=[flight.worker], wait=False)
            except Exception:  # noqa: BLE001 - gone already
                pass
        task = replace(flight.task, attempt=flight.task.attempt + max(0, flight.starts - 1))
        wall = time.monotonic() - (flight.started or flight.submitted)
        if retry:
            self._attempt_failed(task, why, wall)
        else:
            self.on_finish(Finished(task, "failed", why, wall))


def _write_reports(task: Task, payload: str, html: str) -> None:
    """The student's and the instructor's reports, rendered here from the results document
    and written as the local workers write them (grader.batch.worker.write_both_views). A reply
    whose payload is no results document (a stand-in worker's) is written as it came, with
    its own page."""
    from grader.batch.worker import write_both_views
    from grader.models import GradeResult, SchemaError

    report_dir = Path(task.report_dir)
    try:
        result = GradeResult.from_dict(json.loads(payload))
    except (ValueError, SchemaError):
        report_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=report_dir, prefix=".partial-"))
        try:
            for kind, text in (("json", payload), ("html", html)):
                path = scratch / f"{task.report_stem}.{kind}"
                path.write_text(text, encoding="utf-8")
                os.replace(path, report_dir / path.name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    write_both_views(result, report_dir, task.report_stem)
