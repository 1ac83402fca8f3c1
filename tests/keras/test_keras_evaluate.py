"""The clean-process evaluation: the grader's own forward pass on its own copy of the test set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_helpers import keras
from keras_helpers import layers as L

from grader.checks.core import Fail
from grader.datasets import registry, sources
from grader.keras_support.evaluate import evaluate_model


@pytest.fixture
def fake_mnist(fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> sources.Located:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    return sources.require("mnist")


def small_cnn(outputs: int = 10) -> Any:
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(8, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(outputs, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def saved(model: Any, tmp_path: Path) -> Path:
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_trained_model_is_measured_by_the_grader(
    tmp_path: Path, fake_mnist: sources.Located, fake_mnist_dir: Path
) -> None:
    with np.load(fake_mnist_dir / "mnist.npz") as f:
        x, y = f["x_train"], f["y_train"]
    model = small_cnn()
    model.fit((x / 255.0)[..., None].astype("float32"), y, epochs=2, batch_size=64, verbose=0)
    result = evaluate_model(saved(model, tmp_path), fake_mnist, 400, what="model")
    assert result.total == 400 and result.accuracy > 0.9 and result.first == 500
    # the same number the model gives here, on the same images (the held-out half of the test
    # split: 500 of the fake's 1,000), with the same preprocessing
    with np.load(fake_mnist_dir / "mnist.npz") as f:
        xt, yt = f["x_test"][500:900], f["y_test"][500:900]
    mine = model.predict((xt / 255.0)[..., None].astype("float32"), verbose=0).argmax(axis=1)
    assert result.correct == int((mine == yt).sum())


def test_wrong_number_of_outputs_fails_with_the_shape(
    tmp_path: Path, fake_mnist: sources.Located
) -> None:
    with pytest.raises(Fail, match=r"`cnn_model`: the model outputs shape \(500, 5\)"):
        evaluate_model(saved(small_cnn(outputs=5), tmp_path), fake_mnist, 1000, what="`cnn_model`")


def test_model_with_code_in_it_is_not_run(tmp_path: Path, fake_mnist: sources.Located) -> None:
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), L.Flatten(), L.Dense(10), L.Lambda(lambda t: t * 0.0)]
    )
    with pytest.raises(Fail, match="uses Lambda"):
        evaluate_model(saved(model, tmp_path), fake_mnist, 100, what="`cnn_model`")
