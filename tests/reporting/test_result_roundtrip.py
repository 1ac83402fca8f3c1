"""One result model across process and machine boundaries: `GradeResult.to_dict` and
`GradeResult.from_dict` are each other's inverse, through JSON text too, field for field; a
document of another schema version is refused, not guessed at."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from grader.models import (
    SCHEMA_VERSION,
    BatchOutcome,
    CellProblem,
    CheckResult,
    CheckStatus,
    ClassEntry,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
    SchemaError,
)
from grader.reporting import to_json


def every_field_set(make_result: Callable[..., GradeResult]) -> GradeResult:
    """The sample with every field away from its default, integrity findings included."""
    result = make_result(
        integrity=["imports grader.api", "reads solutions/"],
        notes=["smoke profile: EPOCHS=1 injected"],
    )
    result.execution.notes = ["no network"]
    result.execution.message = "cell 4 raised"
    result.execution.kernel_restarts = 1
    result.execution.peak_memory_bytes = 612 * 2**20
    result.environment = {"python": "3.11.7", "numpy": "2.1.0"}
    result.checks[0].duration_s = 1.25
    result.checks[0].message, result.checks[0].hint = "passed on retry", "see the hint"
    result.checks[0].details = {
        "accuracy": 0.873,
        "threshold": 0.86,
        "notes": ["a", "b"],
        "nested": {"rows": [[1, "x", None, True]]},
    }
    return result


def _fields(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_round_trip_through_json_is_lossless(make_result: Callable[..., GradeResult]) -> None:
    result = every_field_set(make_result)
    for cls, sample in (
        (GradeResult, result),
        (ExecutionSummary, result.execution),
        (CheckResult, result.checks[0]),
        (CellProblem, result.execution.problems[0]),
    ):
        unset = {f.name for f in dataclasses.fields(cls) if getattr(sample, f.name) == _default(f)}
        assert not unset, f"{cls.__name__}: the sample leaves {unset} at their defaults"
    again = GradeResult.from_dict(json.loads(to_json(result)))
    assert again == result
    assert again.to_dict() == result.to_dict()


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return object()  # a required field is never "at its default"


def test_statuses_come_back_as_enums(make_result: Callable[..., GradeResult]) -> None:
    again = GradeResult.from_dict(make_result().to_dict())
    assert isinstance(again.execution.status, ExecutionStatus)
    assert all(isinstance(c.status, CheckStatus) for c in again.checks)
    assert {c.status for c in again.checks} == set(CheckStatus)


def test_the_document_carries_its_schema_version(make_result: Callable[..., GradeResult]) -> None:
    doc = make_result().to_dict()
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert list(doc)[:6] == ["exercise", "title", "score", "max_score", "execution", "checks"]
    assert set(doc) == _fields(GradeResult) | {"score", "max_score", "counts", "schema_version"}


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_an_unknown_schema_version_is_refused_with_a_clear_error(
    make_result: Callable[..., GradeResult], version: Any
) -> None:
    doc = make_result().to_dict() | {"schema_version": version}
    with pytest.raises(
        SchemaError,
        match=rf"schema version {version!r}: this grader reads "
        rf"version {SCHEMA_VERSION} only",
    ):
        GradeResult.from_dict(doc)


def test_a_document_from_before_the_version_reads_as_version_1(
    make_result: Callable[..., GradeResult],
) -> None:
    """Gradebook rows written before `schema_version` existed have the same shape."""
    result = make_result()
    doc = result.to_dict()
    del doc["schema_version"]
    assert GradeResult.from_dict(doc) == result


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("checks"),
        lambda d: d["execution"].update(status="exploded"),
        lambda d: d["checks"][0].update(status="passed!"),
        lambda d: d["checks"][0].pop("id"),
        lambda d: d.update(execution=[]),
        lambda d: d["execution"].update(problems=[["not", "a", "problem"]]),
        lambda d: d.update(checks=[3]),
    ],
)
def test_a_broken_document_is_a_schema_error(
    make_result: Callable[..., GradeResult], damage: Callable[[dict[str, Any]], Any]
) -> None:
    doc = json.loads(to_json(make_result()))
    damage(doc)
    with pytest.raises(SchemaError):
        GradeResult.from_dict(doc)


def test_derived_totals_are_recomputed_not_read(make_result: Callable[..., GradeResult]) -> None:
    doc = make_result().to_dict() | {"score": 99.0, "counts": {}}
    again = GradeResult.from_dict(doc)
    assert again.score == make_result().score != 99.0


def test_the_class_row_is_built_from_the_result(make_result: Callable[..., GradeResult]) -> None:
    result = make_result()
    row = ClassEntry.of(
        student="amy",
        exercise=result.exercise,
        status=BatchOutcome.OK,
        result=result,
        report="students/amy/ex01.html",
        notebook="amy.ipynb",
    )
    assert (row.score, row.max_score, row.title) == (result.score, result.max_score, result.title)
    assert [(c.id, c.status, c.score) for c in row.checks] == [
        (c.id, c.status, c.score) for c in result.checks
    ]
    assert row.message == result.execution.message
    failed = ClassEntry.of(
        student="bo",
        exercise="ex01_convolution",
        result=None,
        status=BatchOutcome.GRADER_FAILURE,
        max_score=10.0,
        message="died",
    )
    assert (failed.checks, failed.score, failed.max_score) == ((), 0.0, 10.0)


def test_a_grader_failure_is_not_a_check_error() -> None:
    assert BatchOutcome.GRADER_FAILURE.value not in {s.value for s in CheckStatus}
    assert BatchOutcome.of("error") is BatchOutcome.GRADER_FAILURE  # schema-1 gradebooks
    assert {o.value for o in BatchOutcome if o.graded} == {s.value for s in ExecutionStatus}
