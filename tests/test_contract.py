"""The contract of every exercise: the reference solution gets full marks, the generated starter
gets nothing and no grader error, and the results file has the fields CONTRACT.md §3 fixes.

The NumPy exercises are covered here, found by discovery (`helpers.NUMPY_EXERCISES`: every
exercise module whose Exercise does not need TensorFlow); the Keras ones, which train, in
tests/keras. An exercise is a notebook pair and one module: the pairing is pinned here too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import helpers
import pytest

from grader import GradeResult, write_reports
from grader.course import exercises_dir, solutions_dir
from grader.exercises import ID_PATTERN, available, get

CONTRACT_IDS = list(helpers.NUMPY_EXERCISES)

CHECK_STATUSES = {"passed", "failed", "not_attempted", "error", "timeout"}
EXECUTION_STATUSES = {"ok", "timeout", "kernel_died", "invalid_notebook"}

Graded = Callable[[str, str], tuple[GradeResult, Path]]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """Each exercise's solution and starter, graded once for the module, with their JSON file."""
    cache: dict[tuple[str, str], tuple[GradeResult, Path]] = {}
    out = tmp_path_factory.mktemp("contract")

    def get_one(eid: str, kind: str) -> tuple[GradeResult, Path]:
        if (eid, kind) not in cache:
            path = helpers.solution_path(eid) if kind == "solution" else helpers.starter_path(eid)
            result = helpers.grade_nb(path)
            paths = write_reports(result, out / kind, eid)
            cache[eid, kind] = result, paths["json"]
        return cache[eid, kind]

    return get_one


def test_contract_ids_are_registered_exercises() -> None:
    assert set(CONTRACT_IDS) <= set(available())
    assert "ex10_conv_backward" in CONTRACT_IDS  # found by discovery, never listed


def test_every_exercise_is_a_notebook_pair_and_a_module() -> None:
    """What is discovered is what the course folders hold: each module's solution and starter
    exist, and each solution notebook has its module."""
    solutions = {p.stem for p in solutions_dir().glob("ex*.ipynb") if ID_PATTERN.fullmatch(p.stem)}
    starters = {p.stem for p in exercises_dir().glob("ex*.ipynb") if ID_PATTERN.fullmatch(p.stem)}
    assert set(available()) == solutions, sorted(set(available()) ^ solutions)
    assert starters == solutions, sorted(starters ^ solutions)
    for eid in available():
        assert get(eid).id == eid


@pytest.mark.parametrize("eid", CONTRACT_IDS)
def test_solution_gets_full_marks(graded: Graded, eid: str) -> None:
    result, _ = graded(eid, "solution")
    assert result.exercise == eid
    assert result.execution.status.value == "ok", helpers.describe(result)
    assert set(helpers.statuses(result).values()) == {"passed"}, helpers.describe(result)
    assert result.score == result.max_score == get(eid).max_score > 0


@pytest.mark.parametrize("eid", CONTRACT_IDS)
def test_starter_is_all_not_attempted(graded: Graded, eid: str) -> None:
    result, _ = graded(eid, "starter")
    assert result.exercise == eid
    assert [c.id for c in result.checks] == [c.id for c in get(eid).checks]
    assert set(helpers.statuses(result).values()) == {"not_attempted"}, helpers.describe(result)
    assert result.score == 0
    # The stubs raise NotImplementedError in their cells; that is not a broken notebook.
    assert result.execution.status.value == "ok"
    for check in result.checks:
        assert check.message, check.id  # the student is told why there are no points


@pytest.mark.parametrize("kind", ["solution", "starter"])
@pytest.mark.parametrize("eid", CONTRACT_IDS)
def test_results_file_has_the_contract_fields(graded: Graded, eid: str, kind: str) -> None:
    result, json_path = graded(eid, kind)
    doc = json.loads(json_path.read_text(encoding="utf-8"))

    assert doc["exercise"] == eid
    assert isinstance(doc["score"], (int, float)) and isinstance(doc["max_score"], (int, float))
    assert doc["max_score"] == get(eid).max_score
    assert 0 <= doc["score"] <= doc["max_score"]

    execution = doc["execution"]
    assert execution["status"] in EXECUTION_STATUSES
    assert isinstance(execution["duration_s"], (int, float)) and execution["duration_s"] >= 0

    checks = doc["checks"]
    assert [c["id"] for c in checks] == [c.id for c in get(eid).checks]
    for c in checks:
        assert {"id", "status", "score", "max_score", "message"} <= set(c), c
        assert c["status"] in CHECK_STATUSES
        assert isinstance(c["message"], str)
        assert 0 <= c["score"] <= c["max_score"]
        assert c["score"] == (c["max_score"] if c["status"] == "passed" else 0)
    assert math.isclose(doc["score"], sum(c["score"] for c in checks), abs_tol=1e-9)
    assert math.isclose(doc["max_score"], sum(c["max_score"] for c in checks), abs_tol=1e-9)
    expected = result.max_score if kind == "solution" else 0
    assert doc["score"] == expected
