"""Wrong Keras submissions, graded through the whole pipeline, fail the right check with the
right words (and nothing becomes a grader error).

Architecture mutants use only the solution's definitions (no data, no training), so each costs
one kernel start. The ex04 ones are the full notebook with one cell changed, since they are
about what training leaves behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import keras_helpers
import pytest

from grader import GradeResult
from grader.keras_support import untrusted

CNN_BODY = """def build_cnn():
    model = keras.Sequential([
{layers}
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""
COURSE = [
    "keras.Input(shape=(28, 28, 1))",
    'keras.layers.Conv2D(64, 3, activation="relu")',
    "keras.layers.MaxPooling2D(2)",
    'keras.layers.Conv2D(64, 3, activation="relu")',
    "keras.layers.MaxPooling2D(2)",
    "keras.layers.Flatten()",
    'keras.layers.Dense(128, activation="relu")',
    'keras.layers.Dense(10, activation="softmax")',
]


def build_cnn(layers: list[str]) -> str:
    return CNN_BODY.format(layers="\n".join(f"        {x}," for x in layers))


ARCH_MUTANTS = {
    "extra_dense": (
        COURSE[:7] + ['keras.layers.Dense(64, activation="relu")'] + COURSE[7:],
        "extra Dense(64, relu) before the output layer (Dense(10, softmax))",
    ),
    "missing_pooling": (COURSE[:4] + COURSE[5:], "missing MaxPooling2D(2) after Conv2D #2"),
    "wrong_padding": (
        [COURSE[0], 'keras.layers.Conv2D(64, 3, activation="relu", padding="same")', *COURSE[2:]],
        "Conv2D #1: padding is 'same', expected 'valid'",
    ),
    "wrong_activation": (
        COURSE[:6] + ['keras.layers.Dense(128, activation="sigmoid")'] + COURSE[7:],
        "Dense #1: activation is 'sigmoid', expected 'relu'",
    ),
}


def failed(result: GradeResult) -> dict[str, str]:
    return {c.id: c.message for c in result.checks if c.status.value == "failed"}


@pytest.mark.parametrize("name", list(ARCH_MUTANTS))
def test_wrong_architecture_fails_with_the_diff(make_notebook, name: str) -> None:  # type: ignore[no-untyped-def]
    layers, diff = ARCH_MUTANTS[name]
    path = make_notebook(
        [helpers.solution_definitions("ex05_cnn"), build_cnn(layers)], exercise="ex05_cnn"
    )
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert status["cnn_architecture"] == "failed", helpers.describe(result)
    assert diff in failed(result)["cnn_architecture"]
    assert status["cnn_compile"] == "passed"
    assert status["cnn_accuracy"] == "not_attempted"  # no cnn_model in this notebook
    assert "error" not in status.values()
    table = helpers.by_id(result)["cnn_architecture"].details["table"]
    assert any(
        isinstance(cell, dict) and cell.get("status") == "bad" for row in table for cell in row
    )


CHEAT = """
import numpy as np
# A "perfect" predict and evaluate for every model in this kernel.
keras.Model.predict = lambda self, x, *a, **k: np.eye(10)[np.asarray(y_test)[:len(x)]]
keras.Model.evaluate = lambda self, *a, **k: [0.0, 1.0]
print("my accuracy:", dense_model.evaluate(x_test, y_test)[1])
"""


@pytest.mark.usefixtures("needs_fashion_mnist")
def test_wrong_loss_leaves_an_untrained_model_that_cheating_cannot_save(tmp_path: Path) -> None:
    """categorical_crossentropy with integer labels: compile check fails with advice, fit()
    raises, and the untrained model fails the accuracy check even though the kernel's own
    predict/evaluate were patched to answer perfectly."""
    nb = helpers.solution_notebook("ex04_dense_baseline")
    cell = next(c for c in nb.cells if "def build_dense_model" in c.source)
    nb = keras_helpers.replace_cell(
        nb,
        "def build_dense_model",
        cell.source.replace(
            'loss="sparse_categorical_crossentropy"', 'loss="categorical_crossentropy"'
        ),
    )
    nb = helpers.with_cells(nb, CHEAT)
    path = helpers.write_notebook(tmp_path, "wrong_loss.ipynb", nb)
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert status == {
        "preprocess_format": "passed",
        "preprocess_values": "passed",
        "dense_architecture": "passed",
        "dense_compile": "failed",
        "dense_accuracy": "failed",
    }, helpers.describe(result)
    messages = failed(result)
    assert (
        "the loss is 'categorical_crossentropy', expected 'sparse_categorical_crossentropy'"
        in messages["dense_compile"]
        and "integers" in messages["dense_compile"]
    )
    accuracy = helpers.by_id(result)["dense_accuracy"]
    assert accuracy.details["accuracy"] < 0.3
    assert "close to guessing: was it trained" in accuracy.message
    assert any(p.ename in ("ValueError", "InvalidArgumentError") for p in result.execution.problems)


SUBCLASS = """
class ConfidentModel(keras.Sequential):
    def predict(self, x, *args, **kwargs):
        return np.eye(10)[np.asarray(y_test)[:len(x)]]

dense_model = ConfidentModel([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
dense_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


@pytest.mark.usefixtures("needs_fashion_mnist")
def test_a_model_that_overrides_predict_is_not_evaluated_through_it(make_notebook) -> None:  # type: ignore[no-untyped-def]
    """The saved subclass cannot be rebuilt with safe_mode: the check says why, no score."""
    path = make_notebook(
        [
            helpers.solution_definitions("ex04_dense_baseline"),
            "(x_train_raw, y_train), (x_test_raw, y_test) = "
            "keras.datasets.fashion_mnist.load_data()",
            SUBCLASS,
        ],
        exercise="ex04_dense_baseline",
    )
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert status["dense_accuracy"] == "failed", helpers.describe(result)
    message = failed(result)["dense_accuracy"]
    assert message.startswith("`dense_model`: the model uses ConfidentModel"), message
    assert "not a built-in Keras layer" in message
    assert status["dense_architecture"] == "passed"


NEVER_STOPS = """
class AccuracyThreshold(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        print("epoch", epoch, "accuracy", (logs or {}).get("accuracy"))
"""


def test_a_callback_that_never_stops_fails_and_costs_nothing_else(make_notebook) -> None:  # type: ignore[no-untyped-def]
    path = make_notebook(
        [helpers.solution_definitions("ex06_regularization"), NEVER_STOPS],
        exercise="ex06_regularization",
    )
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert status == {
        "reg_augmentation": "passed",
        "reg_batchnorm_dropout": "passed",
        "reg_l2": "passed",
        "reg_output_compile": "passed",
        "accuracy_threshold": "failed",
        "make_callbacks_settings": "passed",
        "reg_accuracy": "not_attempted",
    }, helpers.describe(result)
    assert (
        "expected stopped after epoch 3, it ran all 4 epochs"
        in failed(result)["accuracy_threshold"]
    )


CRAFTED_SAVE = """
# The probe saves with Keras' own save_model, kept from before this cell ran; what it writes
# still comes from the layers' get_config, which this notebook can replace.
_real_config = keras.layers.Dense.get_config

def _huge_config(self):
    # Whatever the grader saves, the file it gets declares a 4.7 GB Dense kernel.
    config = _real_config(self)
    config["units"] = 1_500_000
    return config

keras.layers.Dense.get_config = _huge_config
dense_model = build_dense_model()
"""


@pytest.mark.usefixtures("needs_fashion_mnist")
@pytest.mark.skipif(
    not untrusted._cap_applies(),  # noqa: SLF001
    reason="no memory cap where an NVIDIA driver is present",
)
def test_a_crafted_model_file_fails_its_checks_with_the_grader_bounded(make_notebook) -> None:  # type: ignore[no-untyped-def]
    """The kernel has every saved model's config ask for gigabytes: every check that opens it
    fails with a message, none is an error, and the grader's memory stays bounded (without the
    guards this process would try to allocate 4.7 GB per load)."""
    path = make_notebook(
        [helpers.solution_definitions("ex04_dense_baseline"), CRAFTED_SAVE],
        exercise="ex04_dense_baseline",
    )
    out = path.with_suffix(".json")
    peak, _ = keras_helpers.peak_memory_of(  # the grader in a process of its own: its peak
        "import sys\nfrom grader.cli import main\n"
        f"main(['grade', {str(path)!r}, '--seed', '{helpers.SEED}', "
        f"'--out', {str(out.parent)!r}, '--view', 'instructor'])\n"
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    status = {c["id"]: c["status"] for c in result["checks"]}
    messages = {c["id"]: c["message"] for c in result["checks"]}
    assert "error" not in status.values(), status
    for check in ("dense_architecture", "dense_accuracy"):
        assert status[check] == "failed", messages
        assert "needs more memory than the grader gives one model" in messages[check]
    assert any(
        "replaces `keras.layers.Dense.get_config`: Keras' saving patched" in f
        for f in result["integrity"]
    ), result["integrity"]
    assert peak < 4 * 2**30, f"the grader process reached {peak / 2**30:.1f} GiB"
