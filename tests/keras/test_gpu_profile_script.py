"""benchmarks/gpu_full_profile.sh, run on the CPU with a tiny budget so that it cannot rot: JAX,
no TensorFlow (a `tensorflow` package first on PYTHONPATH that raises on import), the smoke
profile with a few hundred images, two concurrent copies of ex05.

The whole of it (three notebooks calibrated and graded, two copies of ex05 at once) takes about
4 minutes on two busy CPU cores (247 s measured), hence `slow` (`pytest -m slow
tests/keras/test_gpu_profile_script.py`); the default suite runs the same script on ex04 alone,
calibrated, graded, then graded twice at once, and the syntax checks of both scripts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from keras_helpers import ROOT, needs_jax, no_tensorflow_path

SCRIPT = ROOT / "benchmarks" / "gpu_full_profile.sh"
WHEELS = ROOT / "benchmarks" / "gpu_wheels.sh"
TINY = "epochs=1,train_samples=300,test_samples=100,eval_samples=200"


@pytest.mark.parametrize("script", [SCRIPT, WHEELS], ids=lambda p: p.name)
def test_the_scripts_parse(script: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _run(tmp_path: Path, **settings: str) -> str:
    env = dict(os.environ)
    env.update(
        {
            "KERAS_BACKEND": "jax",
            "PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join(
                [str(no_tensorflow_path(tmp_path)), str(ROOT)]
                + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            ),
            "GPU_PROFILE_PROFILE": "smoke",
            "GPU_PROFILE_COPIES": "2",
            "GPU_PROFILE_OUT": str(tmp_path / "out"),
            "GPU_PROFILE_DEADLINE_S": "900",  # two busy CPU cores, not a GPU
            "CNN_GRADER_SMOKE_BUDGET": TINY,
            "KERAS_HOME": str(tmp_path / "keras-home"),
            **settings,
        }
    )
    env.pop("CNN_GRADER_CACHE_DIR", None)  # the script's own, in its out folder
    proc = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=1000
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert "cnn-grader on jax, profile smoke" in proc.stdout, text
    assert "examples/s" in proc.stdout and "kernel peak" in proc.stdout
    assert "wall time:" in proc.stdout
    return proc.stdout


@needs_jax
@pytest.mark.usefixtures("needs_fashion_mnist")
def test_the_gpu_script_runs_ex04_on_the_cpu_under_jax_without_tensorflow(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        GPU_PROFILE_EXERCISES="ex04_dense_baseline",
        GPU_PROFILE_CONCURRENT="ex04_dense_baseline",
    )
    assert "2 copies of ex04_dense_baseline at once" in out, out
    summary = re.findall(r"^ex04\S* +10/10 +acc .* examples/s +kernel peak", out, re.M)
    assert len(summary) == 3, out  # the solution, then the 2 concurrent copies


@pytest.mark.slow
@needs_jax
@pytest.mark.usefixtures("needs_fashion_mnist")
def test_the_gpu_script_runs_on_the_cpu_under_jax_without_tensorflow(tmp_path: Path) -> None:
    out = _run(tmp_path)
    for eid in ("ex04_dense_baseline", "ex05_cnn", "ex06_regularization"):
        assert eid in out
    assert "2 copies of ex05_cnn at once" in out, out
    summary = re.findall(r"^ex0\S+ +10/10 +acc .* examples/s +kernel peak", out, re.M)
    assert len(summary) == 5, out  # the 3 solutions, then the 2 concurrent copies
