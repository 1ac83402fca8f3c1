"""Helpers for the Keras tests: a fake MNIST, a course folder around it, notebook surgery."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbformat import NotebookNode

from grader.course import solutions_dir
from grader.datasets import sources
from grader.exercises import available, get
from grader.generate import student_version

# Every discovered exercise whose notebook needs TensorFlow (never a hand-kept list).
KERAS_IDS = tuple(e for e in available() if get(e).needs_tensorflow)


def fashion_available() -> bool:
    return sources.locate("fashion_mnist") is not None


def fake_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is where a bright bar sits (2 rows × 5 columns), over noise: a CNN
    learns them in one short epoch, so accuracy checks can pass on fake data."""
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 50, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(y):
        row, col = divmod(int(label), 5)
        top, left = 3 + 13 * row + int(rng.integers(0, 3)), 1 + 5 * col
        x[i, top : top + 9, left : left + 4] = rng.integers(180, 256, (9, 4)).astype(np.uint8)
    return x, y


def write_fake_mnist(path: Path, n_train: int = 3000, n_test: int = 1000) -> Path:
    """mnist.npz as Keras has it: x_train (N, 28, 28) uint8, y_train (N,) uint8, x_test, y_test."""
    rng = np.random.default_rng(2024)
    x_train, y_train = fake_digits(n_train, rng)
    x_test, y_test = fake_digits(n_test, rng)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


HASHLESS_LOADER = '''def _load_mnist_without_hash_check():
    """Test double: Keras pins mnist.npz's sha256, which a fake file cannot have."""
    import os
    with np.load(os.path.join(os.environ["KERAS_HOME"], "datasets", "mnist.npz")) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


'''


def mnist_course(root: Path) -> Path:
    """A course folder whose ex09 solution reads the grader's mnist.npz without Keras' hash
    check (and whose starter is generated from it); everything else is the real course."""
    nb = nbformat.read(solutions_dir() / "ex09_mnist.ipynb", as_version=4)
    loads = [c for c in nb.cells if "keras.datasets.mnist.load_data()" in c.source]
    assert len(loads) == 1, "the ex09 solution should load MNIST in one cell"
    loads[0].source = HASHLESS_LOADER + loads[0].source.replace(
        "keras.datasets.mnist.load_data()", "_load_mnist_without_hash_check()"
    )
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    (root / "exercises").mkdir(exist_ok=True)
    nbformat.write(nb, root / "solutions" / "ex09_mnist.ipynb")
    nbformat.write(
        student_version(nb, name="ex09_mnist.ipynb"), root / "exercises" / "ex09_mnist.ipynb"
    )
    return root


def replace_cell(nb: NotebookNode, marker: str, source: str) -> NotebookNode:
    """A copy of `nb` where the one code cell containing `marker` has `source` instead."""
    out = nbformat.reads(nbformat.writes(nb), as_version=4)
    hits = [c for c in out.cells if c.cell_type == "code" and marker in c.source]
    assert len(hits) == 1, f"{marker!r} is in {len(hits)} cells"
    hits[0].source = source
    return out


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


class LazyModule:
    """A module imported on first attribute access: collecting the tests (`pytest --co`, xdist
    start-up) stays instant instead of importing TensorFlow."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


keras = LazyModule("keras")
layers = LazyModule("keras.layers")


def peak_memory_of(code: str, *, timeout: float = 600) -> tuple[int, str]:
    """Run `code` in a fresh Python process (this test run's environment) and return the
    process's own peak resident memory in bytes, and what it printed. A fresh process, so
    that what other tests of this worker allocated before cannot count."""
    import json
    import subprocess
    import sys

    tail = (
        "\nimport resource as _r, json as _j\n"
        "print('PEAK ' + _j.dumps(_r.getrusage(_r.RUSAGE_SELF).ru_maxrss * 1024))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code + tail],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.splitlines()
    peak = next((json.loads(ln[5:]) for ln in reversed(lines) if ln.startswith("PEAK ")), None)
    assert proc.returncode == 0 and peak is not None, proc.stderr[-3000:]
    return int(peak), proc.stdout


# -- a small CIFAR-10 in Keras' download layout (ex11) ---------------------------------------
CIFAR_PALETTE = np.array(
    [
        [230, 30, 30],
        [30, 200, 30],
        [40, 60, 230],
        [240, 230, 40],
        [40, 220, 230],
        [220, 40, 220],
        [250, 250, 250],
        [250, 140, 20],
        [120, 30, 160],
        [20, 90, 40],
    ],
    dtype=np.int16,
)


def fake_cifar(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colour images whose class is the colour of a 12 × 12 square at a random place on a
    grey background: flips and shifts keep the label, and a small CNN learns them in one
    short epoch, so the accuracy check can pass on fake data."""
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = np.repeat(rng.integers(0, 90, n).astype(np.int16), 32 * 32 * 3).reshape(n, 32, 32, 3)
    tops, lefts = rng.integers(0, 21, n), rng.integers(0, 21, n)
    for i in range(n):
        x[i, tops[i] : tops[i] + 12, lefts[i] : lefts[i] + 12] = CIFAR_PALETTE[y[i]]
    x += rng.integers(-6, 7, (n, 1, 1, 3)).astype(np.int16)
    return np.clip(x, 0, 255).astype(np.uint8), y


def write_fake_cifar10(path: Path, n_test: int = 2000) -> Path:
    """cifar-10-python.tar.gz as Keras downloads it: five training batches of 10,000 images
    (Keras' loader fills a (50000, 32, 32, 3) array batch by batch, so no fewer) and a test
    batch of `n_test`, pickled as the originals."""
    from grader.cifar10_files import write_archive

    rng = np.random.default_rng(2025)
    path.parent.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": fake_cifar(10_000, rng) for i in range(1, 6)}
    batches["test_batch"] = fake_cifar(n_test, rng)
    return write_archive(path, batches)


# -- another Keras backend: JAX, without TensorFlow -----------------------------------------
ROOT = Path(__file__).resolve().parents[2]
NO_TENSORFLOW = 'raise RuntimeError("tensorflow imported while grading under KERAS_BACKEND=jax")\n'


def jax_importable() -> bool:
    try:
        return importlib.util.find_spec("jax") is not None
    except (ImportError, ValueError):
        return False


needs_jax = pytest.mark.skipif(
    not jax_importable(),
    reason="JAX is not installed (pip install 'cnn-grader[jax]', as .ci/setup does)",
)


def no_tensorflow_path(tmp_path: Path) -> Path:
    """A folder whose `tensorflow` package raises on import (not an ImportError)."""
    folder = tmp_path / "no-tensorflow"
    (folder / "tensorflow").mkdir(parents=True)
    (folder / "tensorflow" / "__init__.py").write_text(NO_TENSORFLOW)
    return folder
