"""Any Keras 3 backend: KERAS_BACKEND (TensorFlow by default, JAX, PyTorch) is handed to the
kernel and the judge, calibrations are keyed by it, and under JAX no process of the grading
loads TensorFlow.

The grading under JAX runs `cnn-grader grade` in a child process (this one's Keras already
runs on TensorFlow) with a `tensorflow` package first on PYTHONPATH whose import raises a
RuntimeError: Keras takes an ImportError for "not installed", anything else breaks what
imported it, so full marks mean that neither the grading process, nor the kernel, nor the
judge imported TensorFlow, as on a machine with JAX and no TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import helpers
import pytest
from keras_helpers import ROOT, needs_jax, no_tensorflow_path

from grader import backends
from grader.errors import ConfigurationError
from grader.execution import warm
from grader.exercises import get
from grader.keras_support import calibration, judge
from grader.keras_support.spec import AccuracySpec


def _spec() -> tuple[object, AccuracySpec]:
    exercise = get("ex04_dense_baseline")
    spec = next(c.fn.spec for c in exercise.checks if hasattr(c.fn, "spec"))
    assert isinstance(spec, AccuracySpec)
    return exercise, spec


def test_the_backend_is_keras_backend_tensorflow_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backends.current() == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backends.current() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    with pytest.raises(ConfigurationError, match="trains with jax, tensorflow, torch"):
        backends.current()


def test_kernel_judge_and_prelude_get_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert judge.judge_env()["KERAS_BACKEND"] == "tensorflow"
    assert warm.training_prelude() == warm.TRAINING_PRELUDE
    assert get("ex04_dense_baseline").kernel_env is not None
    assert get("ex04_dense_baseline").kernel_env("smoke")["KERAS_BACKEND"] == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    env = judge.judge_env()
    assert env["KERAS_BACKEND"] == "jax" and env["JAX_PLATFORMS"] == "cpu"
    assert env["CUDA_VISIBLE_DEVICES"] == "-1"
    assert warm.training_prelude() == ("numpy", "jax", "keras")
    assert get("ex04_dense_baseline").kernel_env("smoke")["KERAS_BACKEND"] == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert warm.training_prelude() == ("numpy", "torch", "keras")


def test_calibrations_are_keyed_by_backend(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """TensorFlow's key is the one it always was (caches and shipped calibrations stay
    valid); JAX's names the backend, and a TensorFlow measurement is never its threshold."""
    path = tmp_path / "calibration.json"
    monkeypatch.setattr(calibration, "calibration_path", lambda: path)
    exercise, spec = _spec()
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    tf_key = calibration.calibration_key(exercise, spec, "smoke")
    assert "backend" not in tf_key and "jax" not in tf_key and tf_key["tensorflow"]
    assert calibration.machine_kind().split(", ")[1].startswith("tensorflow ")
    calibration.store(exercise, spec, "smoke", 0.8, seconds=1.0)
    (entry,) = json.loads(path.read_text()).values()
    assert {k: entry[k] for k in tf_key} == tf_key  # the key as TensorFlow's always was
    assert calibration.cached(exercise, spec, "smoke") == 0.8

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    jax_key = calibration.calibration_key(exercise, spec, "smoke")
    assert jax_key["backend"] == "jax" and "jax" in jax_key and "tensorflow" not in jax_key
    assert calibration.machine_kind().split(", ")[1] == backends.describe("jax")
    assert calibration.cached(exercise, spec, "smoke") is None
    assert calibration.measured_elsewhere(exercise, spec, "smoke") == [
        f"{tf_key['device']}, tensorflow {tf_key['tensorflow']}, keras {tf_key['keras']}"
    ]
    calibration.store(exercise, spec, "smoke", 0.7, seconds=2.0)
    assert calibration.cached(exercise, spec, "smoke") == 0.7
    monkeypatch.delenv("KERAS_BACKEND")
    assert calibration.cached(exercise, spec, "smoke") == 0.8
    assert calibration.measured_elsewhere(exercise, spec, "smoke") == [
        f"{tf_key['device']}, {backends.describe('jax')}, keras {tf_key['keras']}"
    ]


def jax_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment (the smoke budget of conftest.keras_test_env) with
    KERAS_BACKEND=jax, a cache of its own and TensorFlow made to fail on import (first on
    PYTHONPATH, before this worktree)."""
    env = dict(os.environ)
    env.update(
        {
            "KERAS_BACKEND": "jax",
            "CNN_GRADER_CACHE_DIR": str(tmp_path / "cache"),
            "KERAS_HOME": str(tmp_path / "keras-home"),
            "PYTHONPATH": os.pathsep.join(
                [str(no_tensorflow_path(tmp_path)), str(ROOT)]
                + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            ),
            **extra,
        }
    )
    return env


@needs_jax
@pytest.mark.usefixtures("needs_fashion_mnist")
def test_ex04_solution_gets_full_marks_under_jax_without_tensorflow(tmp_path: Path) -> None:
    env = jax_env(tmp_path)
    probe = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    assert "tensorflow imported while grading" in probe.stderr  # the trap is set
    out = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "grade",
            str(helpers.solution_path("ex04_dense_baseline")),
            "--profile",
            "smoke",
            "--seed",
            str(helpers.SEED),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "ex04_dense_baseline.json").read_text())
    failed = {c["id"]: c["message"] for c in report["checks"] if c["status"] != "passed"}
    assert not failed, failed
    assert report["score"] == report["max_score"] == 10
    assert report["environment"]["jax"] == backends.version("jax")
    assert "tensorflow" not in report["environment"]
    entries = json.loads((tmp_path / "cache" / "calibration.json").read_text())
    (entry,) = entries.values()
    assert entry["backend"] == "jax" and "tensorflow" not in entry
    accuracy = next(c for c in report["checks"] if c["id"] == "dense_accuracy")
    assert accuracy["details"]["accuracy"] == entry["accuracy"]  # same seed, same number
