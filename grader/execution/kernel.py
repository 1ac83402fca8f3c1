"""Run a notebook, then extra grader cells, in a fresh Jupyter kernel via nbclient.

Every way a submission can misbehave (a raising cell, an endless loop, a kernel that dies or
ignores interrupts, a flood of output) becomes a field of the `ExecutionSummary`; nothing is
raised past this module. It knows nothing about points or checks: the probe layer hands it
extra cells to run after the notebook, and reads what they wrote to disk.

Recovery follows what a careful instructor would do by hand (grader.execution.kernel_session):
a cell that times out is interrupted and the rest still run; a cell that kills the kernel is
skipped, a new kernel is started and the cells that worked before it are replayed, so the work
defined before the crash is still graded. What a run takes and gives back is in
grader.execution.kernel_types.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from grader import timing
from grader.execution import kernel_env
from grader.execution.kernel_session import KernelSession
from grader.execution.kernel_types import ExtraCell, ExtraOutcome, KernelGuard, RunResult
from grader.models import ExecutionStatus, ExecutionSummary, Limits


async def run_async(
    nb: NotebookNode,
    workdir: Path,
    *,
    limits: Limits,
    extras: Sequence[ExtraCell] = (),
    env: dict[str, str] | None = None,
    launch_prefix: Sequence[str] = (),
    before_extras: Any = None,
    guard: KernelGuard | None = None,
    warm: Any = None,
    forker: Any = None,
) -> RunResult:
    """Execute `nb` in `workdir`, then `extras`. `before_extras()` runs in between (it writes the
    hidden inputs, which therefore do not exist while the student's own cells run). `guard`
    sandboxes every kernel start (limits, isolation) and says why it stopped one. `warm` is a
    kernel already started for this run, in `workdir` and under `guard` (grader.execution.warm);
    a restart starts a fresh one, as always. `forker` forks each kernel this run starts from a
    warm parent (grader.execution.forkserver) where that gives the same kernel."""
    t0 = time.monotonic()
    runner = KernelSession(
        nb,
        workdir,
        limits,
        env or kernel_env.default_kernel_env(),
        list(launch_prefix),
        guard,
        warm,
        forker,
    )
    cells_total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    status = ExecutionStatus.OK
    message = ""
    extra_outcomes: dict[str, ExtraOutcome] = {}
    deadline_hit = False
    try:
        with timing.span("kernel.start"):
            await runner.start()
    except Exception as exc:  # noqa: BLE001 - a kernel that cannot start is a fact, not a crash
        await runner.stop()
        summary = ExecutionSummary(
            status=ExecutionStatus.KERNEL_DIED,
            duration_s=round(time.monotonic() - t0, 3),
            cells_total=cells_total,
            message=f"the kernel could not start: {exc}",
        )
        return RunResult(summary, {e.key: ExtraOutcome(e.key, "not_run") for e in extras}, nb)
    try:
        try:
            with timing.span("notebook"):
                await asyncio.wait_for(runner.run_notebook(), timeout=limits.notebook_timeout)
        except asyncio.TimeoutError:
            deadline_hit = True
            message = f"the notebook did not finish within {limits.notebook_timeout:.0f}s"
            if not await runner.restart():
                pass
        if before_extras is not None:
            before_extras()
        if extras:
            budget = sum((e.timeout or limits.probe_timeout) for e in extras) + 60
            try:
                with timing.span("probe.calls"):
                    extra_outcomes = await asyncio.wait_for(
                        runner.run_extras(extras), timeout=budget
                    )
            except asyncio.TimeoutError:
                message = (message + "; " if message else "") + "grading calls ran out of time"
    finally:
        with timing.span("kernel.stop"):
            await runner.stop()
    for e in extras:
        extra_outcomes.setdefault(e.key, ExtraOutcome(e.key, "not_run"))
    if runner.wedged:
        message = (message + "; " if message else "") + (
            "the kernel stopped answering, and again after the cells that ran were replayed in "
            "a fresh kernel: a cell leaves it unable to run more code (replacing sys.stdout or "
            "sys.stderr does that, in Jupyter too); what came after was not run"
        )
    kinds = {p.kind for p in runner.problems}
    if deadline_hit or "timeout" in kinds or runner.wedged:
        status = ExecutionStatus.TIMEOUT
    if "kernel_died" in kinds:
        status = ExecutionStatus.KERNEL_DIED
    summary = ExecutionSummary(
        status=status,
        duration_s=round(time.monotonic() - t0, 3),
        cells_total=cells_total,
        cells_executed=runner.executed,
        problems=runner.problems,
        kernel_restarts=runner.restarts,
        output_truncated=runner.client.output_truncated,
        message=message,
        peak_memory_bytes=guard.peak_memory()
        if guard is not None and hasattr(guard, "peak_memory")
        else None,
    )
    return RunResult(summary, extra_outcomes, nb)


def run(nb: NotebookNode, workdir: Path, **kw: Any) -> RunResult:
    """Synchronous wrapper of `run_async` (one event loop per call)."""
    return asyncio.run(run_async(nb, workdir, **kw))
