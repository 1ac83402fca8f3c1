"""Checks for ex05: the course CNN's architecture, compile settings and trained accuracy."""

from __future__ import annotations

from grader.checks.calls import Call
from grader.keras_support.budget import SMOKE_CNN_VS_DENSE, Training
from grader.keras_support.checks import (
    add_accuracy_check,
    add_compile_check,
    architecture_check,
    param_count_check,
)
from grader.keras_support.spec import AccuracySpec

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE_CNN_VS_DENSE)
exercise = TRAINING.exercise("ex05_cnn", "A CNN for Fashion-MNIST")
ex = exercise

BUILD = Call("build_cnn")
ARCH_HINT = (
    "Conv2D(64, 3, activation='relu') → MaxPooling2D(2) → Conv2D(64, 3, "
    "activation='relu') → MaxPooling2D(2) → Flatten → Dense(128, activation='relu') → "
    "Dense(10, activation='softmax'), after keras.Input(shape=(28, 28, 1)). "
    "Conv2D's default padding is 'valid': 28 → 26 → 13 → 11 → 5."
)
ex.check(
    points=3,
    call=BUILD,
    title="build_cnn: layers, settings and output shapes",
    hint=ARCH_HINT,
    id="cnn_architecture",
)(architecture_check())
ex.check(
    points=1,
    call=BUILD,
    title="build_cnn: 243,786 parameters",
    hint=ARCH_HINT,
    id="cnn_param_count",
)(param_count_check(243_786))
add_compile_check(ex, BUILD, id="cnn_compile")

# Under smoke, the CNN must also beat ex04's dense baseline trained under this budget: a
# dense network submitted as the CNN does not pass the accuracy check.
ACCURACY = AccuracySpec(
    "ex05_cnn",
    "cnn_model",
    "fashion_mnist",
    course_threshold=0.90,
    training=TRAINING,
    build="build_cnn",
    must_beat="ex04_dense_baseline",
)
add_accuracy_check(
    ex,
    ACCURACY,
    points=5,
    id="cnn_accuracy",
    title="cnn_model reaches the test accuracy threshold",
    hint="Train the model from build_cnn() with cnn_model.fit(x_train, y_train, "
    "epochs=EPOCHS, batch_size=BATCH_SIZE) on the preprocessed images.",
)


# Public self-checks of what the notebook states about its model (grader.selfcheck.models),
# and the names the grader needs after the run.
ex.public_models = ("build_cnn",)
ex.after_run = ("cnn_model",)
