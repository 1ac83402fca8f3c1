"""Checks for ex11: a CIFAR-10 CNN with augmentation, the GPU the kernel had, its accuracy.

The model is judged by properties, as ex06's: augmentation layers first, at least two
Conv2D + BatchNormalization + MaxPooling2D blocks, Dropout, a Dense(10, softmax) output on
(32, 32, 3) images. That the augmentation is active only in training is judged by *running*
the model the notebook's build_cifar_cnn() returned, here in the grader (loaded with
safe_mode, so only Keras' own layers run): the same images twice at inference must give the
same output, and in training they must not (with dropout switched off, so that only the
augmentation can make them differ).

gpu_summary() is compared with the GPUs the grader gave the kernel (the NVIDIA devices of this
machine that CUDA_VISIBLE_DEVICES lets through, as many as TensorFlow in the grader's own
environment can use), never with anything the kernel says about itself.

CIFAR-10 is downloaded once by `cnn-grader datasets fetch cifar10` (kernels are offline);
without it the accuracy check is a grader configuration error, as MNIST's is.
"""

from __future__ import annotations

from typing import Any

from grader.checks.calls import Call
from grader.checks.core import Context, Fail
from grader.keras_support import architecture as arch
from grader.keras_support.budget import SMOKE, Training
from grader.keras_support.checks import add_accuracy_check, add_compile_check, model_file
from grader.keras_support.devices import expected_gpus
from grader.keras_support.properties import property_check
from grader.keras_support.spec import AccuracySpec
from grader.selfcheck.description import describe
from grader.selfcheck.judges import is_augmentation, labels
from grader.selfcheck.models import plain

TRAINING = Training(datasets=("cifar10",), smoke=SMOKE)
exercise = TRAINING.exercise("ex11_cifar10", "A CNN for CIFAR-10: augmentation and a GPU")
ex = exercise

INPUT_SHAPE = (32, 32, 3)
SHIFTS = {"RandomTranslation", "RandomRotation"}
NOISE = {
    "Dropout": "rate",
    "SpatialDropout1D": "rate",
    "SpatialDropout2D": "rate",
    "SpatialDropout3D": "rate",
    "GaussianDropout": "rate",
    "AlphaDropout": "rate",
    "GaussianNoise": "stddev",
}


# -- gpu_summary -----------------------------------------------------------------------------
def _shown(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 200 else repr(value)[:199] + "…"


@ex.check(
    points=1,
    call=Call("gpu_summary"),
    id="gpu_summary",
    title="gpu_summary: the GPUs the kernel could use",
    hint="names = [d for d in keras.distribution.list_devices() if d.startswith('gpu')]; "
    "return {'gpus': len(names), 'names': names}",
)
def gpu_summary(got: Any, ctx: Context) -> None:
    want = expected_gpus()
    if not isinstance(got, dict) or set(got) != {"gpus", "names"}:
        raise Fail(
            f"{ctx.text} returned {_shown(got)}; expected a dict with exactly the keys "
            "'gpus' and 'names'"
        )
    count, names = got["gpus"], got["names"]
    if not isinstance(count, int) or isinstance(count, bool):
        raise Fail(f"{ctx.text}: 'gpus' is {_shown(count)}, expected an int")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Fail(f"{ctx.text}: 'names' is {_shown(names)}, expected a list of str")
    given = f"{want} GPU{'s' if want != 1 else ''}" if want else "no GPU"
    if count != want:
        raise Fail(
            f"{ctx.text} says 'gpus': {count}, but the grader gave this kernel {given}"
            " (ask Keras: keras.distribution.list_devices(), or torch.cuda.device_count() "
            "under the PyTorch backend)"
        )
    if len(names) != count:
        raise Fail(
            f"{ctx.text}: 'names' has {len(names)} entries for {count} GPUs; expected "
            "one name per GPU"
        )
    if any("gpu" not in n.lower() and "cuda" not in n.lower() for n in names):
        raise Fail(
            f"{ctx.text}: 'names' is {_shown(names)}; expected the devices' names as "
            "Keras gives them ('gpu:0', …)"
        )


# -- the model's properties, as rules (grader.selfcheck.judges) graded and public alike ------
AUGMENTATION: list[dict[str, Any]] = [
    {
        "rule": "any",
        "classes": ["RandomFlip"],
        "where": {"mode": "horizontal"},
        "says": "RandomFlip('horizontal')",
    },
    {"rule": "any", "classes": sorted(SHIFTS), "says": "RandomTranslation or RandomRotation"},
    {"rule": "augmentation_first", "says": "augmentation layers first (before the first Conv2D)"},
]
STRUCTURE: list[dict[str, Any]] = [
    {"rule": "input", "shape": list(INPUT_SHAPE), "says": f"input {INPUT_SHAPE}"},
    {
        "rule": "blocks",
        "at_least": 2,
        "says": "at least two Conv2D + BatchNormalization + MaxPooling2D blocks",
    },
    {"rule": "any", "classes": ["Dropout"], "says": "Dropout"},
    {"rule": "output", "units": 10, "says": "output layer Dense(10, softmax)"},
]


BUILD = Call("build_cifar_cnn")
AUG_HINT = (
    "Start the model with keras.layers.RandomFlip('horizontal') and "
    "keras.layers.RandomTranslation(0.1, 0.1) (right after keras.Input(shape=(32, 32, 3))"
    "; a Rescaling(1/255) layer may come before or after them)."
)
ex.check(
    points=1.5,
    call=BUILD,
    id="cifar_augmentation",
    title="build_cifar_cnn: augmentation layers first",
    hint=AUG_HINT,
)(property_check(AUGMENTATION))
ex.check(
    points=2,
    call=BUILD,
    id="cifar_structure",
    title="build_cifar_cnn: input, Conv2D + BatchNormalization + MaxPooling2D blocks, "
    "Dropout, Dense(10, softmax)",
    hint="keras.Input(shape=(32, 32, 3)); twice (or more): Conv2D(…, padding='same', "
    "activation='relu'), BatchNormalization(), MaxPooling2D(2); then Flatten, "
    "Dropout(0.3…0.5) and Dense(10, activation='softmax').",
)(property_check(STRUCTURE))
add_compile_check(ex, BUILD, id="cifar_compile")


# -- augmentation only in training, judged by running the model ----------------------------
def _images(rescaled: bool) -> Any:
    import numpy as np

    x = np.random.default_rng(11).integers(0, 256, (8, *INPUT_SHAPE)).astype("float32")
    return x if rescaled else x / 255.0


def _outputs(model: Any, x: Any, *, training: bool, what: str) -> Any:
    import numpy as np

    try:
        out = model(x, training=training)
        return np.asarray(out, dtype="float64")
    except Exception as exc:  # noqa: BLE001 - the student's model on the grader's images
        raise Fail(
            f"{what} could not be applied to images of shape {tuple(x.shape)} "
            f"(training={training}): {type(exc).__name__}: {str(exc)[:200]}"
        ) from None


@ex.check(
    points=1.5,
    call=BUILD,
    id="cifar_augmentation_training_only",
    title="build_cifar_cnn: augmentation changes images in training only",
    hint="Use Keras' augmentation layers (RandomFlip, RandomTranslation, RandomRotation) "
    "inside the model: fit() runs them, evaluate() and predict() skip them. Do not "
    "call them with training=True or write your own augmentation layer.",
)
def augmentation_training_only(got: Any, ctx: Context) -> None:
    what = ctx.text
    try:  # a copy of its own: the calls below change BatchNormalization's statistics
        model = arch.load(model_file(got, what=what), what=what)
    except Fail as exc:
        raise Fail(
            f"{exc}. The grader runs the model with Keras' own layers only; augmentation "
            "must use them (RandomFlip, RandomTranslation, …), which are active only in "
            "training"
        ) from None
    ctx.extras["table"] = judge_training_only(model, what=what)


def judge_training_only(model: Any, *, what: str) -> list[list[Any]]:
    """The same 8 images twice at inference must give the same output; three times in
    training (dropout and noise layers switched off, so that only augmentation can vary)
    they must not. Returns the report's table, or raises Fail. `model` is changed."""
    import numpy as np

    from grader.keras_support.untrusted import memory_cap

    info = describe(model)
    x = _images(any(layer.kind == "Rescaling" for layer in info.layers))
    with memory_cap(what=what):
        first = _outputs(model, x, training=False, what=what)
        again = _outputs(model, x, training=False, what=what)
        if first.shape != again.shape or not np.allclose(first, again, rtol=0, atol=1e-6):
            raise Fail(
                f"{what}: at inference (training=False) the model gives different "
                "outputs for the same 8 images on two calls: augmentation (or other "
                "randomness) is active at inference, so predictions and the test "
                "accuracy would change from run to run"
            )
        _switch_off_noise(model)
        runs = [_outputs(model, x, training=True, what=what) for _ in range(3)]
    varies = any(
        r.shape != runs[0].shape or not np.allclose(r, runs[0], rtol=0, atol=1e-6) for r in runs[1:]
    )
    if not varies:
        augmenting = [x for x in plain(describe(model))["layers"] if is_augmentation(x)]
        raise Fail(
            f"{what}: in training (training=True, dropout switched off) the model gives "
            "the same output for the same 8 images on three calls, so nothing augments "
            f"them (augmentation layers found: {labels(augmenting)})"
        )
    return [
        ["call on the same 8 images", "expected", "your model"],
        ["twice at inference", "same output", {"text": "same output", "status": "ok"}],
        [
            "three times in training (dropout off)",
            "different outputs",
            {"text": "different outputs", "status": "ok"},
        ],
    ]


def _switch_off_noise(model: Any) -> None:
    """Dropout and noise layers at rate 0: what still varies in training is augmentation."""
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        attr = NOISE.get(type(layer).__name__)
        if attr is not None:
            setattr(layer, attr, 0.0)
        stack.extend(getattr(layer, "layers", []) or [])


# -- trained accuracy ------------------------------------------------------------------------
# The course asks for properties, not exact layers: the trained model is compared with what
# the notebook's build_cifar_cnn() returns, never with the reference's.
ACCURACY = AccuracySpec(
    "ex11_cifar10",
    "cifar_model",
    "cifar10",
    course_threshold=0.70,
    training=TRAINING,
    build="build_cifar_cnn",
    exact_architecture=False,
)
add_accuracy_check(
    ex,
    ACCURACY,
    points=3,
    id="cifar_accuracy",
    title="cifar_model reaches the test accuracy threshold",
    hint="Train the model from build_cifar_cnn() with cifar_model.fit(x_train, "
    "y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=...).",
)


# Functions without public examples in the student release, and why (what the self-check says).
ex.unchecked.update(
    {
        "gpu_summary": (
            "its answer depends on the machine: the grade compares it with the GPUs the grading "
            "machine gives your notebook"
        ),
    }
)

# Public self-checks: the model's properties and compile settings are judged on plain data by
# grader.selfcheck.judges, so the release ships them as they are; that augmentation is active
# in training only needs the model run by the grader, and accuracy needs the training: graded.
ex.public_properties = {"cifar_augmentation": AUGMENTATION, "cifar_structure": STRUCTURE}
ex.public_models = ("build_cifar_cnn",)  # its compile check, as graded
ex.after_run = ("cifar_model",)
