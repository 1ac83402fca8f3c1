"""Fixtures for the Keras exercises' tests: a private grader cache, a small smoke budget, and
datasets the tests make themselves (MNIST is not on CI machines).

Every module runs with

- `CNN_GRADER_CACHE_DIR` in a temporary folder shared by the whole run (xdist workers
  included), so the calibration is measured once per run and never touches ~/.cache;
- `CNN_GRADER_SMOKE_BUDGET`: the "small declared subset" the contract tests train on;
- `CNN_GRADER_PROFILE=smoke`, so a GPU machine runs the same tests;
- `KERAS_HOME` pointing to an empty folder, so a developer's ~/.keras never leaks in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keras_helpers
import pytest

TEST_BUDGET = "epochs=1,train_samples=3000,test_samples=500,eval_samples=1000"


@pytest.fixture(scope="session")
def grader_cache(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One cache for the run: xdist workers share their base folder's parent."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "cnn-grader-cache"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="module", autouse=True)
def keras_test_env(grader_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    empty = tmp_path_factory.mktemp("empty-keras-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNN_GRADER_CACHE_DIR", str(grader_cache))
        mp.setenv("CNN_GRADER_SMOKE_BUDGET", TEST_BUDGET)
        mp.setenv("CNN_GRADER_PROFILE", "smoke")
        mp.setenv("KERAS_HOME", str(empty))
        mp.delenv("CNN_GRADER_DATASETS", raising=False)
        yield


@pytest.fixture
def needs_fashion_mnist() -> None:
    if not keras_helpers.fashion_available():
        pytest.skip("Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)")


@pytest.fixture(scope="module")
def fake_mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a small, learnable mnist.npz in Keras' layout."""
    folder = tmp_path_factory.mktemp("fake-mnist")
    keras_helpers.write_fake_mnist(folder / "mnist.npz")
    return folder


@pytest.fixture(scope="session")
def fake_cifar10_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a small, learnable CIFAR-10 archive under the name Keras keeps its
    download by (datasets/cifar-10-batches-py-target_archive), made once per run."""
    folder = tmp_path_factory.mktemp("fake-cifar10")
    keras_helpers.write_fake_cifar10(folder / "datasets" / "cifar-10-batches-py-target_archive")
    return folder
