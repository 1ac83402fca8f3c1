"""Where a batch's gradings run: the seam between planning a batch and executing it.

The runner plans tasks (one per submission), hands them to an executor, and commits each
`Finished` as it arrives. An executor decides where gradings run and how failures of the
machinery (a worker that dies or hangs) are retried; grades, timeouts and dead kernels are
results, never its business. Implementations:

    LocalExecutor   worker processes on this machine (grader.batch.pool)
    DaskExecutor    the workers of a Dask distributed cluster (grader.batch.dask_executor;
                    CONTRACT.md §5)

Tests add their own (e.g. one that replays recorded results).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from grader.batch.pool import Finished, Handler, run_tasks
from grader.batch.worker import Task, grade_task


class BatchExecutor(Protocol):
    """Runs tasks; calls `on_finish` in the caller's process as each one ends (exactly once
    per task), `on_retry` when one is tried again, `on_poll` now and then (progress)."""

    workers: int

    def run(
        self,
        tasks: Iterable[Task],
        *,
        deadline_s: Callable[[Task], float],
        on_finish: Callable[[Finished], None],
        on_retry: Callable[[Task, str], None] | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> None: ...


@dataclass
class LocalExecutor:
    """Worker processes on this machine: `workers` at once, `training_workers` of them on
    exercises that train."""

    workers: int
    training_workers: int
    context: str = "spawn"
    handler: Handler = grade_task

    def run(
        self,
        tasks: Iterable[Task],
        *,
        deadline_s: Callable[[Task], float],
        on_finish: Callable[[Finished], None],
        on_retry: Callable[[Task, str], None] | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        try:
            run_tasks(
                tasks,
                workers=self.workers,
                training_workers=self.training_workers,
                deadline_s=deadline_s,
                on_finish=on_finish,
                on_retry=on_retry,
                on_poll=on_poll,
                context=self.context,
                handler=self.handler,
            )
        finally:
            sweep_cgroups()


def sweep_cgroups() -> None:
    """The cgroups of kernels whose worker was killed mid-grading (kill -9, the OOM killer, a
    deadline) and so never removed them: removed, with anything still running in them."""
    try:
        from grader.execution.sandbox import cgroups

        cgroups.sweep_orphans()
    except Exception:  # noqa: BLE001 - cleaning up is best effort
        pass
