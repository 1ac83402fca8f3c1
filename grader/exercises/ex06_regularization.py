"""Checks for ex06: a regularised CNN (judged by its properties), two callbacks, its accuracy.

The model is not an exact architecture: the contract asks for properties (augmentation, batch
normalisation, a dropout rate in a range, an L2 penalty on a hidden Dense layer), so each is
checked and listed in a table. The callbacks are judged by *using* them: drivers in the kernel
attach a new AccuracyThreshold to a tiny model and feed it epoch logs as fit() would, and
describe what make_callbacks returns; the grader decides from that data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.checks.core import Call, Context, Driver, Fail
from grader.keras_support import architecture as arch
from grader.keras_support.budget import SMOKE, Training
from grader.keras_support.spec import AccuracySpec
from grader.keras_support.checks import add_accuracy_check, reference_model, student_model
from grader.keras_support.properties import (Property, labels, property_check, softmax_output,
                                             table)

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE)
exercise = TRAINING.exercise("ex06_regularization",
                             "Regularisation: augmentation, dropout, L2, "
                             "callbacks")
ex = exercise

AUGMENT = {"RandomRotation", "RandomTranslation", "RandomZoom"}
DROPOUT_RANGE = (0.2, 0.5)


def augmentation(info: arch.ModelInfo) -> list[Property]:
    flips = [x for x in info.layers if x.kind == "RandomFlip"]
    others = [x for x in info.layers if x.kind in AUGMENT]
    return [Property("RandomFlip('horizontal')",
                     any(x.settings.get("mode") == "horizontal" for x in flips), labels(flips)),
            Property("RandomRotation, RandomTranslation or RandomZoom", bool(others),
                     labels(others))]


def normalisation(info: arch.ModelInfo) -> list[Property]:
    norms = [x for x in info.layers if x.kind == "BatchNormalization"]
    drops = [x for x in info.layers if x.kind == "Dropout"]
    low, high = DROPOUT_RANGE
    return [Property("BatchNormalization", bool(norms), labels(norms)),
            Property(f"Dropout with rate in [{low}, {high}]",
                     any(low <= float(x.settings.get("rate") or 0) <= high for x in drops),
                     labels(drops))]


def _has_l2(layer: arch.LayerInfo) -> bool:
    reg = layer.settings.get("kernel_regularizer")
    if not isinstance(reg, tuple) or not reg:
        return False
    return reg[0] == "L2" or (reg[0] == "L1L2" and len(reg) == 3 and float(reg[2]) > 0)


def l2_penalty(info: arch.ModelInfo) -> list[Property]:
    dense = [x for x in info.layers if x.kind == "Dense"]
    hidden = dense[:-1] if info.layers and info.layers[-1].kind == "Dense" else dense
    return [Property("a hidden Dense layer with an L2 kernel_regularizer",
                     any(_has_l2(x) for x in hidden), labels(hidden))]


def output(info: arch.ModelInfo) -> list[Property]:
    convs = [x for x in info.layers if x.kind == "Conv2D"]
    return [Property("input (28, 28, 1)", info.input_shape == (28, 28, 1),
                     str(info.input_shape)),
            Property("Conv2D layers", bool(convs), f"{len(convs)}"),
            softmax_output(info)]


BUILD = Call("build_regularized_cnn")
ex.check(points=1, call=BUILD, id="reg_augmentation",
         title="build_regularized_cnn: augmentation layers",
         hint="Start the model with keras.layers.RandomFlip('horizontal') and e.g. "
              "keras.layers.RandomTranslation(0.1, 0.1); they are only active in training.")(
    property_check(augmentation))
ex.check(points=1, call=BUILD, id="reg_batchnorm_dropout",
         title="build_regularized_cnn: BatchNormalization and Dropout(0.2–0.5)",
         hint="BatchNormalization after the convolutions; Dropout(0.3) before the output layer.")(
    property_check(normalisation))
ex.check(points=1, call=BUILD, id="reg_l2",
         title="build_regularized_cnn: L2 penalty on a hidden Dense layer",
         hint="Dense(128, activation='relu', kernel_regularizer=keras.regularizers.l2(1e-4))")(
    property_check(l2_penalty))


@ex.check(points=1, call=BUILD, id="reg_output_compile",
          title="build_regularized_cnn: input, output layer and compile settings",
          hint="keras.Input(shape=(28, 28, 1)) first, Dense(10, activation='softmax') last; "
               "compile with 'adam', 'sparse_categorical_crossentropy', ['accuracy'].")
def reg_output_compile(got: Any, ctx: Context) -> None:
    info = arch.describe(student_model(got, what=ctx.text))
    props = output(info)
    result = arch.compare_compile(info, arch.describe(reference_model(ctx)))
    ctx.extras["table"] = table(props) + [[row[0], row[2]] for row in result.table[1:]]
    problems = [f"{p.requirement} (found: {p.found})" for p in props if not p.ok]
    problems += result.problems
    if problems:
        raise Fail(f"{ctx.text}: " + "; ".join(problems))


# -- callbacks -----------------------------------------------------------------------------
_DRIVERS = Path(__file__).resolve().parents[1] / "keras_support" / "kernel_drivers.py"
THRESHOLD_DRIVER = Driver.from_file(_DRIVERS, "drive_accuracy_threshold")
MAKE_DRIVER = Driver.from_file(_DRIVERS, "drive_make_callbacks")

# (target, training accuracy per epoch, validation accuracy per epoch, epochs run: None = all)
SCENARIOS: list[tuple[float, list[float], list[float], int | None]] = [
    (0.9, [0.62, 0.81, 0.93, 0.95], [0.6, 0.8, 0.9, 0.92], 3),
    (0.9, [0.55, 0.7, 0.82], [0.91, 0.93, 0.95], None),  # only val_accuracy reaches it
    (0.8, [0.7, 0.8, 0.85], [0.7, 0.75, 0.8], 2),  # reaching the target exactly counts
    (0.75, [0.9, 0.95], [0.5, 0.5], 1),
]
THRESHOLD_CALL = Call.driver(
    THRESHOLD_DRIVER, "AccuracyThreshold",
    [{"target": t, "accuracy": a, "val_accuracy": v} for t, a, v, _ in SCENARIOS],
).labelled("AccuracyThreshold(target) attached to a model and given the logs of "
           f"{len(SCENARIOS)} training runs")


def _ran(stop: int | None, epochs: int) -> str:
    return f"all {epochs} epochs" if stop is None else f"stopped after epoch {stop}"


@ex.check(points=2, call=THRESHOLD_CALL, title="AccuracyThreshold stops at the first epoch whose "
          "training accuracy reaches the target",
          hint="In on_epoch_end read logs['accuracy'] (the training accuracy, not val_accuracy) "
               "and stop the training (the model's stop_training attribute) once it is >= "
               "self.target.")
def accuracy_threshold(got: Any, ctx: Context) -> None:
    if not isinstance(got, list) or len(got) != len(SCENARIOS) or not all(
            g is None or (isinstance(g, int) and not isinstance(g, bool)) for g in got):
        raise Fail(f"{ctx.text}: the grader could not read which epochs ran ({got!r:.100})")
    rows: list[list[Any]] = [["target", "training accuracy per epoch", "val_accuracy",
                              "expected", "yours"]]
    problems = []
    for (target, acc, val, want), have in zip(SCENARIOS, got):
        ok = have == want
        rows.append([f"{target:g}", ", ".join(f"{a:g}" for a in acc),
                     ", ".join(f"{v:g}" for v in val), _ran(want, len(acc)),
                     {"text": _ran(have, len(acc)), "status": "ok" if ok else "bad"}])
        if not ok:
            problems.append(f"AccuracyThreshold({target:g}) with training accuracy "
                            f"{', '.join(f'{a:g}' for a in acc)} per epoch: expected "
                            f"{_ran(want, len(acc))}, it {_ran(have, len(acc)).replace('all', 'ran all')}")
    ctx.extras["table"] = rows
    if problems:
        raise Fail("; ".join(problems))


CHECKPOINT = "grader_checkpoint.keras"
MAKE_CALL = Call.driver(MAKE_DRIVER, "make_callbacks", CHECKPOINT)

REQUIRED = {
    "EarlyStopping": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
    "ModelCheckpoint": {"filepath": CHECKPOINT, "monitor": "val_loss", "save_best_only": True},
}


@ex.check(points=1.5, call=MAKE_CALL,
          title="make_callbacks: EarlyStopping and ModelCheckpoint with the asked settings",
          hint="Return a list of two Keras callbacks: an EarlyStopping that watches the "
               "validation loss, waits 3 epochs without improvement and restores the best "
               "weights; and a ModelCheckpoint that writes to checkpoint_path, watching the "
               "validation loss and saving only when it improves.")
def make_callbacks_settings(got: Any, ctx: Context) -> None:
    if not isinstance(got, dict) or not isinstance(got.get("items"), list):
        raise Fail(f"{ctx.text}: the grader could not read what make_callbacks returned")
    if got.get("type") not in ("list", "tuple"):
        raise Fail(f"{ctx.text}: expected a list of two callbacks, got a {got.get('type')}")
    items = [i for i in got["items"] if isinstance(i, dict)]
    rows: list[list[Any]] = [["callback", "setting", "expected", "yours"]]
    problems = []
    for cls, settings in REQUIRED.items():
        match = next((i for i in items if cls in (i.get("keras_bases") or [])), None)
        if match is None:
            problems.append(f"no keras.callbacks.{cls} in the list")
            rows.append([cls, "", "", {"text": "— missing —", "status": "bad"}])
            continue
        for name, want in settings.items():
            have = match.get(name)
            ok = have == want
            rows.append([cls, name, repr(want), {"text": repr(have), "status": "ok" if ok else "bad"}])
            if not ok:
                problems.append(f"{cls}: {name} is {have!r}, expected {want!r}"
                                + (" (use the checkpoint_path argument)" if name == "filepath"
                                   else ""))
    if len(items) != len(REQUIRED):
        problems.append(f"the list has {len(items)} callbacks "
                        f"({', '.join(str(i.get('class')) for i in items)}), expected "
                        f"{len(REQUIRED)}")
    ctx.extras["table"] = rows
    if problems:
        raise Fail(f"{ctx.text}: " + "; ".join(problems))


# The course asks for properties, not exact layers: the trained model is compared with what
# the notebook's build_regularized_cnn() returns, never with the reference's.
ACCURACY = AccuracySpec("ex06_regularization", "reg_model", "fashion_mnist",
                        course_threshold=0.88, training=TRAINING, build="build_regularized_cnn",
                        exact_architecture=False)
add_accuracy_check(ex, ACCURACY, points=2.5, id="reg_accuracy",
                   title="reg_model reaches the test accuracy threshold",
                   hint="Train the model from build_regularized_cnn() with fit(..., "
                        "validation_split=0.1, callbacks=make_callbacks(...)).")


# Functions without public examples in the student release, and why (what the self-check says).
ex.unchecked.update({
    "build_regularized_cnn": (
        "it builds a Keras model: the grade compares its layers, output shapes, parameters "
        "and compile settings with what the exercise asks"),
    "AccuracyThreshold": (
        "a Keras callback: the grade attaches it to a model and feeds it epoch logs"),
    "make_callbacks": (
        "Keras callbacks: the grade compares their settings with what the exercise asks"),
})

# Public self-checks of what the notebook states about its model (grader.selfcheck.models),
# and the names the grader needs after the run.
ex.after_run = ("reg_model",)
