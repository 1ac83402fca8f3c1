"""What a kernel run (grader.execution.kernel) takes and gives back: the grader's extra cells,
what became of each, the run's result, and the guard a sandbox puts around each kernel start.

Plain data and a protocol: importing it loads neither nbclient nor jupyter_client, so the
probe's planning and the execution seam name these types without the kernel machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from nbformat import NotebookNode

from grader.models import ExecutionSummary, ExtraStatus

# How one cell ended in the kernel (an extra cell's ExtraOutcome adds "not_run").
CellStatus = Literal["ok", "error", "timeout", "kernel_died"]

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager


@dataclass
class ExtraCell:
    """A grader-written cell to run after the notebook (probe code)."""

    key: str
    source: str
    timeout: float | None = None
    setup: bool = False  # re-run after every kernel restart, before the next extra cell
    # The student name this cell calls: once one call of it times out, its other calls are
    # reported as timed out without waiting each (a function that hangs on grader inputs
    # would otherwise cost one timeout per check).
    calls: str = ""
    # Cells that may run joined into one (sources one after another, each one statement that
    # raises nothing of its own), and the file each writes: a joined cell that does not end
    # well has those files removed and its cells run again one by one.
    joinable: bool = False
    output: Path | None = None


@dataclass
class ExtraOutcome:
    key: str
    status: ExtraStatus
    ename: str = ""
    evalue: str = ""
    duration_s: float = 0.0
    skipped_after: str = ""  # "timeout" without running: the name whose earlier call hung


@dataclass
class RunResult:
    summary: ExecutionSummary
    extras: dict[str, ExtraOutcome] = field(default_factory=dict)
    notebook: NotebookNode | None = None


class KernelGuard(Protocol):
    """What a sandbox does around each kernel start (grader.execution.sandbox.Sandbox)."""

    def configure(self, km: AsyncKernelManager) -> None:
        """Before the start: transport, connection file, launch prefix."""

    def started(self, pid: int | None) -> None:
        """The kernel answers: watch it."""

    def stopped(self) -> None:
        """The kernel was shut down: nothing it started may outlive it."""

    def verdict(self, *, said: bool = True) -> tuple[str, str] | None:
        """(ename, message) when the guard itself stopped the kernel (over a limit), taken (the
        next one is the next stop's); `said` False: not in the guard's notes (a stop that the
        call which caused it repeats alone)."""

    def check_now(self) -> bool:
        """Between two cells: one synchronous look at the limits; True when the kernel was
        over one and has been stopped (its `verdict()` then says why)."""
