"""The results file is the contract with outside tools (CONTRACT.md §3): pin its fields and
types."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import grader.reporting
from grader.models import CheckStatus, ExecutionStatus, GradeResult
from grader.reporting import to_json, write_reports

CHECK_STATUSES = {s.value for s in CheckStatus}
EXECUTION_STATUSES = {"ok", "timeout", "kernel_died", "invalid_notebook"}


def test_public_surface_is_small() -> None:
    assert sorted(grader.reporting.__all__) == ["render_html", "to_json", "write_reports"]


def test_json_is_exactly_the_result_dict(make_result: Callable[..., GradeResult]) -> None:
    result = make_result()
    text = to_json(result)
    assert json.loads(text) == result.to_dict()
    assert text.startswith('{\n  "exercise"'), "indented, with the contract fields first"


def test_contract_fields_and_types(make_result: Callable[..., GradeResult]) -> None:
    doc = json.loads(to_json(make_result()))

    assert doc["exercise"] == "ex01_convolution"
    assert isinstance(doc["score"], float) and isinstance(doc["max_score"], float)
    assert doc["execution"]["status"] in EXECUTION_STATUSES
    assert isinstance(doc["execution"]["duration_s"], float)
    assert doc["checks"], "the sample has checks"
    for c in doc["checks"]:
        assert isinstance(c["id"], str) and c["id"]
        assert c["status"] in CHECK_STATUSES
        assert isinstance(c["score"], float) and isinstance(c["max_score"], float)
        assert 0.0 <= c["score"] <= c["max_score"]
        assert isinstance(c["message"], str)
    assert doc["score"] == pytest.approx(sum(c["score"] for c in doc["checks"]))
    assert doc["max_score"] == pytest.approx(sum(c["max_score"] for c in doc["checks"]))
    assert 0.0 <= doc["score"] <= doc["max_score"]
    assert {c["status"] for c in doc["checks"]} == CHECK_STATUSES, "sample covers every status"


@pytest.mark.parametrize("status", list(ExecutionStatus))
def test_every_execution_status_is_written_as_its_value(
    make_result: Callable[..., GradeResult], status: ExecutionStatus
) -> None:
    result = make_result()
    result.execution.status = status
    assert json.loads(to_json(result))["execution"]["status"] == status.value


def test_numpy_values_in_details_become_plain_json(
    make_result: Callable[..., GradeResult], make_check: Callable[..., object]
) -> None:
    check = make_check(
        "shape",
        CheckStatus.FAILED,
        details={"got_shape": np.array([3, 3]), "max_abs_diff": np.float32(0.5), "n": np.int64(2)},
    )
    doc = json.loads(to_json(make_result(checks=[check])))
    assert doc["checks"][0]["details"] == {"got_shape": [3, 3], "max_abs_diff": 0.5, "n": 2}


def test_unserialisable_details_are_a_loud_bug(
    make_result: Callable[..., GradeResult], make_check: Callable[..., object]
) -> None:
    check = make_check("odd", CheckStatus.PASSED, details={"thing": object()})
    with pytest.raises(TypeError, match="results file"):
        to_json(make_result(checks=[check]))


def test_write_reports_writes_both_files_named_after_the_stem(
    make_result: Callable[..., GradeResult], tmp_path: Path
) -> None:
    result = make_result()
    out = tmp_path / "reports" / "nested"
    paths = write_reports(result, out, "alice_ex01")

    assert paths == {"json": out / "alice_ex01.json", "html": out / "alice_ex01.html"}
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == result.to_dict()
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_reports_accepts_a_string_directory(
    make_result: Callable[..., GradeResult], tmp_path: Path
) -> None:
    paths = write_reports(make_result(), str(tmp_path), "sub")
    assert all(p.parent == tmp_path and p.exists() for p in paths.values())
