"""CIFAR-10 as Keras downloads it: one tar.gz of pickled batches, read and served by the grader.

Keras 3's `keras.datasets.cifar10.load_data()` calls

    get_file(fname="cifar-10-batches-py-target", origin=".../cifar-10-python.tar.gz",
             extract=True, file_hash="6d958be0...")

which keeps the download as `$KERAS_HOME/datasets/cifar-10-batches-py-target_archive` (its sha256
pinned: a file with another hash is downloaded again) and extracts it, *on every call*, into
`datasets/cifar-10-batches-py-target/`; the loader then reads `cifar-10-batches-py/data_batch_1..5`
(10,000 images each: it fills a preallocated (50000, 3, 32, 32) array) and `test_batch`, each a
pickled dict {b"data": uint8 (N, 3072), b"labels": [int], ...}, with a restricted unpickler.

The grader therefore serves CIFAR-10 to kernels *already extracted* (the training batches as in
the archive, `test_batch` holding the first half of the test split) with a marker file; the
kernel's start-up code (`grader/probe/prelude.py`) has `get_file` return that folder when the
marker is there, instead of checking the archive's pinned hash and extracting it again: a
kernel has no network to download the official file, may not write in the grader's folder, and
parallel kernels extracting into one shared folder would read each other's half-written files.

Pickles are read here only with the same allowlist as Keras' own loader (NumPy arrays, nothing
else): the archive is instructor-provided, trusted input, but still never a way to run code.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from grader.atomic_files import replace_bytes
from grader.errors import DatasetUnavailable

OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# Where Keras 3 keeps the download and its extraction, below `$KERAS_HOME/datasets/`.
TARGET = "cifar-10-batches-py-target"
ARCHIVE = f"{TARGET}_archive"
INNER = "cifar-10-batches-py"
# Written last into the served folder; the prelude serves the folder only when it is there.
MARKER = ".cnn-grader-served"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
_MAX_MEMBER_BYTES = 64 << 20  # an official batch is 31 MB
_ALLOWED = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class _NumpyOnly(pickle.Unpickler):
    """Keras' `RestrictedUnpickler` allowlist: rebuilds NumPy arrays and refuses any other
    global, so a batch file cannot name a function to call."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a CIFAR-10 batch")


def _members(archive: Path, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of the wanted batch files of the archive, read as a stream (one pass
    over the 170 MB download). Only regular files named `cifar-10-batches-py/<name>`."""
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                parts = member.name.strip("/").split("/")
                if (
                    len(parts) != 2
                    or parts[0] != INNER
                    or parts[1] not in wanted
                    or not member.isfile()
                ):
                    continue
                if member.size > _MAX_MEMBER_BYTES:
                    raise DatasetUnavailable(
                        f"{archive}: {member.name} is {member.size:,} "
                        "bytes, too large for a CIFAR-10 batch"
                    )
                fh = tar.extractfile(member)
                if fh is not None:
                    yield parts[1], fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetUnavailable(f"{archive} is not a readable CIFAR-10 archive: {exc}") from None


def read_batch(data: bytes, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8, channels-last as Keras gives them, and labels (N,)."""
    try:
        d = _NumpyOnly(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any malformed pickle
        raise DatasetUnavailable(f"{what} is not a CIFAR-10 batch: {exc}") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DatasetUnavailable(f"{what} is not a CIFAR-10 batch (no data and labels)")
    x, y = np.asarray(d[b"data"]), np.asarray(d[b"labels"])
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or y.shape != (len(x),):
        raise DatasetUnavailable(
            f"{what} has data {x.shape} {x.dtype} and labels {y.shape}, "
            "not uint8 (N, 3072) and (N,)"
        )
    return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y.astype(np.int64)


def load_test_split(archive: Path) -> tuple[np.ndarray, np.ndarray]:
    """The whole test split (held-out half included) from the archive."""
    for _, data in _members(archive, {TEST_BATCH}):
        return read_batch(data, what=f"{archive}: {TEST_BATCH}")
    raise DatasetUnavailable(f"{archive} has no {INNER}/{TEST_BATCH}")


def half_test_batch(data: bytes, keep: int) -> bytes:
    """The test batch with its first `keep` images, pickled as the original (protocol 3:
    Python 3 writes bytes under protocol 2 as `_codecs.encode` calls, which Keras' restricted
    unpickler refuses; the same bytes from every grading process)."""
    x, y = read_batch(data, what=TEST_BATCH)
    flat = np.ascontiguousarray(x[:keep].transpose(0, 3, 1, 2).reshape(keep, -1))
    served = {
        b"batch_label": b"testing batch 1 of 1 (first half, served by cnn-grader)",
        b"labels": [int(v) for v in y[:keep]],
        b"data": flat,
        b"filenames": [f"test_{i}.png".encode() for i in range(keep)],
    }
    return pickle.dumps(served, protocol=3)


def served_dir(home: Path) -> Path:
    """The folder `get_file` returns to the loader (the batches are in its INNER folder)."""
    return home / "datasets" / TARGET


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def serve(home: Path, archive: Path, keep: Any) -> None:
    """Make `served_dir(home)` hold the training batches and the first `keep(total)` test
    images, unless it already does for this archive version. Every file is replaced
    atomically and the marker written last, so parallel gradings can share the folder."""
    folder = served_dir(home)
    inner, marker = folder / INNER, folder / MARKER
    source = [str(archive.resolve()), *_stamp(archive)]
    try:
        old = json.loads(marker.read_text(encoding="utf-8"))
        if (
            old.get("source") == source
            and all(
                (inner / n).is_file() and not (inner / n).is_symlink() and _stamp(inner / n) == s
                for n, s in old.get("files", {}).items()
            )
            and set(old.get("files", {})) >= {*TRAIN_BATCHES, TEST_BATCH}
        ):
            return
    except (OSError, ValueError, AttributeError):
        pass
    files: dict[str, list[int]] = {}
    for name, data in _members(archive, {*TRAIN_BATCHES, TEST_BATCH, META}):
        if name == TEST_BATCH:  # one batch in memory at a time, written as it is read
            total = len(read_batch(data, what=f"{archive}: {TEST_BATCH}")[0])
            data = half_test_batch(data, keep(total))
        _write(inner / name, data)
        files[name] = _stamp(inner / name)
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in files]
    if missing:
        raise DatasetUnavailable(f"{archive} lacks {', '.join(f'{INNER}/{n}' for n in missing)}")
    _write(marker, json.dumps({"source": source, "files": files}).encode())


def _write(dest: Path, data: bytes) -> None:
    """Replace `dest` atomically with `data`, readable by every kernel's uid."""
    replace_bytes(dest, data, mode=0o644)


def write_archive(
    path: Path, batches: dict[str, tuple[np.ndarray, np.ndarray]], *, compresslevel: int = 1
) -> Path:
    """A CIFAR-10 archive as Keras downloads it, from {batch name: (images (N, 32, 32, 3)
    uint8, labels (N,))}: the tests' small datasets, and a mirror an instructor builds."""
    with tarfile.open(path, "w:gz", compresslevel=compresslevel) as tar:
        for name, (x, y) in batches.items():
            flat = np.ascontiguousarray(
                np.asarray(x, np.uint8).transpose(0, 3, 1, 2).reshape(len(x), -1)
            )
            data = pickle.dumps(
                {
                    b"batch_label": name.encode(),
                    b"labels": [int(v) for v in y],
                    b"data": flat,
                    b"filenames": [f"{i}.png".encode() for i in range(len(x))],
                },
                protocol=3,
            )
            info = tarfile.TarInfo(f"{INNER}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return path
