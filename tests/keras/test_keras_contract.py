"""The contract of the Keras exercises under the smoke profile, on the small declared subset
(conftest.TEST_BUDGET): the reference solution gets full marks against a threshold calibrated
on this machine, the generated starter gets all not_attempted and no error.

ex05 and ex06 train the largest models; their solutions' full-marks runs are `slow` (their
architecture and callback checks run by default in test_keras_mutants.py). MNIST is not on CI
machines: ex09 runs against a learnable fake mnist.npz in a course folder whose solution reads
it without Keras' pinned hash, and once without any MNIST, where the accuracy check must be a
grader configuration error with a message that says what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import keras_helpers
import pytest

from grader import write_reports
from grader.exercises import get
from grader.keras_support import calibration
from grader.keras_support.checks import find_accuracy_specs

# The Keras exercises on Fashion-MNIST (what their Exercise says it loads), found by discovery.
FASHION_IDS = [e for e in keras_helpers.KERAS_IDS if get(e).datasets == ("fashion_mnist",)]
# Of those, the ones whose solution trains a CNN: minutes on a CPU, so behind `-m slow`.
SLOW_SOLUTIONS = {"ex05_cnn", "ex06_regularization"}
SOLUTIONS = [
    pytest.param(e, marks=pytest.mark.slow) if e in SLOW_SOLUTIONS else e for e in FASHION_IDS
]


def assert_full_marks(
    eid: str, result: helpers.GradeResult, tmp_path: Path, profile: str = "smoke"
) -> None:
    assert result.exercise == eid
    assert result.execution.status.value == "ok", helpers.describe(result)
    assert set(helpers.statuses(result).values()) == {"passed"}, helpers.describe(result)
    assert result.score == result.max_score == get(eid).max_score == 10
    if profile == "smoke":
        assert any("smoke profile" in n and "injected" in n for n in result.execution.notes)
    else:
        assert any(
            f"{profile} profile: the notebook trains with its own parameters" in n
            for n in result.execution.notes
        ), result.execution.notes
    for check in result.checks:
        if check.id.endswith("_architecture"):
            assert check.details["table"][0][1] == "expected layer"
    exercise = get(eid)
    for spec in find_accuracy_specs(exercise):
        check = helpers.by_id(result)[f"{spec.variable.split('_')[0]}_accuracy"]
        reference = calibration.cached(exercise, spec, profile)
        # The notebook ran twice (calibration, then grading): same seed, same accuracy.
        assert check.details["accuracy"] == reference
        text = check.details["threshold_text"]
        if profile == "smoke":
            assert text.startswith(
                f"{reference:.3f} ≥ {check.details['threshold']:.3f} = "
                f"reference {reference:.3f} − 0.03"
            )
            assert "smoke profile: 1 epoch on the first 3,000 training images" in text
        else:
            assert text.startswith(f"{reference:.3f} ≥ {check.details['threshold']:.3f} = ")
            assert f"{profile} profile: the notebook's own budget" in text, text
    html = write_reports(result, tmp_path, eid)["html"].read_text(encoding="utf-8")
    if find_accuracy_specs(exercise):
        assert "reference" in html and "≥" in html


@pytest.mark.usefixtures("needs_fashion_mnist")
@pytest.mark.parametrize("eid", SOLUTIONS)
def test_solution_gets_full_marks(eid: str, tmp_path: Path) -> None:
    assert_full_marks(eid, helpers.grade_nb(helpers.solution_path(eid)), tmp_path)


def assert_all_not_attempted(eid: str, result: helpers.GradeResult) -> None:
    assert result.exercise == eid
    assert [c.id for c in result.checks] == [c.id for c in get(eid).checks]
    assert set(helpers.statuses(result).values()) == {"not_attempted"}, helpers.describe(result)
    assert result.score == 0 and result.execution.status.value == "ok"
    assert all(c.message for c in result.checks)


@pytest.mark.usefixtures("needs_fashion_mnist")
@pytest.mark.parametrize("eid", FASHION_IDS)
def test_starter_is_all_not_attempted(eid: str) -> None:
    assert_all_not_attempted(eid, helpers.grade_nb(helpers.starter_path(eid)))


@pytest.fixture
def fake_mnist_course(
    tmp_path: Path, fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    course = keras_helpers.mnist_course(tmp_path / "course")
    monkeypatch.setenv("CNN_GRADER_COURSE_DIR", str(course))
    monkeypatch.setenv("CNN_GRADER_DATASETS", str(fake_mnist_dir))
    return course


def test_mnist_solution_gets_full_marks_on_a_fake_mnist(
    fake_mnist_course: Path, tmp_path: Path
) -> None:
    result = helpers.grade_nb(fake_mnist_course / "solutions" / "ex09_mnist.ipynb")
    assert_full_marks("ex09_mnist", result, tmp_path)


def test_the_full_profile_judges_against_the_reference_under_the_notebooks_budget(
    fake_mnist_course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`full` on a small MNIST (3,000 images: the notebook's 5 epochs take seconds): the
    reference is calibrated under the notebook's own budget, the solution gets full marks, and
    the threshold line names the budget and the course target."""
    monkeypatch.setenv("CNN_GRADER_PROFILE", "full")
    result = helpers.grade_nb(fake_mnist_course / "solutions" / "ex09_mnist.ipynb", profile="full")
    assert_full_marks("ex09_mnist", result, tmp_path, profile="full")
    details = helpers.by_id(result)["mnist_accuracy"].details
    # The fake digits are easy: the reference clears the course target, shown beside it.
    assert details["threshold"] == min(0.98, round(details["accuracy"] - 0.03, 4))
    assert "(course target 0.98; full profile" in details["threshold_text"], details


def test_mnist_starter_is_all_not_attempted(fake_mnist_course: Path) -> None:
    assert_all_not_attempted(
        "ex09_mnist", helpers.grade_nb(fake_mnist_course / "exercises" / "ex09_mnist.ipynb")
    )


def test_without_mnist_the_accuracy_check_is_a_grader_error_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    result = helpers.grade_nb(helpers.solution_path("ex09_mnist"))
    status = helpers.statuses(result)
    assert status == {
        "mnist_architecture": "passed",
        "mnist_compile": "passed",
        "mnist_accuracy": "error",
    }, helpers.describe(result)
    message = helpers.by_id(result)["mnist_accuracy"].message
    assert message.startswith(
        "grader configuration problem: the MNIST dataset is not "
        "available on this machine: put mnist.npz in "
    )
    assert "CNN_GRADER_DATASETS" in message and "Traceback" not in message
    assert any("MNIST dataset is not available" in n for n in result.execution.notes)
    doc = json.loads(write_reports(result, tmp_path, "ex09")["json"].read_text())
    assert doc["score"] == 4 and doc["max_score"] == 10
