"""The result tree: plain data that every layer shares and no layer renders.

Statuses and points are decided in exactly two functions here (`status_of` and `points_for`),
so that "what happened" and "what it is worth" cannot drift apart across the code base.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class ExecutionStatus(str, enum.Enum):
    OK = "ok"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    INVALID_NOTEBOOK = "invalid_notebook"


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"
    ERROR = "error"
    TIMEOUT = "timeout"


class Outcome(str, enum.Enum):
    """How a check function ended, before it is turned into a status."""

    RETURNED = "returned"
    FAIL = "fail"
    NOT_ATTEMPTED = "not_attempted"
    TIMEOUT = "timeout"
    CRASH = "crash"  # anything else: a grader bug


def status_of(outcome: Outcome) -> CheckStatus:
    """The one mapping from how a check ended to the status a student sees."""
    return {
        Outcome.RETURNED: CheckStatus.PASSED,
        Outcome.FAIL: CheckStatus.FAILED,
        Outcome.NOT_ATTEMPTED: CheckStatus.NOT_ATTEMPTED,
        Outcome.TIMEOUT: CheckStatus.TIMEOUT,
        Outcome.CRASH: CheckStatus.ERROR,
    }[outcome]


def points_for(status: CheckStatus, max_points: float) -> float:
    """The one mapping from a status to points: all or nothing per check."""
    return float(max_points) if status is CheckStatus.PASSED else 0.0


@dataclass
class CellProblem:
    """Something that went wrong in one cell of the student's notebook."""

    cell_index: int  # position in the notebook's list of cells, from 0 (markdown included)
    kind: str  # "error" | "timeout" | "kernel_died" | "skipped"
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    source_head: str = ""
    # The number the student sees in Jupyter (code cells [1], [2], … after Restart & Run All;
    # grader.execution.cells): what every report calls "cell N".
    cell: int = 0


@dataclass
class ExecutionSummary:
    status: ExecutionStatus
    duration_s: float
    cells_total: int = 0
    cells_executed: int = 0
    problems: list[CellProblem] = field(default_factory=list)
    kernel_restarts: int = 0
    output_truncated: bool = False
    message: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    id: str
    status: CheckStatus
    score: float
    max_score: float
    message: str = ""
    title: str = ""
    hint: str = ""
    call: str = ""
    group: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # seconds this check cost: its grading call in the kernel (timed by the grader, not
    # reported by the kernel) plus judging it here (e.g. evaluating a trained model)
    duration_s: float = 0.0


@dataclass
class GradeResult:
    exercise: str
    title: str
    notebook: str
    seed: int
    profile: str
    execution: ExecutionSummary
    checks: list[CheckResult]
    grader_version: str
    graded_at: str
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    # For the instructor, never scored: what grader.integrity found in the code (imports of
    # the grader, paths to the solutions, tampering with the probe).
    integrity: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in CheckStatus}
        for c in self.checks:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of CONTRACT.md §3, plus extra fields for humans and tools."""
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        data["counts"] = self.counts()
        data["execution"]["status"] = self.execution.status.value
        for c in data["checks"]:
            c["status"] = c["status"].value if isinstance(c["status"], enum.Enum) else c["status"]
        order = ["exercise", "title", "score", "max_score", "execution", "checks"]
        return {k: data[k] for k in order} | {k: v for k, v in data.items() if k not in order}
