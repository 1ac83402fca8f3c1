"""Checks for ex09: the MNIST CNN's architecture, compile settings and trained accuracy.

MNIST has no Debian package: offline machines need mnist.npz in the grader's dataset folder
(see `grader.datasets`); without it the accuracy check is a grader configuration error with a
message saying where to put the file, and the architecture checks still count.
"""

from __future__ import annotations

from grader.checks.calls import Call
from grader.keras_support.budget import SMOKE, Training
from grader.keras_support.checks import add_accuracy_check, add_compile_check, architecture_check
from grader.keras_support.spec import AccuracySpec

TRAINING = Training(datasets=("mnist",), smoke=SMOKE)
exercise = TRAINING.exercise("ex09_mnist", "A CNN for MNIST")
ex = exercise

BUILD = Call("build_mnist_cnn")
ARCH_HINT = (
    "Conv2D(32, 3, relu, padding='same') → MaxPooling2D(2) → Conv2D(64, 3, relu, "
    "padding='same') → MaxPooling2D(2) → Flatten → Dense(128, relu) → Dropout(0.3) → "
    "Dense(10, softmax), after keras.Input(shape=(28, 28, 1))."
)
ex.check(
    points=3,
    call=BUILD,
    title="build_mnist_cnn: layers, settings and output shapes",
    hint=ARCH_HINT,
    id="mnist_architecture",
)(architecture_check())
add_compile_check(ex, BUILD, id="mnist_compile")

ACCURACY = AccuracySpec(
    "ex09_mnist",
    "mnist_model",
    "mnist",
    course_threshold=0.98,
    training=TRAINING,
    build="build_mnist_cnn",
)
add_accuracy_check(
    ex,
    ACCURACY,
    points=6,
    id="mnist_accuracy",
    title="mnist_model reaches the test accuracy threshold",
    hint="Train the model from build_mnist_cnn() with mnist_model.fit(x_train, "
    "y_train, epochs=EPOCHS, batch_size=BATCH_SIZE) on the preprocessed "
    "images.",
)


# Public self-checks of what the notebook states about its model (grader.selfcheck.models),
# and the names the grader needs after the run.
ex.public_models = ("build_mnist_cnn",)
ex.after_run = ("mnist_model",)
