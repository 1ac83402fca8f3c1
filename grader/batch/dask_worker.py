"""The grader's side of a Dask worker: a plugin that prepares each worker process once, and
the function every job runs through. Imported only where Dask is installed (the executor
imports it when a batch runs on Dask; workers unpickle it by name).

Each job announces its start on the topic `START_TOPIC` (worker address, pid, the future's
key): the driver counts attempts from these (a task that was only queued on a worker that died
was not tried) and starts a job's deadline when it really starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker

from grader.batch.remote import (
    Job,
    Reply,
    ThreadLog,
    WorkerSpec,
    WorkerState,
    grade_job,
    prepare_worker,
)

PLUGIN_NAME = "cnn-grader"
START_TOPIC = "cnn-grader-start"


class GraderSetup(WorkerPlugin):
    """Sent once to every worker (those that join later too): installs the course, checks the
    grader, probes the sandbox and sets the kernels' threads (grader.batch.remote)."""

    name = PLUGIN_NAME

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.state: WorkerState | None = None

    async def setup(self, worker: Any) -> None:
        scratch = Path(getattr(worker, "local_directory", None) or os.getcwd())
        nthreads = int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1)
        loop = asyncio.get_running_loop()  # the probes take a second: not on the event loop
        self.state = await loop.run_in_executor(
            None, lambda: prepare_worker(self.spec, scratch=scratch, nthreads=nthreads)
        )


def _state(worker: Any = None) -> WorkerState | None:
    plugin = (worker or get_worker()).plugins.get(PLUGIN_NAME)
    return getattr(plugin, "state", None)


def worker_status(dask_worker: Any = None) -> dict[str, Any]:
    """For the driver's preflight (Client.run passes `dask_worker`): may this worker grade,
    and how isolated are its kernels."""
    import socket

    state = _state(dask_worker)
    if state is None:
        return {
            "ok": False,
            "problems": ["the cnn-grader plugin did not set this worker up"],
            "sandbox": "",
            "host": socket.gethostname(),
            "kernel_threads": 0,
        }
    problems = list(state.problems)
    if state.spec.require_sandbox and state.gaps:
        problems.append("the sandbox is required and lacks: " + "; ".join(state.gaps))
    return {
        "ok": state.ok,
        "problems": problems,
        "sandbox": state.sandbox,
        "host": socket.gethostname(),
        "kernel_threads": state.kernel_threads,
    }


def run_job(handler: Callable[[Job], Reply] | None, job: Job) -> Reply:
    """What each submitted future runs: announce, check this worker, grade (`handler`, the
    seam the tests use; default `grade_job`); a grader failure is a reply, never raised."""
    t0 = time.monotonic()
    worker = get_worker()
    worker.log_event(
        START_TOPIC,
        {"key": job.token, "worker": worker.address, "pid": os.getpid(), "task": job.task.key},
    )
    state = _state()
    why = state.refusal(job) if state is not None else "the cnn-grader plugin is not set up here"
    if why:
        return Reply("refused", f"worker {worker.address}: {why}")
    log = ThreadLog()
    root = logging.getLogger()
    root.addHandler(log)
    try:
        reply = (handler or grade_job)(job)
    except BaseException:  # noqa: BLE001 - any failure here is the grader's, reported as such
        reply = Reply("failed", traceback.format_exc(limit=8)[-4000:])
    finally:
        root.removeHandler(log)
    where = f"graded on {worker.address} (pid {os.getpid()})"
    tail = f"{where}\n{log.tail()}".strip()
    if reply.kind == "failed":
        return Reply("failed", f"{reply.payload}\n{tail}", log=tail, wall_s=time.monotonic() - t0)
    return Reply(
        reply.kind,
        reply.payload,
        html=reply.html,
        log=tail,
        wall_s=reply.wall_s or time.monotonic() - t0,
    )


async def stop_worker(dask_worker: Any = None) -> None:
    """Run by the driver (Client.run, in the worker's event loop, which a hung grading does
    not block; a coroutine, so that the driver need not wait) on a worker whose grading
    outlived its deadline: a thread cannot be stopped, so the process ends, its kernels
    first; its nanny, if it has one, starts a fresh one."""
    from grader.batch.worker import kill_tree

    kill_tree(os.getpid(), include_root=False)
    os._exit(75)
