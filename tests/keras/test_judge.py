"""The warm judge (grader.keras_support.judge): the numbers of a fresh evaluation process, in
any order; a crafted file that brings it down or holds it costs that check only, and the next
request gets a fresh process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_helpers import keras
from keras_helpers import layers as L

from grader.checks.core import Fail
from grader.datasets import registry, sources
from grader.errors import InternalError
from grader.keras_support import evaluate, judge
from grader.keras_support.evaluate import evaluate_model


@pytest.fixture
def fake_mnist(fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> sources.Located:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    return sources.require("mnist")


@pytest.fixture
def fresh_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[judge.Judge]:
    """A judge of the test's own, put where `evaluate_model` looks for this process's."""
    j = judge.Judge()
    monkeypatch.setattr(judge, "_shared", j)
    try:
        yield j
    finally:
        j.close()


def models(tmp_path: Path, fake_mnist_dir: Path) -> list[Path]:
    """Three differently trained models: trained, untrained, briefly trained with dropout."""
    with np.load(fake_mnist_dir / "mnist.npz") as f:
        x, y = (f["x_train"] / 255.0)[..., None].astype("float32"), f["y_train"]
    out = []
    for i, (epochs, dropout, n) in enumerate([(2, 0.0, len(x)), (0, 0.0, 0), (1, 0.3, 96)]):
        keras.utils.set_random_seed(i)
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                L.Conv2D(4, 3, activation="relu"),
                L.Flatten(),
                L.Dropout(dropout),
                L.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        if epochs:
            model.fit(x[:n], y[:n], epochs=epochs, batch_size=32, verbose=0)
        path = tmp_path / f"m{i}.keras"
        model.save(path)
        out.append(path)
    return out


def fresh_process(path: Path, found: sources.Located, samples: int) -> dict[str, Any]:
    """What the one-shot `python -m grader.keras_support.evaluate` says of the same file."""
    request = {
        "model": str(path),
        "dataset": found.dataset.id,
        "origin": found.origin,
        "files": {k: str(v) for k, v in found.paths.items()},
        "samples": samples,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "grader.keras_support.evaluate"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=judge.judge_env(),
        timeout=300,
        check=True,
    )
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(evaluate.MARKER))
    reply: dict[str, Any] = json.loads(line[len(evaluate.MARKER) :])
    return reply


def test_the_judge_agrees_with_a_fresh_process_in_any_order(
    tmp_path: Path, fake_mnist: sources.Located, fake_mnist_dir: Path, fresh_judge: judge.Judge
) -> None:
    paths = models(tmp_path, fake_mnist_dir)
    forward = [evaluate_model(p, fake_mnist, 400, what="m") for p in paths]
    backward = [evaluate_model(p, fake_mnist, 400, what="m") for p in reversed(paths)][::-1]
    assert forward == backward
    assert len({r.correct for r in forward}) == 3, "the three models should differ"
    for path, result in zip(paths, forward, strict=False):
        want = fresh_process(path, fake_mnist, 400)
        assert (result.correct, result.total, result.first) == (
            want["correct"],
            want["total"],
            want["first"],
        )
    assert fresh_judge.alive, "one warm process served all six requests"


def test_a_judge_that_dies_costs_one_check_and_is_replaced(
    tmp_path: Path,
    fake_mnist: sources.Located,
    fake_mnist_dir: Path,
    fresh_judge: judge.Judge,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = models(tmp_path, fake_mnist_dir)[0]
    want = evaluate_model(path, fake_mnist, 200, what="m")
    first_pid = fresh_judge._proc.pid  # type: ignore[union-attr]

    real_read = judge.Judge._read

    def dies_while_reading(self: judge.Judge, proc: Any, timeout: float) -> dict[str, Any]:
        os.kill(proc.pid, signal.SIGKILL)  # as the OOM killer or a segfault would
        return real_read(self, proc, timeout)

    monkeypatch.setattr(judge.Judge, "_read", dies_while_reading)
    with pytest.raises(InternalError, match="ended with code -9 without a result"):
        evaluate_model(path, fake_mnist, 200, what="m")
    assert not fresh_judge.alive
    monkeypatch.setattr(judge.Judge, "_read", real_read)
    assert evaluate_model(path, fake_mnist, 200, what="m") == want
    assert fresh_judge._proc.pid != first_pid  # type: ignore[union-attr]


def test_a_judge_that_does_not_answer_in_time_fails_the_check_and_is_replaced(
    tmp_path: Path, fake_mnist: sources.Located, fake_mnist_dir: Path, fresh_judge: judge.Judge
) -> None:
    path = models(tmp_path, fake_mnist_dir)[0]
    fresh_judge.close()  # cold: importing TensorFlow alone takes longer than 0.05 s
    with pytest.raises(Fail, match=r"m: evaluating the model on the test set took more than 0s"):
        evaluate_model(path, fake_mnist, 200, what="m", timeout=0.05)
    assert not fresh_judge.alive
    assert evaluate_model(path, fake_mnist, 200, what="m").total == 200


def test_after_an_unusable_model_the_next_request_gets_a_fresh_process(
    tmp_path: Path, fake_mnist: sources.Located, fake_mnist_dir: Path, fresh_judge: judge.Judge
) -> None:
    good = models(tmp_path, fake_mnist_dir)[0]
    keras.utils.set_random_seed(0)
    five = keras.Sequential(
        [keras.Input((28, 28, 1)), L.Flatten(), L.Dense(5, activation="softmax")]
    )
    bad = tmp_path / "five.keras"
    five.save(bad)
    evaluate_model(good, fake_mnist, 100, what="m")
    pid = fresh_judge._proc.pid  # type: ignore[union-attr]
    with pytest.raises(Fail, match=r"m: the model outputs shape \(100, 5\)"):
        evaluate_model(bad, fake_mnist, 100, what="m")
    assert not fresh_judge.alive, "a judge that saw a bad model was kept"
    evaluate_model(good, fake_mnist, 100, what="m")
    assert fresh_judge._proc.pid != pid  # type: ignore[union-attr]
