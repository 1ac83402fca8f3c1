"""The datasets the Keras exercises load, found on this machine and offered to kernels offline.

Students call Keras' own loaders (`keras.datasets.fashion_mnist.load_data()`), which look in
`$KERAS_HOME/datasets/` (Keras 3: `keras.src.utils.file_utils.get_file` with
`cache_dir=keras_home()`), and download on a miss:

    fashion_mnist  datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
                   (no hash check)
    mnist          datasets/mnist.npz (sha256 checked: a file with another hash is downloaded again)

The grader keeps its own Keras home (`<cache root>/keras`) whose files are symlinks to copies
found on the machine, looked for in this order:

1. the folder the instructor names (`CNN_GRADER_DATASETS`, or `--datasets`), flat or in Keras'
   layout: trusted as it is, so that a mirror or a purpose-built file works;
2. an existing Keras cache (`$KERAS_HOME` or `~/.keras`);
3. system packages (Debian's `dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist);
4. files a kernel downloaded into the grader's Keras home (online machines).

Sources 2-4 must match the official content: the sha256 of the *uncompressed* bytes for the
`.gz` files (Debian re-compresses them, so the compressed bytes differ from Keras' download),
of the file itself for mnist.npz. The grader reads the test split from the located source, never
from the kernel's view, so a notebook that writes into the cache changes nothing it is judged on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.errors import DatasetUnavailable

DATASETS_ENV = "CNN_GRADER_DATASETS"
CACHE_ENV = "CNN_GRADER_CACHE_DIR"


@dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset, where Keras expects it below its home folder."""

    relpath: str  # e.g. "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    content_sha256: str  # of the uncompressed bytes for .gz, of the file otherwise
    role: str  # "train_images" | "train_labels" | "test_images" | "test_labels" | "archive"

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    loader: str  # what the notebook calls
    files: tuple[DatasetFile, ...]
    system_dirs: tuple[str, ...] = ()


FASHION_MNIST = Dataset(
    "fashion_mnist", "Fashion-MNIST", "keras.datasets.fashion_mnist.load_data()",
    files=(
        DatasetFile("datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                    "train_labels"),
        DatasetFile("datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                    "train_images"),
        DatasetFile("datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                    "test_labels"),
        DatasetFile("datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                    "test_images"),
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)
MNIST = Dataset(
    "mnist", "MNIST", "keras.datasets.mnist.load_data()",
    files=(DatasetFile("datasets/mnist.npz",
                       "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                       "archive"),),
)
DATASETS: dict[str, Dataset] = {d.id: d for d in (FASHION_MNIST, MNIST)}


@dataclass(frozen=True)
class Located:
    """Where each file of a dataset was found on this machine, and what that source is."""

    dataset: Dataset
    paths: dict[str, Path]  # relpath -> file
    origin: str

    def path(self, role: str) -> Path:
        return next(self.paths[f.relpath] for f in self.dataset.files if f.role == role)


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
    """The folder kernels get as `KERAS_HOME`."""
    return cache_root() / "keras"


def instructor_dir() -> Path | None:
    env = os.environ.get(DATASETS_ENV)
    return Path(env).expanduser() if env else None


def unavailable_message(dataset: Dataset) -> str:
    """The one message for a dataset that is not on this machine (a configuration problem)."""
    names = ", ".join(f.name for f in dataset.files)
    return (f"the {dataset.title} dataset is not available on this machine: put {names} in "
            f"{keras_home() / dataset.files[0].relpath.rsplit('/', 1)[0]} or set {DATASETS_ENV} "
            f"to a folder that holds {'them' if len(dataset.files) > 1 else 'it'}")


# -- verification --------------------------------------------------------------------------
_digests: dict[tuple[str, int, int], str] = {}


def content_digest(path: Path) -> str:
    """sha256 of the file's content (uncompressed for .gz), remembered per file version."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:  # type: ignore[operator]
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _digests[key] = h.hexdigest()
    return _digests[key]


def _verified(path: Path, file: DatasetFile) -> bool:
    try:
        return path.is_file() and content_digest(path) == file.content_sha256
    except (OSError, EOFError, gzip.BadGzipFile):
        return False


# -- locating ------------------------------------------------------------------------------
def _candidates(folder: Path, file: DatasetFile) -> list[Path]:
    """A folder may be flat, a Keras `datasets/` folder, or a Keras home."""
    inner = file.relpath.split("/", 1)[1]  # without the leading "datasets/"
    return [folder / file.name, folder / inner, folder / file.relpath]


def _sources() -> list[tuple[str, Path, bool]]:
    """(description, folder, must verify) in the order they are tried."""
    out: list[tuple[str, Path, bool]] = []
    named = instructor_dir()
    if named is not None:
        out.append((f"{DATASETS_ENV}={named}", named, False))
    user_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    out.append((f"the Keras cache {user_home}", user_home, True))
    return out


def locate(dataset_id: str) -> Located | None:
    """Every file of the dataset from one source, or None when no source has them all."""
    dataset = get(dataset_id)
    sources = _sources()
    sources += [(f"the system folder {d}", Path(d), True) for d in dataset.system_dirs]
    for origin, folder, verify in sources:
        found: dict[str, Path] = {}
        for file in dataset.files:
            hit = next((p for p in _candidates(folder, file)
                        if p.is_file() and (not verify or _verified(p, file))), None)
            if hit is None:
                break
            found[file.relpath] = hit
        if len(found) == len(dataset.files):
            return Located(dataset, found, origin)
    own = keras_home()
    downloaded = {f.relpath: own / f.relpath for f in dataset.files
                  if not (own / f.relpath).is_symlink() and _verified(own / f.relpath, f)}
    if len(downloaded) == len(dataset.files):
        return Located(dataset, downloaded, f"a download in {own}")
    return None


def require(dataset_id: str) -> Located:
    """The located dataset, or DatasetUnavailable with the message for the report."""
    found = locate(dataset_id)
    if found is None:
        raise DatasetUnavailable(unavailable_message(get(dataset_id)))
    return found


def prepare_keras_home(dataset_ids: tuple[str, ...]) -> tuple[Path, list[str]]:
    """Make the grader's Keras home offer every dataset found; returns it and report notes.

    Files are symlinked (atomically, so parallel gradings can share the folder). A dataset not
    found is left to Keras, which downloads it when the machine is online.
    """
    home = keras_home()
    _make_home(home)
    notes: list[str] = []
    for dataset_id in dataset_ids:
        found = locate(dataset_id)
        if found is None:
            notes.append(unavailable_message(get(dataset_id))
                         + "; the notebook's own download is tried")
            continue
        for relpath, source in found.paths.items():
            _link(home / relpath, source)
    return home, notes


def _make_home(home: Path) -> None:
    """Keras uses its home only if it may write there (`os.access(home, W_OK)`, else it falls
    back to /tmp/.keras, where no dataset is). A sandboxed kernel runs as a uid of its own, so
    the home is world-writable with the sticky bit, like /tmp; its `datasets/` folders and the
    links in them stay the grader's, so no kernel can swap a file another kernel trains on."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "keras.json"
    if not config.exists():  # written here, so that no kernel needs to write it
        config.write_text(json.dumps({"floatx": "float32", "epsilon": 1e-07,
                                      "backend": "tensorflow",
                                      "image_data_format": "channels_last"}, indent=4))
    try:
        if home.stat().st_mode & 0o7777 != 0o1777:
            home.chmod(0o1777)
    except OSError:  # not ours: Keras falls back to /tmp/.keras in a sandbox of another uid
        pass


def _link(dest: Path, source: Path) -> None:
    source = source.resolve()
    if dest.resolve() == source:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}")
    os.symlink(source, tmp)
    os.replace(tmp, dest)


# -- reading the test split (grader side, no Keras) ----------------------------------------
def _idx(path: Path, magic: int, dims: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    header = 4 * (1 + dims)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise DatasetUnavailable(f"{path} is not an IDX file of the expected kind")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    arr = np.frombuffer(data, np.uint8, offset=header)
    if arr.size != int(np.prod(shape)):
        raise DatasetUnavailable(f"{path} is truncated")
    return arr.reshape(shape)


def load_test_split(found: Located, samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `samples` test images (uint8, (N, 28, 28)) and labels, as Keras' loader gives."""
    if found.dataset.id == "mnist":
        with np.load(found.path("archive"), allow_pickle=False) as archive:
            x, y = np.asarray(archive["x_test"]), np.asarray(archive["y_test"])
    else:
        x = _idx(found.path("test_images"), 2051, 3)
        y = _idx(found.path("test_labels"), 2049, 1)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
        raise DatasetUnavailable(f"the {found.dataset.title} test split from {found.origin} has "
                                 f"shapes {x.shape} and {y.shape}, not (N, 28, 28) and (N,)")
    if samples is not None:
        x, y = x[:samples], y[:samples]
    return x.astype(np.uint8), y.astype(np.int64)
