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

from grader.checks.calls import Call, Driver
from grader.checks.core import Context, Fail
from grader.keras_support.budget import SMOKE, Training
from grader.keras_support.checks import add_accuracy_check, reference_model, student_model
from grader.keras_support.properties import judged, property_check
from grader.keras_support.spec import AccuracySpec
from grader.selfcheck.comparison import compared
from grader.selfcheck.description import describe
from grader.selfcheck.judges import callbacks, stops
from grader.selfcheck.judges import properties_table as table

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE)
exercise = TRAINING.exercise(
    "ex06_regularization", "Regularisation: augmentation, dropout, L2, callbacks"
)
ex = exercise

DROPOUT_RANGE = (0.2, 0.5)

# The properties the contract asks for, as rules (grader.selfcheck.judges) that the graded
# checks and the public self-checks both apply.
AUGMENTATION: list[dict[str, Any]] = [
    {
        "rule": "any",
        "classes": ["RandomFlip"],
        "where": {"mode": "horizontal"},
        "says": "RandomFlip('horizontal')",
    },
    {
        "rule": "any",
        "classes": ["RandomRotation", "RandomTranslation", "RandomZoom"],
        "says": "RandomRotation, RandomTranslation or RandomZoom",
    },
]
NORMALISATION: list[dict[str, Any]] = [
    {"rule": "any", "classes": ["BatchNormalization"], "says": "BatchNormalization"},
    {
        "rule": "any",
        "classes": ["Dropout"],
        "range": {"rate": list(DROPOUT_RANGE)},
        "says": f"Dropout with rate in [{DROPOUT_RANGE[0]}, {DROPOUT_RANGE[1]}]",
    },
]
L2_PENALTY: list[dict[str, Any]] = [
    {"rule": "hidden_l2", "says": "a hidden Dense layer with an L2 kernel_regularizer"}
]
OUTPUT: list[dict[str, Any]] = [
    {"rule": "input", "shape": [28, 28, 1], "says": "input (28, 28, 1)"},
    {"rule": "count", "classes": ["Conv2D"], "says": "Conv2D layers"},
    {"rule": "output", "units": 10, "says": "output layer Dense(10, softmax)"},
]

BUILD = Call("build_regularized_cnn")
ex.check(
    points=1,
    call=BUILD,
    id="reg_augmentation",
    title="build_regularized_cnn: augmentation layers",
    hint="Start the model with keras.layers.RandomFlip('horizontal') and e.g. "
    "keras.layers.RandomTranslation(0.1, 0.1); they are only active in training.",
)(property_check(AUGMENTATION))
ex.check(
    points=1,
    call=BUILD,
    id="reg_batchnorm_dropout",
    title="build_regularized_cnn: BatchNormalization and Dropout(0.2–0.5)",
    hint="BatchNormalization after the convolutions; Dropout(0.3) before the output layer.",
)(property_check(NORMALISATION))
ex.check(
    points=1,
    call=BUILD,
    id="reg_l2",
    title="build_regularized_cnn: L2 penalty on a hidden Dense layer",
    hint="Dense(128, activation='relu', kernel_regularizer=keras.regularizers.l2(1e-4))",
)(property_check(L2_PENALTY))


@ex.check(
    points=1,
    call=BUILD,
    id="reg_output_compile",
    title="build_regularized_cnn: input, output layer and compile settings",
    hint="keras.Input(shape=(28, 28, 1)) first, Dense(10, activation='softmax') last; "
    "compile with 'adam', 'sparse_categorical_crossentropy', ['accuracy'].",
)
def reg_output_compile(got: Any, ctx: Context) -> None:
    props, problems = judged(got, ctx, OUTPUT)
    compiled, rows = compared(
        "compile",
        describe(student_model(got, what=ctx.text)),
        describe(reference_model(ctx)),
        what=ctx.text,
    )
    ctx.extras["table"] = table(props) + [[row[0], row[2]] for row in rows[1:]]
    if problems + compiled:
        raise Fail("\n".join(problems + compiled))


# -- callbacks -----------------------------------------------------------------------------
_DRIVERS = Path(__file__).resolve().parents[1] / "keras_support" / "kernel_drivers.py"
THRESHOLD_DRIVER = Driver.from_file(_DRIVERS, "drive_accuracy_threshold")
MAKE_DRIVER = Driver.from_file(_DRIVERS, "drive_make_callbacks")

# Each scripted training: the target, the training and validation accuracy per epoch, and
# after which epoch training must stop (None: it runs them all).
SCENARIOS: list[dict[str, Any]] = [
    {
        "target": 0.9,
        "accuracy": [0.62, 0.81, 0.93, 0.95],
        "val_accuracy": [0.6, 0.8, 0.9, 0.92],
        "stop": 3,
    },
    {
        "target": 0.9,
        "accuracy": [0.55, 0.7, 0.82],
        "val_accuracy": [0.91, 0.93, 0.95],
        "stop": None,
    },  # only val_accuracy reaches it
    {
        "target": 0.8,
        "accuracy": [0.7, 0.8, 0.85],
        "val_accuracy": [0.7, 0.75, 0.8],
        "stop": 2,
    },  # reaching the target exactly counts
    {"target": 0.75, "accuracy": [0.9, 0.95], "val_accuracy": [0.5, 0.5], "stop": 1},
]
THRESHOLD_CALL = Call.driver(
    THRESHOLD_DRIVER,
    "AccuracyThreshold",
    [{k: s[k] for k in ("target", "accuracy", "val_accuracy")} for s in SCENARIOS],
).labelled(
    "AccuracyThreshold(target) attached to a model and given the logs of "
    f"{len(SCENARIOS)} training runs"
)


@ex.check(
    points=2,
    call=THRESHOLD_CALL,
    title="AccuracyThreshold stops at the first epoch whose training accuracy reaches the target",
    hint="In on_epoch_end read logs['accuracy'] (the training accuracy, not val_accuracy) "
    "and stop the training (the model's stop_training attribute) once it is >= "
    "self.target.",
)
def accuracy_threshold(got: Any, ctx: Context) -> None:
    problems, rows = stops(got, SCENARIOS, what=ctx.text)
    if rows:
        ctx.extras["table"] = rows
    if problems:
        raise Fail("\n".join(problems))


CHECKPOINT = "grader_checkpoint.keras"
MAKE_CALL = Call.driver(MAKE_DRIVER, "make_callbacks", CHECKPOINT)

REQUIRED = {
    "EarlyStopping": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
    "ModelCheckpoint": {"filepath": CHECKPOINT, "monitor": "val_loss", "save_best_only": True},
}


@ex.check(
    points=1.5,
    call=MAKE_CALL,
    title="make_callbacks: EarlyStopping and ModelCheckpoint with the asked settings",
    hint="Return a list of two Keras callbacks: an EarlyStopping that watches the "
    "validation loss, waits 3 epochs without improvement and restores the best "
    "weights; and a ModelCheckpoint that writes to checkpoint_path, watching the "
    "validation loss and saving only when it improves.",
)
def make_callbacks_settings(got: Any, ctx: Context) -> None:
    problems, rows = callbacks(got, REQUIRED, what=ctx.text)
    if rows:
        ctx.extras["table"] = rows
    if problems:
        raise Fail(problems[0])


# The course asks for properties, not exact layers: the trained model is compared with what
# the notebook's build_regularized_cnn() returns, never with the reference's.
ACCURACY = AccuracySpec(
    "ex06_regularization",
    "reg_model",
    "fashion_mnist",
    course_threshold=0.88,
    training=TRAINING,
    build="build_regularized_cnn",
    exact_architecture=False,
)
add_accuracy_check(
    ex,
    ACCURACY,
    points=2.5,
    id="reg_accuracy",
    title="reg_model reaches the test accuracy threshold",
    hint="Train the model from build_regularized_cnn() with fit(..., "
    "validation_split=0.1, callbacks=make_callbacks(...)).",
)


# Public self-checks: every graded check on build_regularized_cnn, make_callbacks and
# AccuracyThreshold is judged on plain data by grader.selfcheck.judges, so the release ships
# it as it is (the compile settings from the reference model); and the names the grader needs
# after the run. Accuracy stays a graded check.
ex.public_properties = {
    "reg_augmentation": AUGMENTATION,
    "reg_batchnorm_dropout": NORMALISATION,
    "reg_l2": L2_PENALTY,
    "reg_output_compile": OUTPUT,
}
ex.public_compile = ("reg_output_compile",)
ex.public_judged = {
    "accuracy_threshold": ("stops", SCENARIOS),
    "make_callbacks_settings": ("callbacks", REQUIRED),
}
ex.after_run = ("reg_model",)
