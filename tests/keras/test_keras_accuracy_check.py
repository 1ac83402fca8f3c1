"""The accuracy check is a function of evidence and context: given a threshold settled before
grading (`Context.threshold`), it measures the model it was given and compares. It never starts
a grading, a calibration or a kernel, even with an empty calibration cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_helpers import keras

import grader.api
import grader.calibrate
import grader.pipeline
from grader.checks.core import Check, Context, Fail
from grader.checks.runner import run_check
from grader.datasets import registry
from grader.errors import ConfigurationError
from grader.execution import kernel
from grader.exercises.ex09_mnist import ACCURACY
from grader.keras_support.checks import AccuracyCheck, _shortfall
from grader.keras_support.spec import Threshold
from grader.probe.evidence import Evidence, KerasFile


@pytest.fixture
def no_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a check started a grading or a calibration")

    for owner, name in [
        (grader.api, "grade"),
        (grader.pipeline, "grade_exercise"),
        (grader.pipeline, "grade_notebook"),
        (grader.calibrate, "resolve"),
        (grader.calibrate, "threshold"),
        (grader.calibrate, "measure"),
        (grader.calibrate, "reference_accuracy"),
        (kernel, "run"),
    ]:
        monkeypatch.setattr(owner, name, refuse)


@pytest.fixture(scope="module")
def models(fake_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KerasFile]:
    """A small model before and after training on the fake MNIST (~0.1 and ~1.0 on its
    held-out half)."""
    with np.load(fake_mnist_dir / "mnist.npz") as f:
        x, y = (f["x_train"] / 255.0)[..., None].astype("float32"), f["y_train"]
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    folder = tmp_path_factory.mktemp("models")
    model.save(folder / "untrained.keras")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    model.save(folder / "trained.keras")
    return {name: KerasFile(folder / f"{name}.keras") for name in ("untrained", "trained")}


@pytest.fixture
def trained(models: dict[str, KerasFile]) -> KerasFile:
    return models["trained"]


@pytest.fixture
def fake_mnist(fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing cached


def context(threshold: Any = None, problem: str = "") -> Context:
    return Context(
        text="mnist_model",
        args=(),
        kwargs={},
        reference=None,
        call=None,
        profile="full",
        threshold=threshold,
        threshold_problem=problem,
    )


def course(value: float) -> Threshold:
    return Threshold(value, "full", "course", budget_text="the notebook's own budget")


@pytest.mark.usefixtures("no_grading", "fake_mnist")
def test_a_threshold_settled_ahead_is_all_the_check_needs(models: dict[str, KerasFile]) -> None:
    check = AccuracyCheck(ACCURACY)
    ctx = context(course(0.5))
    check(models["trained"], ctx)  # passes
    accuracy = ctx.extras["accuracy"]
    assert accuracy > 0.5 and ctx.extras["threshold"] == 0.5
    assert ctx.extras["threshold_text"].startswith(f"{accuracy:.3f} ≥ 0.500, the course threshold")
    ctx = context(course(0.5))
    with pytest.raises(Fail, match=r"it needs at least 0\.500"):
        check(models["untrained"], ctx)
    assert ctx.extras["accuracy"] < 0.5


@pytest.mark.usefixtures("no_grading", "fake_mnist")
def test_without_a_threshold_the_check_is_a_grader_error_not_a_calibration(
    trained: KerasFile,
) -> None:
    check = AccuracyCheck(ACCURACY)
    with pytest.raises(ConfigurationError, match="calibrating ex09_mnist: the solution failed"):
        check(trained, context(problem="calibrating ex09_mnist: the solution failed"))
    with pytest.raises(ConfigurationError, match="no accuracy threshold was settled"):
        check(trained, context())
    registered = Check("mnist_accuracy", 6, check, None, "accuracy", "", "")
    result = run_check(
        registered,
        Evidence(status="returned", value=trained),
        context(problem="calibrating ex09_mnist: the solution failed"),
    )
    assert result.status.value == "error" and result.score == 0
    assert result.message == (
        "grader configuration problem: calibrating ex09_mnist: the solution failed"
    )


def calibrated(value: float, reference: float) -> Threshold:
    return Threshold(
        value,
        "full",
        "reference",
        reference=reference,
        margin=0.03,
        budget_text="the notebook's own budget",
        course=0.9,
    )


@pytest.mark.usefixtures("no_grading", "fake_mnist")
def test_a_model_that_learned_is_not_asked_whether_it_was_trained(
    models: dict[str, KerasFile],
) -> None:
    """Only an accuracy near guessing suggests the model was never trained; a trained model
    below the line hears what the reference reaches, not a question about model.fit."""
    learned = _shortfall(0.85, calibrated(0.869, 0.899))
    assert "Was it trained" not in learned and "was it trained" not in learned
    assert "the reference solution reaches 0.899 under the same budget" in learned
    check = AccuracyCheck(ACCURACY)
    ctx = context(calibrated(0.5, 0.8))
    with pytest.raises(Fail, match="close to guessing: was it trained"):
        check(models["untrained"], ctx)
    assert ctx.extras["accuracy"] < 0.25


@pytest.mark.usefixtures("no_grading", "fake_mnist")
def test_a_threshold_above_the_reference_is_the_graders_problem(trained: KerasFile) -> None:
    """Never blame the student for the grader's calibration: a line the reference itself does
    not reach is a configuration error (status error, no points lost to the student's name)."""
    check = AccuracyCheck(ACCURACY)
    with pytest.raises(ConfigurationError, match="above what the reference solution reaches"):
        check(trained, context(calibrated(0.95, 0.9)))
