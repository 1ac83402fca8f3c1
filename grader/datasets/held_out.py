"""Reading the test split on the grader's side (no Keras): the held-out half, which kernels
never received, is what the grader evaluates trained models on (see `grader.datasets`)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import cifar10_files
from grader.datasets.registry import served_count
from grader.datasets.sources import Located
from grader.errors import DatasetUnavailable

# What the report says of the images the grader evaluates on.
HELD_OUT_TEXT = "the second half of the test split, which the notebook never received"


def _idx(path: Path, magic: int, dims: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    header = 4 * (1 + dims)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise DatasetUnavailable(f"{path} is not an IDX file of the expected kind")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    arr = np.frombuffer(data, np.uint8, offset=header)
    if arr.size != int(np.prod(shape)):
        raise DatasetUnavailable(f"{path} is truncated")
    return arr.reshape(shape)


def load_test_split(found: Located, samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `samples` test images (uint8, (N, 28, 28); CIFAR-10 (N, 32, 32, 3)) and labels,
    as Keras' loader gives them from the located source (the whole split, held-out half
    included)."""
    shape = found.dataset.image_shape
    if found.dataset.id == "cifar10":
        x, y = cifar10_files.load_test_split(found.path("tarball"))
    elif found.dataset.id == "mnist":
        with np.load(found.path("archive"), allow_pickle=False) as archive:
            x, y = np.asarray(archive["x_test"]), np.asarray(archive["y_test"])
    else:
        x = _idx(found.path("test_images"), 2051, 3)
        y = _idx(found.path("test_labels"), 2049, 1)
    if x.shape[1:] != shape or y.shape != (x.shape[0],):
        raise DatasetUnavailable(
            f"the {found.dataset.title} test split from {found.origin} has "
            f"shapes {x.shape} and {y.shape}, not (N, "
            f"{', '.join(map(str, shape))}) and (N,)"
        )
    if samples is not None:
        x, y = x[:samples], y[:samples]
    return x.astype(np.uint8), y.astype(np.int64)


@dataclass(frozen=True)
class HeldOut:
    """The test images the grader evaluates on: never in the kernels' Keras home."""

    x: np.ndarray
    y: np.ndarray
    first: int  # index of the first one in the test split
    split_size: int


def load_held_out(found: Located, samples: int | None = None) -> HeldOut:
    """The first `samples` images of the held-out half of the test split (all of it: None)."""
    x, y = load_test_split(found)
    first = served_count(len(x))
    end = len(x) if samples is None else min(len(x), first + samples)
    return HeldOut(x[first:end], y[first:end], first, len(x))
