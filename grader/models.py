"""The result tree: plain data that every layer shares and no layer renders.

Statuses and points are decided in exactly two functions here (`status_of` and `points_for`),
so that "what happened" and "what it is worth" cannot drift apart across the code base.

The tree crosses process and machine boundaries (a batch's workers, the gradebook) as the
results file's document: `GradeResult.to_dict()` and `GradeResult.from_dict()` are each other's
inverse, field for field (tests/test_models_roundtrip.py), and the document carries
`schema_version` so that a reader refuses a document it does not know instead of guessing.
The class-level row (`ClassEntry`) is built from a `GradeResult`, never from JSON text.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")

# The results file's shape. Documents written before the version was recorded (old gradebook
# rows) have the shape of version 1 and no `schema_version`: they are read as version 1.
SCHEMA_VERSION = 1


# What went wrong in one cell of the student's notebook (CellProblem.kind).
ProblemKind = Literal["error", "timeout", "kernel_died", "skipped"]
# How a grader-written cell ended in the kernel (grader.execution.kernel.ExtraOutcome, read back
# by grader.probe.evidence): "not_run" when the kernel never ran it.
ExtraStatus = Literal["ok", "error", "timeout", "kernel_died", "not_run"]


class SchemaError(ValueError):
    """A results document this grader cannot read (another schema version, a missing field)."""


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


class BatchOutcome(str, enum.Enum):
    """How one submission of a batch ended: graded (its execution status), or one of the
    batch's own two ends. `GRADER_FAILURE` is not a check's `error`: the grader could not
    grade the submission at all (a worker died or hung), and the next run retries it."""

    OK = "ok"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    INVALID_NOTEBOOK = "invalid_notebook"
    GRADER_FAILURE = "grader_failure"
    UNKNOWN_EXERCISE = "unknown_exercise"

    @classmethod
    def of(cls, value: str) -> BatchOutcome:
        """A stored value; "error" is how gradebooks before schema 2 wrote a grader failure."""
        return cls.GRADER_FAILURE if value == "error" else cls(value)

    @property
    def graded(self) -> bool:
        return self not in (BatchOutcome.GRADER_FAILURE, BatchOutcome.UNKNOWN_EXERCISE)


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


@dataclass(frozen=True)
class Limits:
    """Time and size budgets for one submission. All are per submission, in seconds or bytes.

    memory, processes and disk are enforced by grader.execution.sandbox (cgroup, rlimits and a
    watchdog); the defaults leave TensorFlow room to train and the machine room to breathe.
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    probe_timeout: float = 20.0
    startup_timeout: float = 60.0
    max_output_bytes: int = 2_000_000
    max_restarts: int = 3
    max_traceback_chars: int = 4000
    memory_bytes: int = 6 * 2**30
    max_processes: int = 256
    disk_bytes: int = 2 * 2**30


@dataclass(frozen=True)
class Calibration:
    """What calibration settled for one exercise under one profile on one kind of machine,
    before grading (grader.calibrate): each accuracy check's threshold by check id, or why it
    has none (a configuration problem, reported as that check's grader error), and how long
    grading the reference solution took (the smoke profile's cell time limit follows it).
    Checks read it through their `Context`; they never compute it."""

    profile: str = ""
    machine: str = ""  # the kind of machine it was measured for (device, TensorFlow, Keras)
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    reference_seconds: float | None = None
    # The most memory grading the reference solution used (the need resources are checked
    # against before grading), when calibration measured it.
    reference_peak_bytes: int | None = None


@dataclass
class CellProblem:
    """Something that went wrong in one cell of the student's notebook."""

    cell_index: int  # position in the notebook's list of cells, from 0 (markdown included)
    kind: ProblemKind
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
    # The most memory the notebook's kernel used, as the sandbox measured it (None: unknown).
    peak_memory_bytes: int | None = None


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
    # The versions it was graded with (Python, NumPy, Keras and its backend where it trains).
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    def student_view(self) -> GradeResult:
        """The result as a student may read it: without what the integrity scan and the
        provenance judgement found, which is the instructor's (telling a student what was
        caught tells the next one what to hide)."""
        return replace(self, integrity=[])

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in CheckStatus}
        for c in self.checks:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of CONTRACT.md §3, plus extra fields for humans and tools:
        every field of the tree, the derived totals, and `schema_version`."""
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        data["counts"] = self.counts()
        data["execution"]["status"] = self.execution.status.value
        for c in data["checks"]:
            c["status"] = CheckStatus(c["status"]).value
        data["schema_version"] = SCHEMA_VERSION
        order = ["exercise", "title", "score", "max_score", "execution", "checks"]
        return {k: data[k] for k in order} | {k: v for k, v in data.items() if k not in order}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeResult:
        """The inverse of `to_dict` (derived totals are recomputed, not read). Raises
        SchemaError for a document of another schema version or a missing field."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a results document is a JSON object, not {type(data).__name__}")
        version = data.get("schema_version", 1)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise SchemaError(
                f"results document of schema version {version!r}: this grader reads version "
                f"{SCHEMA_VERSION} only (a document written by another grader version; grade "
                "the submission again)"
            )
        try:
            execution = dict(data["execution"])
            execution["status"] = ExecutionStatus(execution["status"])
            execution["problems"] = [_build(CellProblem, p) for p in execution.get("problems", [])]
            checks = [
                _build(CheckResult, {**c, "status": CheckStatus(c["status"])})
                for c in data["checks"]
            ]
            return _build(
                cls, {**data, "execution": _build(ExecutionSummary, execution), "checks": checks}
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"not a results document of schema version {SCHEMA_VERSION}: "
                f"{type(exc).__name__}: {exc}"
            ) from None


def _build(cls: type[_D], data: Mapping[str, Any]) -> _D:
    """`cls(**data)` with exactly the dataclass's fields: derived keys are left out, a missing
    required field raises TypeError."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


# -- the class-level row: a batch's gradebook row as the CSV and the dashboard see it ---------


@dataclass(frozen=True)
class CheckEntry:
    id: str
    status: CheckStatus
    score: float
    max_score: float
    title: str = ""
    message: str = ""
    # What a training check measured, for the dashboard: accuracy, threshold, reference, target
    figures: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CheckStatus(self.status))

    @classmethod
    def of(cls, check: CheckResult) -> CheckEntry:
        figures = {
            k: float(v)
            for k in ("accuracy", "threshold", "reference", "target")
            if isinstance(v := check.details.get(k), (int, float)) and not isinstance(v, bool)
        }
        return cls(
            id=check.id,
            status=check.status,
            score=check.score,
            max_score=check.max_score,
            title=check.title,
            message=check.message,
            figures=figures,
        )


@dataclass(frozen=True)
class ClassEntry:
    """One student's latest grading of one exercise. `exercise` is "" when no exercise matched
    the notebook; `status` is how the submission ended (a `BatchOutcome`)."""

    student: str
    exercise: str
    status: BatchOutcome
    score: float = 0.0
    max_score: float = 0.0
    checks: tuple[CheckEntry, ...] = field(default_factory=tuple)
    report: str | None = None  # the HTML report, relative to the output folder
    notebook: str = ""
    message: str = ""
    duration_s: float = 0.0
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BatchOutcome.of(self.status))

    @classmethod
    def of(
        cls,
        *,
        student: str,
        exercise: str,
        status: BatchOutcome,
        result: GradeResult | None,
        score: float = 0.0,
        max_score: float = 0.0,
        report: str | None = None,
        notebook: str = "",
        message: str = "",
        duration_s: float = 0.0,
    ) -> ClassEntry:
        """The row of one batch outcome; a graded one takes its numbers from `result`."""
        if result is None:
            return cls(
                student,
                exercise,
                status,
                score,
                max_score,
                report=report,
                notebook=notebook,
                message=message,
                duration_s=duration_s,
            )
        return cls(
            student,
            exercise,
            status,
            result.score,
            result.max_score,
            tuple(CheckEntry.of(c) for c in result.checks),
            report=report,
            notebook=notebook,
            message=message or result.execution.message,
            duration_s=duration_s,
            title=result.title,
        )
