"""Grade a whole class: `cnn-grader batch SUBMISSIONS --out DIR`.

    from grader.batch import BatchOptions, run
    summary = run(BatchOptions(submissions=Path("submitted"), out=Path("graded")))

DIR then holds `gradebook.sqlite` (the resumable record of every grading), `students/<student>/
<exercise>.{html,json}` (what `grade` writes), `grades.csv` and `dashboard.html`. The package:

    discover   find submissions in nbgrader / per-student / flat layouts and zips (safezip)
    gradebook  SQLite, one committed row per finished submission; the cache of unchanged ones
    pool       worker processes, one submission each at a time; a crash fails only its task
    executor   the seam between planning and running (local processes, or Dask:
               dask_executor + dask_run on the driver, dask_worker + remote on the workers)
    worker     the code inside a worker: grade, write reports, answer with plain data
    progress   the live line on stderr
    plan       the options, the tasks to run, the gradebook row each becomes
    runner     the whole run, in order
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import ConfigurationError

if TYPE_CHECKING:
    from grader.batch.executor import BatchExecutor
    from grader.batch.plan import BatchOptions
    from grader.batch.runner import BatchSummary, run

__all__ = ["BatchOptions", "BatchSummary", "run", "run_batch"]

# The public names load on first use (PEP 562), as grader's own: importing one module of the
# package (the command line's grader.batch.lms, a worker's grader.batch.worker) loads neither
# the runner nor what it plans with (calibration, the pipeline).
_LAZY = {
    "BatchOptions": "grader.batch.plan",
    "BatchSummary": "grader.batch.runner",
    "run": "grader.batch.runner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:  # AttributeError lets `from grader.batch import <submodule>` import it
        raise AttributeError(f"module 'grader.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def executor_for(args: argparse.Namespace) -> BatchExecutor | None:
    """The executor the command line asks for (None: the local worker processes)."""
    from grader.batch.pool import default_workers
    from grader.batch.runner import default_training_workers

    kind = getattr(args, "executor", None) or "local"
    scheduler, scheduler_file = (
        getattr(args, "scheduler", None),
        getattr(args, "scheduler_file", None),
    )
    if getattr(args, "require_sandbox", False) and kind == "local":
        from grader.batch.remote import sandbox_gaps
        from grader.execution.sandbox import capabilities

        gaps = sandbox_gaps(capabilities())
        if gaps:
            raise ConfigurationError(
                "--require-sandbox: kernels cannot be fully isolated on "
                "this machine: " + "; ".join(gaps)
            )
    if kind != "dask":
        if scheduler or scheduler_file:
            raise ConfigurationError("--scheduler and --scheduler-file need --executor dask")
        return None
    from grader.batch.dask_executor import DaskExecutor, require_dask

    require_dask()  # before any work
    executor = DaskExecutor(
        workers=args.workers or default_workers(),
        address=scheduler,
        scheduler_file=scheduler_file,
        gpu_share=getattr(args, "gpu_share", None) or 1.0,
        training_workers=getattr(args, "training_workers", None) or default_training_workers(),
        require_sandbox=bool(getattr(args, "require_sandbox", False)),
    )
    return executor.connect() if scheduler or scheduler_file else executor


def run_batch(args: argparse.Namespace) -> int:
    """The CLI's `batch` command: 0 when every submission was graded (whatever the scores),
    1 when the grader failed on some (listed in the dashboard; a rerun retries them)."""
    from grader.batch import pool

    if (getattr(args, "executor", None) or "local") == "local":
        # The workers (and their zygotes) import while this process imports and plans; those
        # the batch does not need are stopped at its end.
        pool.start_early(args.workers or pool.default_workers())
    try:
        return _run_batch(args)
    finally:
        pool.stop_early()


def _run_batch(args: argparse.Namespace) -> int:
    from grader.batch.plan import BatchOptions
    from grader.batch.runner import run

    options = BatchOptions(
        submissions=Path(args.submissions),
        out=Path(args.out),
        exercise=args.exercise,
        profile=args.profile,
        seed=args.seed,
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.timeout,
        workers=args.workers,
        training_workers=getattr(args, "training_workers", None),
        force=args.force,
        similarity_threshold=getattr(args, "similarity_threshold", None) or 0.9,
        executor=executor_for(args),
        roster=Path(args.roster) if getattr(args, "roster", None) else None,
        term=Path(args.term) if getattr(args, "term", None) else None,
        only=tuple(getattr(args, "only", None) or ()),
    )
    summary = run(options)
    print(
        f"{summary.submissions} submissions: {summary.graded} graded, {summary.cached} "
        f"unchanged, {summary.failed} grader failures, {summary.problems} with problems, "
        f"{summary.similar_pairs} similar pairs"
    )
    for name, path in summary.outputs.items():
        print(f"  {name}: {path}")
    if summary.failed:
        print(
            "some submissions could not be graded (grader failures); run the same command "
            "again to retry them",
            file=sys.stderr,
        )
    return 1 if summary.failed else 0
