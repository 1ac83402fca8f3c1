"""Drivers: grader code that uses student callbacks and returns data; the verdict is the grader's.

The drivers run here in-process against small namespaces (the reference solution, or a
student's buggy class), exactly as they run in a kernel; then the ex06 checks judge the data.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from keras_helpers import keras

from grader.checks.calls import Call, Driver
from grader.checks.core import Context, Fail
from grader.checks.reference import load_reference
from grader.exercises import ex06_regularization as ex06
from grader.exercises import get


def namespace(**names: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**names)


def ctx(call: Call) -> Context:
    return Context(
        text=call.describe(), args=call.args, kwargs=call.kwargs, reference=None, call=call
    )


@pytest.fixture(scope="module")
def reference() -> types.ModuleType:
    return load_reference(get("ex06_regularization").solution_path)


def drive_threshold(cls: Any) -> Any:
    return ex06.THRESHOLD_DRIVER.run(namespace(AccuracyThreshold=cls), *ex06.THRESHOLD_CALL.args)


def test_reference_callback_stops_where_the_contract_says(reference: types.ModuleType) -> None:
    got = drive_threshold(reference.AccuracyThreshold)
    assert got == [s["stop"] for s in ex06.SCENARIOS] == [3, None, 2, 1]
    ex06.accuracy_threshold(got, ctx(ex06.THRESHOLD_CALL))  # passes


def student_callbacks() -> dict[str, Any]:
    """Three wrong AccuracyThreshold classes, made when a test needs them (Keras is imported
    lazily, so that collecting the tests does not import TensorFlow)."""

    class NeverStops(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        def __init__(self, target: float) -> None:
            super().__init__()
            self.target = target

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            pass

    class StrictlyAbove(NeverStops):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs["accuracy"] > self.target:
                self.model.stop_training = True

    class WatchesValidation(NeverStops):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs["val_accuracy"] >= self.target:
                self.model.stop_training = True

    return {
        "NeverStops": NeverStops,
        "StrictlyAbove": StrictlyAbove,
        "WatchesValidation": WatchesValidation,
    }


def test_a_callback_that_never_stops_fails_with_the_epochs() -> None:
    got = drive_threshold(student_callbacks()["NeverStops"])
    assert got == [None] * len(ex06.SCENARIOS)
    context = ctx(ex06.THRESHOLD_CALL)
    with pytest.raises(Fail) as info:
        ex06.accuracy_threshold(got, context)
    assert (
        "AccuracyThreshold(0.9) with training accuracy 0.62, 0.81, 0.93, 0.95 per epoch: "
        "expected stopped after epoch 3, it ran all 4 epochs"
    ) in str(info.value)
    assert context.extras["table"][1][4] == {"text": "all 4 epochs", "status": "bad"}


@pytest.mark.parametrize("cls, wrong", [("StrictlyAbove", 2), ("WatchesValidation", 1)])
def test_off_by_one_and_wrong_metric_are_caught(cls: str, wrong: int) -> None:
    got = drive_threshold(student_callbacks()[cls])
    assert got[wrong] != ex06.SCENARIOS[wrong]["stop"]
    with pytest.raises(Fail, match=f"AccuracyThreshold\\({ex06.SCENARIOS[wrong]['target']:g}\\)"):
        ex06.accuracy_threshold(got, ctx(ex06.THRESHOLD_CALL))


def test_make_callbacks_data_and_verdict(reference: types.ModuleType) -> None:
    call = ex06.MAKE_CALL
    good = ex06.MAKE_DRIVER.run(reference, *call.args)
    assert [i["class"] for i in good["items"]] == ["EarlyStopping", "ModelCheckpoint"]
    ex06.make_callbacks_settings(good, ctx(call))

    def sloppy(path: str) -> list[Any]:
        return [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=5),
            keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True),
        ]

    bad = ex06.MAKE_DRIVER.run(namespace(make_callbacks=sloppy), *call.args)
    with pytest.raises(Fail) as info:
        ex06.make_callbacks_settings(bad, ctx(call))
    text = str(info.value)
    assert "EarlyStopping: patience is 5, expected 3" in text
    assert "EarlyStopping: restore_best_weights is False, expected True" in text
    assert (
        "ModelCheckpoint: filepath is 'best.keras', expected 'grader_checkpoint.keras' "
        "(use the checkpoint_path argument)"
    ) in text


def test_driver_calls_are_keyed_and_labelled_apart_from_plain_calls() -> None:
    driver = Driver("drive_x", "def drive_x(need, a):\n    return need('f')(a) + 1\n")
    a = Call.driver(driver, "f", 1)
    assert a.kind == "driver" and a.key() != Call("f", 1).key()
    assert a.describe() == "f(1)"
    assert a.labelled("f, as the grader uses it").describe() == "f, as the grader uses it"
    assert driver.run(namespace(f=lambda x: x * 10), 2) == 21
    with pytest.raises(NameError, match="'f' is not defined"):
        driver.run(namespace(), 2)
