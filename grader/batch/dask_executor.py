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
not blamed: a task that started twice without an answer is a grader failure, never a zero
(grader.batch.dask_run keeps that count for one run). The local cluster is started with
`allowed-failures` 0, which leaves every retry to the grader.
Dask is imported only when a batch runs on it (`pip install 'cnn-grader[cluster]'`).
"""

from __future__ import annotations

import os
import queue
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from grader.batch.dask_run import DaskRun
from grader.batch.executor import sweep_cgroups
from grader.batch.pool import Finished
from grader.batch.remote import Job, Reply, WorkerSpec
from grader.batch.worker import Task
from grader.errors import ConfigurationError


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
            run = DaskRun(
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
