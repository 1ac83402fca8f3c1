"""Checks for ex07: the activation model and the feature maps of one image.

Both functions take a model. The grader sends a small CNN of its own (a plain layer list and
random weights, as hidden inputs) and a driver builds it in the kernel, calls the student's
function on it and hands back the result: the activation model itself (saved by the probe) or
the list of feature maps. The grader rebuilds the same CNN from the same list and weights and
compares in its own process. The CNN has a BatchNormalization and a Dropout layer between the
Conv2D and MaxPooling2D layers, whose outputs must *not* be among the activation model's.

feature_maps usually calls activation_model: the driver calls it twice, as written and with the
grader's activation model (the line the hint gives) in place of the student's, and the feature
map checks pass when either answer is right, so a wrong activation_model costs the
activation_model checks only (grader/exercises/helper_drivers.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.calls import Call, Driver
from grader.checks.core import Context, Fail
from grader.checks.expect import expect_array, expect_close
from grader.keras_support.budget import SMOKE, Training
from grader.keras_support.checks import student_model

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE)
exercise = TRAINING.exercise("ex07_feature_maps", "Looking inside a CNN: feature maps")
ex = exercise

_DRIVERS = Path(__file__).resolve().parents[1] / "keras_support" / "kernel_drivers.py"
ACTIVATION_DRIVER = Driver.from_file(_DRIVERS, "drive_activation_model")
# The grader's CNN (kernel_drivers.build_probe_model), and feature_maps run twice: as written
# and with the grader's activation_model (helper_drivers.drive_feature_maps_both).
FEATURE_DRIVER = Driver(
    "drive_feature_maps_both",
    _DRIVERS.read_text(encoding="utf-8")
    + "\n\n"
    + (Path(__file__).with_name("helper_drivers.py")).read_text(encoding="utf-8"),
)

# The grader's CNN: 28 → conv valid 26 → (bn) → pool 13 → conv same 13 → pool 6 → dense.
SPEC: list[tuple[Any, ...]] = [
    ("conv", 6, 3, "valid"),
    ("bn",),
    ("pool", 2),
    ("conv", 8, 3, "same"),
    ("pool", 2),
    ("dropout", 0.25),
    ("flatten",),
    ("dense", 10),
]
OUTPUT_SHAPES = [(26, 26, 6), (13, 13, 6), (13, 13, 8), (6, 6, 8)]


def _weights(rng: np.random.Generator) -> list[np.ndarray]:
    """Random weights in Keras' order for SPEC (kernel, bias; gamma, beta, mean, variance)."""
    out: list[np.ndarray] = []
    channels, size = 1, 28
    for item in SPEC:
        if item[0] == "conv":
            out += [rng.normal(0, 0.4, (3, 3, channels, item[1])), rng.normal(0, 0.1, item[1])]
            channels = item[1]
            size = size - 2 if item[3] == "valid" else size
        elif item[0] == "bn":
            out += [
                rng.uniform(0.5, 1.5, channels),
                rng.normal(0, 0.1, channels),
                rng.normal(0, 0.1, channels),
                rng.uniform(0.5, 1.5, channels),
            ]
        elif item[0] == "pool":
            size //= item[1]
        elif item[0] == "dense":
            out += [
                rng.normal(0, 0.1, (size * size * channels, item[1])),
                rng.normal(0, 0.1, item[1]),
            ]
    return [w.astype(np.float32) for w in out]


WEIGHTS = ex.input("weights", _weights)
IMAGE = ex.input("image", lambda rng: rng.uniform(0, 1, (28, 28, 1)).astype(np.float32))

ACT_CALL = Call.driver(ACTIVATION_DRIVER, "activation_model", SPEC, WEIGHTS).labelled(
    "activation_model(model) on the grader's CNN (Conv2D, BatchNormalization, MaxPooling2D, "
    "Conv2D, MaxPooling2D, Dropout, Flatten, Dense)"
)
ACT_HINT = (
    "keras.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers "
    "if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))])"
)


def _outputs(model: Any, images: np.ndarray) -> list[np.ndarray]:
    import warnings

    from grader import backends
    from grader.keras_support.untrusted import memory_cap

    keras = backends.import_keras()

    with memory_cap(what="running the activation model"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' note on input structure; not the student's
        out = model(images, training=False)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return [np.asarray(keras.ops.convert_to_numpy(o)) for o in out]


def _shapes(model: Any) -> list[tuple[Any, ...]]:
    return [tuple(o.shape)[1:] for o in model.outputs]


@ex.check(
    points=3,
    call=ACT_CALL,
    hint=ACT_HINT,
    title="activation_model: one output per Conv2D and MaxPooling2D layer, in order",
)
def activation_model_outputs(got: Any, ctx: Context) -> None:
    model = student_model(got, what=ctx.text)
    shapes = _shapes(model)
    ctx.extras["table"] = [["output", "expected shape", "your shape"]] + [
        [
            str(i + 1),
            str(w) if i < len(OUTPUT_SHAPES) else "—",
            {
                "text": str(shapes[i]) if i < len(shapes) else "— missing —",
                "status": "ok"
                if i < len(shapes) and i < len(OUTPUT_SHAPES) and shapes[i] == OUTPUT_SHAPES[i]
                else "bad",
            },
        ]
        for i, w in enumerate(OUTPUT_SHAPES + [None] * max(0, len(shapes) - len(OUTPUT_SHAPES)))
    ]
    if len(shapes) != len(OUTPUT_SHAPES):
        raise Fail(
            f"{ctx.text}: expected {len(OUTPUT_SHAPES)} outputs (2 Conv2D and 2 "
            f"MaxPooling2D layers), got {len(shapes)} with shapes {shapes}"
        )
    if shapes != OUTPUT_SHAPES:
        raise Fail(f"{ctx.text}: expected outputs of shapes {OUTPUT_SHAPES}, got {shapes}")
    if tuple(model.inputs[0].shape)[1:] != (28, 28, 1):
        raise Fail(
            f"{ctx.text}: the activation model's input is {tuple(model.inputs[0].shape)}, "
            "expected the model's own input (None, 28, 28, 1)"
        )


@ex.check(
    points=2,
    call=ACT_CALL,
    hint=ACT_HINT,
    title="activation_model: outputs equal the layers' outputs on hidden images",
)
def activation_model_values(got: Any, ctx: Context) -> None:
    model = student_model(got, what=ctx.text)
    # Images that never leave the grader: the comparison needs no secret, only coverage.
    images = np.random.default_rng(7).uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)
    have = _outputs(model, images)
    want = _outputs(ctx.expected, images)
    if len(have) != len(want):
        raise Fail(f"{ctx.text}: expected {len(want)} outputs, got {len(have)}")
    for i, (h, w) in enumerate(zip(have, want, strict=False)):
        expect_close(h, w, what=f"{ctx.text}: output {i + 1}", atol=1e-4, rtol=1e-4)


FEATURE_CALL = Call.driver(FEATURE_DRIVER, "feature_maps", SPEC, WEIGHTS, IMAGE).labelled(
    "feature_maps(model, image) on the grader's CNN and a hidden (28, 28, 1) image"
)
FEATURE_HINT = (
    "Add a batch axis (image[np.newaxis]), run the activation model, and return "
    "output[0] for each output: a list of (H, W, C) arrays."
)


HELPER_NOTE = (
    " (feature_maps ran with the grader's activation_model in place of yours, so "
    "that a mistake in that counts in the activation_model checks only)"
)


def _maps(got: Any, ctx: Context) -> list[np.ndarray]:
    if not isinstance(got, (list, tuple)):
        raise Fail(f"{ctx.text}: expected a list of arrays, got {type(got).__name__}")
    return [expect_array(m, what=f"{ctx.text}[{i}]") for i, m in enumerate(got)]


def _either(judge: Any) -> Any:
    """Pass when feature_maps is right with the grader's activation_model or as written; else
    fail with what is wrong in the first of those answers."""

    def check(got: Any, ctx: Context) -> None:
        if not isinstance(got, dict):
            raise Fail(
                f"{ctx.text}: the grader could not read the result (got {type(got).__name__})"
            )
        runs = [(k, got[k]) for k in ("with_reference", "own") if got.get(k) is not None]
        if not runs:
            raise Fail(f"{ctx.text}: feature_maps returned None")
        failures = []
        for _, value in runs:
            try:
                judge(value, ctx)
                return
            except Fail as exc:
                failures.append(str(exc))
        note = (
            HELPER_NOTE
            if runs[0][0] == "with_reference" and len(runs) > 1 and failures[0] != failures[1]
            else ""
        )
        raise Fail(failures[0] + note)

    return check


def _judge_shapes(got: Any, ctx: Context) -> None:
    maps = _maps(got, ctx)
    shapes = [tuple(int(d) for d in m.shape) for m in maps]
    if shapes != OUTPUT_SHAPES:
        extra = (
            " (without the batch axis: drop it with output[0])"
            if shapes and all(len(s) == 4 and s[0] == 1 for s in shapes)
            else ""
        )
        raise Fail(f"{ctx.text}: expected arrays of shapes {OUTPUT_SHAPES}, got {shapes}{extra}")


def _judge_values(got: Any, ctx: Context) -> None:
    maps = _maps(got, ctx)
    want = ctx.expected["own"]
    if len(maps) != len(want):
        raise Fail(f"{ctx.text}: expected {len(want)} feature maps, got {len(maps)}")
    for i, (h, w) in enumerate(zip(maps, want, strict=False)):
        if h.ndim == 4 and h.shape[0] == 1:  # a kept batch axis costs the shape check only
            h = h[0]
        expect_close(h, w, what=f"{ctx.text}[{i}]", atol=1e-4, rtol=1e-4)


ex.check(
    points=2,
    call=FEATURE_CALL,
    hint=FEATURE_HINT,
    title="feature_maps: one (H, W, C) array per Conv2D / MaxPooling2D layer",
    id="feature_maps_shapes",
)(_either(_judge_shapes))
ex.check(
    points=3,
    call=FEATURE_CALL,
    hint=FEATURE_HINT,
    title="feature_maps: values equal the layers' outputs for the image",
    id="feature_maps_values",
)(_either(_judge_values))


# Public examples: the same small CNN with public weights and a public image; the answers are
# arrays (the activation model's outputs, the feature maps), compared as the graded value checks
# compare them.
PUBLIC_IMAGE = ex.input(
    "public_image", lambda rng: rng.uniform(0, 1, (28, 28, 1)).astype(np.float32)
)
ex.example(
    "activation_model_example",
    atol=1e-4,
    hint=ACT_HINT,
    title="activation_model: the outputs of each Conv2D and MaxPooling2D layer",
    call=Call.driver(
        Driver.from_file(_DRIVERS, "drive_activation_outputs"),
        "activation_model",
        SPEC,
        WEIGHTS,
        PUBLIC_IMAGE,
    ).labelled("activation_model(model) on a small CNN, run on one image"),
    subject="the outputs",
)
ex.example(
    "feature_maps_example",
    atol=1e-4,
    hint=FEATURE_HINT,
    title="feature_maps: one (H, W, C) array per Conv2D / MaxPooling2D layer",
    call=Call.driver(
        Driver.from_file(_DRIVERS, "drive_feature_maps_public"),
        "feature_maps",
        SPEC,
        WEIGHTS,
        PUBLIC_IMAGE,
    ).labelled("feature_maps(model, image) on a small CNN and one image"),
)
