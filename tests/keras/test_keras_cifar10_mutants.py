"""Wrong ex11 submissions fail the right checks, with words that name the mistake.

Model mutants are the solution's definitions with another build_cifar_cnn(); no data, no
training (`cifar_model` is not defined, so the accuracy check is not_attempted), one kernel
each. The augmentation check runs the built model in the grader: without augmentation nothing
varies in training; augmentation that is active at inference (here a layer of the student's
own that always augments: Keras' layers cannot be made to) cannot even be loaded there.
The judge itself is also run on live models, where inference randomness can be built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helpers
import keras_helpers
import pytest

from grader.checks.core import Fail
from grader.exercises import ex11_cifar10 as ex11
from grader.keras_support import devices

EID = "ex11_cifar10"


@pytest.fixture(autouse=True)
def with_cifar(fake_cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The accuracy check needs the dataset before it can say `cifar_model` is missing."""
    from grader.datasets import registry

    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_cifar10_dir))


BODY = """def build_cifar_cnn():
    model = keras.Sequential([
{layers}
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""
INPUT = ["keras.Input(shape=(32, 32, 3))"]
AUGMENT = ['keras.layers.RandomFlip("horizontal")', "keras.layers.RandomTranslation(0.1, 0.1)"]
SCALE = ["keras.layers.Rescaling(1 / 255)"]
BLOCK = [
    'keras.layers.Conv2D({f}, 3, padding="same", activation="relu")',
    "keras.layers.BatchNormalization(momentum=0.9)",
    "keras.layers.MaxPooling2D(2)",
]
HEAD = [
    "keras.layers.Flatten()",
    "keras.layers.Dropout(0.3)",
    'keras.layers.Dense(10, activation="softmax")',
]


def blocks(*filters: int) -> list[str]:
    return [line.format(f=f) for f in filters for line in BLOCK]


ALWAYS_FLIP = '''
@keras.saving.register_keras_serializable()
class AlwaysFlip(keras.layers.Layer):
    """Augments at inference too: calls RandomFlip with training=True."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flip = keras.layers.RandomFlip("horizontal")

    def call(self, x, training=None):
        return self.flip(x, training=True)


'''

# name: (layers, extra source before the function, {check: words in its message})
MUTANTS: dict[str, tuple[list[str], str, dict[str, str]]] = {
    "no_augmentation": (
        INPUT + SCALE + blocks(16, 32) + HEAD,
        "",
        {
            "cifar_augmentation": "RandomFlip('horizontal') (found: none)",
            "cifar_augmentation_training_only": "nothing augments them",
        },
    ),
    "augmentation_after_the_convolutions": (
        INPUT + SCALE + blocks(16) + AUGMENT + blocks(32) + HEAD,
        "",
        {"cifar_augmentation": "augmentation layers first"},
    ),
    "augmentation_at_inference": (
        INPUT + ["AlwaysFlip()"] + AUGMENT[1:] + SCALE + blocks(16, 32) + HEAD,
        ALWAYS_FLIP,
        {"cifar_augmentation_training_only": "AlwaysFlip"},
    ),
    "one_block_no_batchnorm": (
        INPUT
        + AUGMENT
        + SCALE
        + blocks(16)
        + [
            'keras.layers.Conv2D(32, 3, padding="same", activation="relu")',
            "keras.layers.MaxPooling2D(2)",
        ]
        + HEAD,
        "",
        {"cifar_structure": "at least two Conv2D + BatchNormalization + MaxPooling2D blocks"},
    ),
}


def build(layers: list[str], extra: str = "") -> str:
    return extra + BODY.format(layers="\n".join(f"        {x}," for x in layers))


@pytest.mark.parametrize("name", list(MUTANTS))
def test_model_mutant_fails_the_right_checks(make_notebook: Any, name: str) -> None:
    layers, extra, expect = MUTANTS[name]
    path = make_notebook([helpers.solution_definitions(EID), build(layers, extra)], exercise=EID)
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert "error" not in status.values(), helpers.describe(result)
    assert status["cifar_accuracy"] == "not_attempted"
    assert status["gpu_summary"] == "passed"
    for check, words in expect.items():
        assert status[check] == "failed", helpers.describe(result)
        assert words in helpers.by_id(result)[check].message, helpers.describe(result)
    if name != "augmentation_at_inference":  # Keras' own layers: the rest is right
        assert status["cifar_compile"] == "passed"
        others = set(status) - set(expect) - {"cifar_accuracy"}
        assert {status[c] for c in others} == {"passed"}, helpers.describe(result)


def test_a_gpu_summary_that_claims_a_gpu_it_was_not_given_fails(make_notebook: Any) -> None:
    claim = 0 if devices.expected_gpus() else 1
    source = f"def gpu_summary():\n    return {{'gpus': {claim}, 'names': {['gpu:0'] * claim!r}}}\n"
    result = helpers.grade_nb(
        make_notebook([helpers.solution_definitions(EID), source], exercise=EID)
    )
    assert helpers.statuses(result)["gpu_summary"] == "failed", helpers.describe(result)
    assert "the grader gave this kernel" in helpers.by_id(result)["gpu_summary"].message


@pytest.mark.parametrize(
    "environ, present, want",
    [
        ({}, [], 0),
        ({}, ["nvidia0", "nvidia1"], 2),
        ({"CUDA_VISIBLE_DEVICES": ""}, ["nvidia0"], 0),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, ["nvidia0"], 0),
        ({"CUDA_VISIBLE_DEVICES": "1"}, ["nvidia0", "nvidia1"], 1),
        ({"CUDA_VISIBLE_DEVICES": "0,7,1"}, ["nvidia0", "nvidia1"], 1),  # CUDA stops at 7
        ({"CUDA_VISIBLE_DEVICES": "0,1"}, [], 0),
    ],
)
def test_the_gpus_a_kernel_gets_follow_cuda_visible_devices(
    environ: dict[str, str], present: list[str], want: int
) -> None:
    assert devices.gpus_given_to_kernels(environ, present) == want


@pytest.mark.parametrize("given, usable, want", [(0, None, 0), (2, None, 2), (2, 0, 0), (2, 1, 1)])
def test_a_gpu_tensorflow_cannot_use_was_not_given(
    monkeypatch: pytest.MonkeyPatch, given: int, usable: int | None, want: int
) -> None:
    """A machine with an NVIDIA device but a TensorFlow without CUDA libraries gives kernels no
    GPU; a machine without devices never starts TensorFlow to ask."""

    def backend_gpus(visible: str | None, backend: str = "tensorflow") -> int | None:
        assert given, "the backend asked on a machine without GPUs"
        return usable

    monkeypatch.setattr(devices, "gpus_given_to_kernels", lambda: given)
    monkeypatch.setattr(devices, "backend_gpus", backend_gpus)
    assert devices.expected_gpus() == want


def test_tensorflow_in_this_environment_is_asked_in_a_child_process() -> None:
    assert devices.tensorflow_gpus("-1") == 0  # no GPU is visible with CUDA_VISIBLE_DEVICES=-1


@pytest.mark.parametrize(
    "got, words",
    [
        ({"gpus": 0}, "exactly the keys"),
        ({"gpus": "0", "names": []}, "expected an int"),
        ({"gpus": 0, "names": ["cpu"]}, "1 entries for 0 GPUs"),
    ],
)
def test_malformed_gpu_summaries_fail_with_what_is_wrong(got: Any, words: str) -> None:
    from grader.checks.core import Context

    if devices.expected_gpus():
        pytest.skip("written for a machine whose kernels get no GPU")
    ctx = Context(text="gpu_summary()", args=(), kwargs={}, reference=None, call=None)
    with pytest.raises(Fail, match=words):
        ex11.gpu_summary(got, ctx)
    ex11.gpu_summary({"gpus": 0, "names": []}, ctx)


# -- the judge on live models ---------------------------------------------------------------
def live(augment: bool, *, at_inference: bool = False) -> Any:
    keras, layers = keras_helpers.keras, keras_helpers.layers
    front: list[Any] = []
    if augment:
        front = [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1)]
    if at_inference:
        flip = layers.RandomFlip("horizontal")

        class AlwaysFlip(layers.Layer):  # type: ignore[name-defined]
            def call(self, x: Any, training: Any = None) -> Any:
                return flip(x, training=True)

        front = [AlwaysFlip()]
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *front,
            layers.Rescaling(1 / 255),
            layers.Conv2D(8, 3),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_judge_passes_augmentation_in_training_only() -> None:
    table = ex11.judge_training_only(live(True), what="build_cifar_cnn()")
    assert table[2][2] == {"text": "different outputs", "status": "ok"}


def test_judge_fails_randomness_at_inference() -> None:
    with pytest.raises(Fail, match="active at inference"):
        ex11.judge_training_only(live(False, at_inference=True), what="build_cifar_cnn()")


def test_judge_fails_a_model_whose_only_randomness_is_dropout() -> None:
    with pytest.raises(Fail, match="nothing augments them"):
        ex11.judge_training_only(live(False), what="build_cifar_cnn()")
