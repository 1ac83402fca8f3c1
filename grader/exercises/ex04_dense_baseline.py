"""Checks for ex04: preprocessing, the dense baseline's architecture and its trained accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.calls import Call
from grader.checks.core import Context, Fail
from grader.checks.expect import expect_array, expect_close
from grader.keras_support.budget import SMOKE_CNN_VS_DENSE, Training
from grader.keras_support.checks import add_accuracy_check, add_compile_check, architecture_check
from grader.keras_support.spec import AccuracySpec

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE_CNN_VS_DENSE)
exercise = TRAINING.exercise("ex04_dense_baseline", "A dense baseline on Fashion-MNIST")
ex = exercise


def _images(rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, 256, size=(int(rng.integers(3, 9)), 28, 28), dtype=np.uint8)
    images[0, 0, :2] = (0, 255)  # the extremes must map to exactly 0.0 and 1.0
    return images


IMAGES = ex.input("images", _images)
PREPROCESS = Call("preprocess", IMAGES)


@ex.check(
    points=1.5,
    call=PREPROCESS,
    title="preprocess returns float32 of shape (N, 28, 28, 1)",
    hint="Convert with .astype('float32') and add the channel axis last: "
    "images[..., np.newaxis] or images.reshape(-1, 28, 28, 1).",
)
def preprocess_format(got: Any, ctx: Context) -> None:
    n = ctx.args[0].shape[0]
    arr = expect_array(got, what=ctx.text)
    if arr.dtype != np.float32:
        raise Fail(f"{ctx.text}: expected dtype float32, got {arr.dtype}")
    if arr.shape != (n, 28, 28, 1):
        raise Fail(f"{ctx.text}: expected shape {(n, 28, 28, 1)}, got {tuple(arr.shape)}")


@ex.check(
    points=1.5,
    call=PREPROCESS,
    title="preprocess scales pixels to [0, 1] (value / 255)",
    hint="Divide by 255 (not 256, and not by the image's own maximum): 0 → 0.0, 255 → 1.0.",
)
def preprocess_values(got: Any, ctx: Context) -> None:
    images = ctx.args[0]
    want = images.astype(np.float64) / 255.0
    arr = expect_array(got, what=ctx.text)
    if arr.size != want.size:
        raise Fail(f"{ctx.text}: expected {want.size} values (one per pixel), got {arr.size}")
    flat = arr.reshape(images.shape).astype(np.float64)
    if flat.min() < 0.0 or flat.max() > 1.0:
        raise Fail(
            f"{ctx.text}: values range over [{flat.min():.4g}, {flat.max():.4g}], expected [0, 1]"
        )
    expect_close(flat, want, what=ctx.text, atol=1e-6, rtol=0.0)


BUILD = Call("build_dense_model")
ARCH_HINT = (
    "Input (28, 28, 1) → Flatten → Dense(128, activation='relu') → "
    "Dense(10, activation='softmax'); keras.Input(shape=(28, 28, 1)) first."
)
ex.check(
    points=2,
    call=BUILD,
    title="build_dense_model: layers, shapes and parameters",
    hint=ARCH_HINT,
    id="dense_architecture",
)(architecture_check())
add_compile_check(ex, BUILD, id="dense_compile")

ACCURACY = AccuracySpec(
    "ex04_dense_baseline",
    "dense_model",
    "fashion_mnist",
    course_threshold=0.85,
    training=TRAINING,
    build="build_dense_model",
)
add_accuracy_check(
    ex,
    ACCURACY,
    points=4,
    id="dense_accuracy",
    title="dense_model reaches the test accuracy threshold",
    hint="Train the model you built with dense_model.fit(x_train, y_train, "
    "epochs=EPOCHS, batch_size=BATCH_SIZE) on the preprocessed images.",
)


# A public example of preprocess on public images: its dtype, shape and values are compared as
# the two graded checks compare them (float32, (N, 28, 28, 1), value / 255).
ex.example(
    "preprocess_example",
    call=PREPROCESS,
    atol=1e-6,
    dtype=True,
    title="preprocess: float32 of shape (N, 28, 28, 1), pixels / 255",
    hint="Convert with .astype('float32'), add the channel axis last "
    "(images[..., np.newaxis]) and divide by 255: 0 → 0.0, 255 → 1.0.",
)

# Public self-checks of what the notebook states about its model (grader.selfcheck.models),
# and the names the grader needs after the run.
ex.public_models = ("build_dense_model",)
ex.after_run = ("dense_model",)
