"""The kernel-execution seam of grading: run a notebook, then the probe's cells, somewhere.

    class NotebookExecutor(Protocol):
        def run(self, request: ExecutionRequest) -> RunResult: ...

Grading hands one `ExecutionRequest` to an executor and reads the probe's files afterwards;
where and how the cells ran is the executor's business (httpx's `BaseTransport` is the model:
one method, one request object, one response). `NbclientExecutor` runs them in a fresh Jupyter
kernel (grader.execution.kernel); tests replay recorded evidence with their own
(tests/test_pipeline_replay.py). This module imports neither nbclient nor jupyter_client: the
real runner is loaded when it first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from grader.models import Limits

if TYPE_CHECKING:
    from grader.execution.kernel_types import ExtraCell, KernelGuard, RunResult


@dataclass(frozen=True)
class ExecutionRequest:
    """One notebook to run in `workdir`, then `extras` (the probe's cells); `before_extras()`
    runs in between (it writes the hidden inputs); `guard` sandboxes every kernel start."""

    nb: Any  # nbformat.NotebookNode
    workdir: Path
    limits: Limits
    env: Mapping[str, str]
    extras: Sequence[ExtraCell] = ()
    before_extras: Callable[[], None] | None = None
    launch_prefix: tuple[str, ...] = ()
    guard: KernelGuard | None = None
    # A kernel started ahead for this request (grader.execution.warm.WarmKernel), or None:
    # only the pool that handed it out can run it.
    warm: Any = None


class NotebookExecutor(Protocol):
    """Runs one request; never raises for anything the notebook does (a timeout, a dead
    kernel: fields of the result's `ExecutionSummary`)."""

    def run(self, request: ExecutionRequest) -> RunResult: ...


@runtime_checkable
class Prestarting(Protocol):
    """An executor that starts kernels ahead (grader.execution.warm.KernelPool): the pipeline
    claims one for a submission's spec, and gets None when none was started with exactly it."""

    def claim(self, spec: Any) -> Any: ...


class NbclientExecutor:
    """The real one: a fresh Jupyter kernel through nbclient, with grader.execution.kernel's
    recovery (an interrupted cell, a restarted kernel and the good cells replayed)."""

    def run(self, request: ExecutionRequest) -> RunResult:
        from grader.execution import kernel

        if request.warm is not None:
            raise ValueError("a warm kernel runs on the pool that started it")

        return kernel.run(
            request.nb,
            request.workdir,
            limits=request.limits,
            env=dict(request.env),
            launch_prefix=request.launch_prefix,
            extras=request.extras,
            before_extras=request.before_extras,
            guard=request.guard,
        )
