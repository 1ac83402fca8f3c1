"""Which datasets the Keras exercises load: their files, hashes and system copies, how their
test split is cut in two, and the grader's folders for them (see `grader.datasets`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader import cifar10_files

DATASETS_ENV = "CNN_GRADER_DATASETS"
CACHE_ENV = "CNN_GRADER_CACHE_DIR"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# What a file of a dataset holds: a part of an IDX dataset, an .npz ("archive"), or a .tar.gz
# of pickled batches ("tarball", hashed as it is, whatever its name).
FileRole = Literal[
    "train_images", "train_labels", "test_images", "test_labels", "archive", "tarball"
]


def served_count(total: int) -> int:
    """How many of `total` test images the kernel gets (the first ones); the rest are held out."""
    return total // 2


@dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset, where Keras expects it below its home folder."""

    relpath: str  # e.g. "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    content_sha256: str  # of the uncompressed bytes for .gz, of the file otherwise
    role: FileRole
    aliases: tuple[str, ...] = ()  # other names the file goes by (the official download's)

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    @property
    def raw_hash(self) -> bool:
        """Hashed as stored: Keras pins the compressed archive's own sha256."""
        return self.role == "tarball"


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    loader: str  # what the notebook calls
    files: tuple[DatasetFile, ...]
    system_dirs: tuple[str, ...] = ()
    image_shape: tuple[int, ...] = (28, 28)  # one image as the loader gives it
    # The course lets a model scale pixels itself (a Rescaling layer): the grader then gives
    # such a model pixels in [0, 255], as the notebook gave them to fit(); otherwise [0, 1].
    rescaling_allowed: bool = False


FASHION_MNIST = Dataset(
    "fashion_mnist",
    "Fashion-MNIST",
    "keras.datasets.fashion_mnist.load_data()",
    files=(
        DatasetFile(
            "datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "train_labels",
        ),
        DatasetFile(
            "datasets/fashion-mnist/train-images-idx3-ubyte.gz",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train_images",
        ),
        DatasetFile(
            "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            "test_labels",
        ),
        DatasetFile(
            "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "test_images",
        ),
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)
MNIST = Dataset(
    "mnist",
    "MNIST",
    "keras.datasets.mnist.load_data()",
    files=(DatasetFile("datasets/mnist.npz", MNIST_SHA256, "archive"),),
)
CIFAR10 = Dataset(
    "cifar10",
    "CIFAR-10",
    "keras.datasets.cifar10.load_data()",
    files=(
        DatasetFile(
            f"datasets/{cifar10_files.ARCHIVE}",
            cifar10_files.OFFICIAL_SHA256,
            "tarball",
            aliases=("cifar-10-python.tar.gz", "cifar-10-batches-py.tar.gz"),
        ),
    ),
    image_shape=(32, 32, 3),
    rescaling_allowed=True,
)
DATASETS: dict[str, Dataset] = {d.id: d for d in (FASHION_MNIST, MNIST, CIFAR10)}


def get(dataset_id: str) -> Dataset:
    try:
        return DATASETS[dataset_id]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset_id!r}; known: {', '.join(DATASETS)}") from None


def cache_root() -> Path:
    """The grader's own cache (Keras home, calibration): `CNN_GRADER_CACHE_DIR`, else XDG."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cnn-grader"


def keras_home() -> Path:
    """The grader's own Keras cache, where `cnn-grader datasets fetch` downloads (a source)."""
    return cache_root() / "keras"


def kernel_home() -> Path:
    """The folder kernels get as `KERAS_HOME`: the training files and half the test split."""
    return cache_root() / "kernel-keras"


def instructor_dir() -> Path | None:
    env = os.environ.get(DATASETS_ENV)
    return Path(env).expanduser() if env else None


def unavailable_message(dataset: Dataset) -> str:
    """The one message for a dataset that is not on this machine (a configuration problem)."""
    names = ", ".join(
        f.name + (f" (Keras' name for the download {f.aliases[0]})" if f.aliases else "")
        for f in dataset.files
    )
    return (
        f"the {dataset.title} dataset is not available on this machine: put {names} in "
        f"{keras_home() / dataset.files[0].relpath.rsplit('/', 1)[0]} or set {DATASETS_ENV} "
        f"to a folder that holds {'them' if len(dataset.files) > 1 else 'it'}"
    )
