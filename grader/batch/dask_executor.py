"""The workers of a Dask distributed cluster as a batch's executor (CONTRACT.md §5).

    executor = DaskExecutor(workers=8)                         # a LocalCluster of this machine
    executor = DaskExecutor(address="tcp://sched:8786").connect()   # an existing scheduler
    batch.run(BatchOptions(..., executor=executor))

A task travels as its notebook's bytes with what decides its grade (exercise, seed, profile,
limits); the grader version and the course (a bundle's bytes, or a shared course folder) reach
each worker once, by a worker plugin (grader.batch.dask_worker) that also probes the sandbox
there. Results come back as data and the reports are written here, where the gradebook is.

What a lost worker means: Dask reschedules the tasks that were on it, or (when its
`allowed-failures` are spent) raises KilledWorker. Either way the attempt is counted here from
the jobs' own start announcements, so that a task that was merely queued on the dead worker is
not blamed: a task that started twice without an answer is a grader failure, never a zero. The
local cluster is started with `allowed-failures` 0, which leaves every retry to this module.
Dask is imported only when a batch runs on it (`pip install 'cnn-grader[cluster]'`).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.batch.executor import sweep_cgroups
from grader.batch.pool import MAX_ATTEMPTS, Finished
from grader.batch.remote import Job, Reply, WorkerSpec
from grader.batch.worker import Task
from grader.errors import ConfigurationError

MAX_UNSTARTED = 3  # resubmissions of a task that a lost worker held but never started
POLL_S = 0.05


def require_dask() -> Any:
    """The `distributed` module, or the configuration error (exit 2) that says what to install."""
    try:
        import distributed
    except ImportError:
        raise ConfigurationError(
            "--executor dask needs Dask distributed: pip install 'cnn-grader[cluster]'"
        ) from None
    return distributed


@dataclass
class _Flight:
    task: Task
    future: Any
    submitted: float
    started: float | None = None
    worker: str = ""
    starts: int = 0


@dataclass
class DaskExecutor:
    """Grades on Dask workers. With neither `address` nor `scheduler_file`, on a LocalCluster
    of `workers` single-threaded worker processes; else on that scheduler's workers (`workers`
    becomes their thread count at `connect`). `gpu_share` is what a training task asks of the
    `GPU` resource where workers declare one; elsewhere at most `training_workers` trainings
    are in flight at once. `window` tasks per worker thread are in flight (the rest wait here).
    """

    workers: int = 1
    address: str | None = None
    scheduler_file: str | None = None
    gpu_share: float = 1.0
    training_workers: int = 1
    require_sandbox: bool = False
    window: int = 2
    connect_timeout: float = 30.0
    worker_timeout: float = 600.0  # for a first worker to join (a batch queue may be slow)
    handler: Callable[[Job], Reply] | None = None  # runs on the workers; None: grade_job
    note: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr))
    _client: Any = field(default=None, repr=False)
    _cluster: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.gpu_share <= 1:
            raise ConfigurationError(f"--gpu-share must be in (0, 1], not {self.gpu_share}")
        if self.address and self.scheduler_file:
            raise ConfigurationError("give --scheduler or --scheduler-file, not both")

    # -- the cluster ------------------------------------------------------------------------
    def connect(self) -> DaskExecutor:
        """Connect to the named scheduler now (a wrong address fails before any work)."""
        distributed = require_dask()
        if self._client is None:
            try:
                self._client = distributed.Client(
                    address=self.address,
                    scheduler_file=self.scheduler_file,
                    timeout=self.connect_timeout,
                    set_as_default=False,
                )
            except (OSError, TimeoutError, ValueError) as exc:
                where = self.address or self.scheduler_file
                raise ConfigurationError(
                    f"cannot reach the Dask scheduler {where}: {exc}"
                ) from None
            try:  # the workers it has now (more may join: they are used too)
                self._client.wait_for_workers(1, timeout=self.connect_timeout)
            except (OSError, TimeoutError):
                pass
            self.workers = max(1, self._threads())
        return self

    def _start_local(self, n: int) -> Any:
        import dask

        distributed = require_dask()
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self._cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit=0,
                dashboard_address=":0",
                silence_logs=50,
            )  # retries are said here, once
        self._client = distributed.Client(self._cluster, set_as_default=False)
        return self._client

    def _threads(self, only: set[str] | None = None) -> int:
        info = self._client.scheduler_info(n_workers=-1)["workers"]
        return sum(int(w.get("nthreads", 1)) for a, w in info.items() if only is None or a in only)

    def _has_gpus(self, only: list[str] | None) -> bool:
        info = self._client.scheduler_info(n_workers=-1)["workers"]
        return any(
            float((w.get("resources") or {}).get("GPU", 0)) > 0
            for a, w in info.items()
            if only is None or a in only
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
            sweep_cgroups()  # of kernels whose worker was killed, on this machine

    def _prepare(self, n_tasks: int) -> tuple[list[str] | None, WorkerSpec]:
        """Start or reach the cluster, set its workers up, and keep those that may grade
        (None: all of them, including any that join later)."""
        from grader.batch import dask_worker, remote

        local = not (self.address or self.scheduler_file)
        if local and self._client is None:
            self._start_local(max(1, min(self.workers, n_tasks)))
        elif self._client is None:
            self.connect()
        client = self._client
        try:
            client.wait_for_workers(1, timeout=self.worker_timeout)
        except (OSError, TimeoutError):
            raise ConfigurationError(
                f"no Dask worker joined within {self.worker_timeout:.0f} s"
            ) from None
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:
            cpus = os.cpu_count() or 1
        threads = max(1, cpus // max(1, self._threads())) if local else None
        spec = remote.driver_spec(require_sandbox=self.require_sandbox, kernel_threads=threads)
        client.register_plugin(dask_worker.GraderSetup(spec), name=dask_worker.PLUGIN_NAME)
        status = client.run(dask_worker.worker_status, on_error="return")
        good, refused = _sorted_workers(status)
        for line in sorted(
            {f"workers on {status[a].get('host')}: {status[a].get('sandbox')}" for a in good}
        ):
            self.note(line)
        for addr, why in sorted(refused.items()):
            self.note(f"worker {addr} will not grade: {why}")
        if not good:
            raise ConfigurationError(
                "no Dask worker can grade this batch: "
                + " | ".join(f"{a}: {w}" for a, w in sorted(refused.items()))
            )
        self.workers = self._threads(good)
        return (sorted(good) if refused else None), spec

    # -- running ------------------------------------------------------------------------
    def run(
        self,
        tasks: Iterable[Task],
        *,
        deadline_s: Callable[[Task], float],
        on_finish: Callable[[Finished], None],
        on_retry: Callable[[Task, str], None] | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        pending = deque(tasks)
        if not pending:
            return
        distributed = require_dask()
        from grader.batch import dask_worker

        started: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        try:
            workers, spec = self._prepare(len(pending))
            client = self._client
            client.subscribe_topic(dask_worker.START_TOPIC, lambda ev: started.put(ev[1]))
            run = _Run(
                self,
                client,
                distributed,
                pending,
                workers,
                self._has_gpus(workers),
                spec,
                deadline_s,
                on_finish,
                on_retry,
                started,
            )
            while pending or run.flights:
                run.fill()
                if not run.collect():
                    run.watch()
                    if on_poll is not None:
                        on_poll()
                    run.wait()
        finally:
            if self._client is not None:
                try:
                    self._client.unsubscribe_topic(dask_worker.START_TOPIC)
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
            self.close()


class _Run:
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
        self.flights: dict[str, _Flight] = {}
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
        self.flights[token] = _Flight(task, future, time.monotonic())
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

    def _ended(self, flight: _Flight, future: Any, result: Any) -> None:
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

    def _stop(self, flight: _Flight, why: str, *, restart: bool = True, retry: bool = True) -> None:
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


def _sorted_workers(status: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """The workers that may grade, and why each other one may not (its preflight answer, or
    the error it gave instead)."""
    good = {a for a, s in status.items() if isinstance(s, dict) and s.get("ok")}
    refused = {
        a: "; ".join(str(p) for p in s.get("problems", ())) if isinstance(s, dict) else repr(s)
        for a, s in status.items()
        if a not in good
    }
    return good, refused


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
