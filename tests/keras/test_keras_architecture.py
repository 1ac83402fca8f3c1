"""The architecture diff: every kind of difference is named, nothing is zipped away.

Models are built in this process and, where loading matters, saved and loaded back as the
grader loads a student's file (safe_mode=True).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keras_helpers import keras
from keras_helpers import layers as L

from grader.checks.core import Fail
from grader.keras_support import architecture as arch
from grader.selfcheck.comparison import Comparison, compare_compile, compare_layers
from grader.selfcheck.description import ModelInfo, describe, from_data, to_data


def course_cnn(
    *,
    extra_dense: bool = False,
    drop_second_pool: bool = False,
    padding: str = "valid",
    activation: str = "relu",
    swap: bool = False,
    drop_output: bool = False,
    separate_relu: bool = False,
    compile_: bool = True,
    loss: Any = "sparse_categorical_crossentropy",
) -> Any:
    """The ex05 CNN, or one of the mistakes students make with it."""
    first = (
        [L.Conv2D(64, 3, padding=padding)] + [L.Activation(activation)]
        if separate_relu
        else [L.Conv2D(64, 3, activation=activation, padding=padding)]
    )
    layers = [
        keras.Input((28, 28, 1)),
        *first,
        L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(128, activation="relu"),
    ]
    if drop_second_pool:
        layers.pop(-3)
    if swap:  # the second convolution before the first pooling
        i = 1 + len(first)
        layers[i], layers[i + 1] = layers[i + 1], layers[i]
    if extra_dense:
        layers.append(L.Dense(64, activation="relu"))
    if not drop_output:
        layers.append(L.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    if compile_:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def want() -> ModelInfo:
    return describe(course_cnn())


def diff(model: Any, want: ModelInfo) -> Comparison:
    return compare_layers(describe(model), want)


def test_the_reference_matches_itself(want: ModelInfo) -> None:
    result = diff(course_cnn(), want)
    assert result.problems == []
    assert want.params == 243_786
    assert [x.label() for x in want.layers] == [
        "Conv2D(64, 3, relu)",
        "MaxPooling2D(2)",
        "Conv2D(64, 3, relu)",
        "MaxPooling2D(2)",
        "Flatten",
        "Dense(128, relu)",
        "Dense(10, softmax)",
    ]


def test_extra_dense_is_named_with_its_place(want: ModelInfo) -> None:
    result = diff(course_cnn(extra_dense=True), want)
    assert result.problems == ["extra Dense(64, relu) before the output layer (Dense(10, softmax))"]
    extra_rows = [r for r in result.table if isinstance(r[4], dict) and "(extra)" in r[4]["text"]]
    assert len(extra_rows) == 1 and extra_rows[0][4]["status"] == "bad"


def test_missing_pooling_layer_is_named_with_its_place(want: ModelInfo) -> None:
    result = diff(course_cnn(drop_second_pool=True), want)
    assert result.problems == ["missing MaxPooling2D(2) after Conv2D #2"]
    assert any(isinstance(r[4], dict) and r[4]["text"] == "— missing —" for r in result.table)


def test_wrong_padding_is_a_setting_of_the_right_layer(want: ModelInfo) -> None:
    result = diff(course_cnn(padding="same"), want)
    assert result.problems == ["Conv2D #1: padding is 'same', expected 'valid'"]


def test_wrong_activation_is_a_setting_of_the_right_layer(want: ModelInfo) -> None:
    result = diff(course_cnn(activation="tanh"), want)
    assert result.problems == ["Conv2D #1: activation is 'tanh', expected 'relu'"]


def test_a_missing_last_layer_is_noticed(want: ModelInfo) -> None:
    """What zip() over the two layer lists would miss."""
    result = diff(course_cnn(drop_output=True), want)
    assert result.problems == ["missing the output layer Dense(10, softmax) after Dense #1"]


def test_reordered_layers_are_called_misplaced(want: ModelInfo) -> None:
    result = diff(course_cnn(swap=True), want)
    assert len(result.problems) == 1
    assert "is in the wrong place: it should come after MaxPooling2D #1" in result.problems[0]


def test_a_separate_activation_layer_is_the_same_model(want: ModelInfo) -> None:
    assert diff(course_cnn(separate_relu=True), want).problems == []


def test_input_shape_is_compared_apart_from_the_layers(want: ModelInfo) -> None:
    model = keras.Sequential([keras.Input((28, 28)), L.Reshape((28, 28, 1)), *course_cnn().layers])
    result = diff(model, want)
    assert result.problems[0].startswith("the input shape is (28, 28), expected (28, 28, 1)")
    assert result.problems[1] == "extra Reshape before Conv2D #1"


def test_side_by_side_table_has_every_row(want: ModelInfo) -> None:
    table = diff(course_cnn(extra_dense=True), want).table
    assert table[0][:2] == ["#", "expected layer"]
    assert table[1][0] == "input" and table[-1][0] == "total"
    assert len(table) == 2 + 8 + 1  # header, input, 7 expected + 1 extra, total
    assert table[-1][6] == {"text": "251,402", "status": "bad"}


def test_compile_settings(want: ModelInfo) -> None:
    ok = compare_compile(describe(course_cnn()), want)
    assert ok.problems == [] and ok.table[0] == ["setting", "expected", "yours"]
    wrong = compare_compile(describe(course_cnn(loss="categorical_crossentropy")), want)
    assert len(wrong.problems) == 1
    assert (
        "the loss is 'categorical_crossentropy', expected 'sparse_categorical_crossentropy'"
        in wrong.problems[0]
        and "one-hot" in wrong.problems[0]
    )
    logits = compare_compile(
        describe(course_cnn(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))),
        want,
    )
    assert "from_logits=True" in logits.problems[0]
    assert "already applies softmax" in logits.problems[0]
    linear = course_cnn(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    linear.layers[-1].activation = keras.activations.linear
    told = compare_compile(describe(linear), want).problems[0]
    assert "your last layer is linear" in told and "already applies softmax" not in told
    bare = compare_compile(describe(course_cnn(compile_=False)), want)
    assert bare.problems[0].startswith("it is not compiled: call model.compile(")


def save(model: Any, tmp_path: Path, name: str = "m.keras") -> Path:
    path = tmp_path / name
    model.save(path)
    return path


def test_loading_keeps_everything_the_diff_needs(tmp_path: Path, want: ModelInfo) -> None:
    loaded = arch.load(save(course_cnn(extra_dense=True), tmp_path), what="build_cnn()")
    info = describe(loaded)
    assert compare_layers(info, want).problems == [
        "extra Dense(64, relu) before the output layer (Dense(10, softmax))"
    ]
    assert info.compile is not None and info.compile.loss == "sparse_categorical_crossentropy"
    assert info.compile.metrics == ("accuracy",)


def test_lambda_layers_are_refused_by_safe_mode(tmp_path: Path) -> None:
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Lambda(lambda t: t * 2.0),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ]
    )
    with pytest.raises(Fail, match="the model uses Lambda .*not a built-in Keras layer"):
        arch.load(save(model, tmp_path), what="build_cnn()")


def test_a_custom_layer_class_is_named(tmp_path: Path) -> None:
    class Doubler(L.Layer):  # defined in the notebook: the grader process does not have it
        def call(self, x: Any) -> Any:
            return x * 2.0

    model = keras.Sequential(
        [keras.Input((28, 28, 1)), Doubler(), L.Flatten(), L.Dense(10, activation="softmax")]
    )
    with pytest.raises(Fail, match=r"build_cnn\(\): the model uses Doubler \(module "):
        arch.load(save(model, tmp_path), what="build_cnn()")


def test_subclass_overriding_predict_cannot_be_loaded(tmp_path: Path) -> None:
    class Cheat(keras.Sequential):  # type: ignore[misc,name-defined]
        def predict(self, *args: Any, **kwargs: Any) -> Any:
            return 1

    model = Cheat([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(10, activation="softmax")])
    with pytest.raises(Fail, match="build_cnn\\(\\): the model uses Cheat"):
        arch.load(save(model, tmp_path), what="build_cnn()")


def test_nested_augmentation_model_is_flattened_for_the_property_checks() -> None:
    from grader.exercises.ex06_regularization import AUGMENTATION, L2_PENALTY, NORMALISATION
    from grader.selfcheck.judges import properties
    from grader.selfcheck.models import plain

    def holds(model: keras.Model, rules: list[dict]) -> list[bool]:
        return [ok for _, ok, _ in properties(plain(describe(model)), rules)]

    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomZoom(0.1)])
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            augment,
            L.Conv2D(8, 3),
            L.BatchNormalization(),
            L.Flatten(),
            L.Dense(16, kernel_regularizer=keras.regularizers.l1_l2(0.0, 1e-3)),
            L.Dropout(0.6),
            L.Dense(10, activation="softmax", kernel_regularizer="l2"),
        ]
    )
    assert holds(model, AUGMENTATION) == [True, True]
    assert holds(model, NORMALISATION) == [True, False]  # rate 0.6 is out of range
    assert holds(model, L2_PENALTY) == [True]  # L1L2 with l2 > 0, on the hidden Dense
    bare = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.RandomFlip("vertical"),
            L.Flatten(),
            L.Dense(10, kernel_regularizer="l2"),
        ]
    )
    assert holds(bare, AUGMENTATION) == [False, False]
    assert holds(bare, L2_PENALTY) == [False]  # only the output layer has it


def test_a_description_travels_as_data_unchanged() -> None:
    """The self-check cell and `check --course`'s driver send the description as JSON: what
    arrives compares exactly as the live one."""
    import json

    model = course_cnn()
    info = describe(model)
    again = from_data(json.loads(json.dumps(to_data(info))))
    assert again == info
    assert compare_layers(again, info).problems == []


def test_functional_model_is_the_same_model(want: ModelInfo) -> None:
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for layer in course_cnn().layers:
        x = type(layer).from_config(layer.get_config())(x)
    assert diff(keras.Model(inputs, x), want).problems == []


def test_a_model_without_an_input_shape_is_told_how_to_give_it_one(
    tmp_path: Path, want: ModelInfo
) -> None:
    unbuilt = keras.Sequential([type(x).from_config(x.get_config()) for x in course_cnn().layers])
    unbuilt.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.warns(UserWarning):
        path = save(unbuilt, tmp_path)
    result = diff(arch.load(path, what="build_cnn()"), want)
    assert result.problems == [
        "the input shape is ?, expected (28, 28, 1): start the model with "
        "keras.Input(shape=(28, 28, 1))"
    ]
