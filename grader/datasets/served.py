"""The kernels' own Keras home: the training files, and only the first half of each test split
(see `grader.datasets`).

Training files are links to the located source; test files are the grader's own copies (valid
IDX `.gz` files, an `mnist.npz` whose `x_test`/`y_test` are cut the same way, CIFAR-10 already
extracted). Kernels find the sha256 of the served mnist.npz in `SERVED_MNIST_ENV`, read by their
start-up code (`grader/probe/prelude.py`, which names the variable itself: it is sent to the
kernel as source).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np

from grader import cifar10_files
from grader.atomic_files import replace_bytes
from grader.datasets import sources
from grader.datasets.registry import (
    MNIST,
    get,
    keras_home,
    kernel_home,
    served_count,
    unavailable_message,
)
from grader.errors import DatasetUnavailable

# The kernel's start-up code reads the sha256 of the grader's mnist.npz here.
SERVED_MNIST_ENV = "CNN_GRADER_SERVED_MNIST_SHA256"


def prepare_keras_home(dataset_ids: tuple[str, ...]) -> tuple[Path, list[str]]:
    """Make the kernels' Keras home offer every dataset found; returns it and report notes.

    Training files are symlinked; test files are written by the grader with the first half of
    the test split only (see the module docstring). Both are replaced atomically and written
    only when their content changes, so parallel gradings can share the folder. A dataset not
    found is left to Keras, which downloads it when the machine is online.
    """
    home = kernel_home()
    _make_home(home)
    notes: list[str] = []
    for dataset_id in dataset_ids:
        found = sources.locate(dataset_id)
        if found is None:
            notes.append(
                unavailable_message(get(dataset_id))
                + "; the notebook's own download is tried (the grader then evaluates "
                "on test images the notebook may have seen)"
            )
            continue
        for file in found.dataset.files:
            dest, source = home / file.relpath, found.paths[file.relpath]
            if file.role == "tarball":
                cifar10_files.serve(home, source, served_count)
            elif file.role == "archive":
                _serve_npz(dest, source)
            elif file.role.startswith("test_"):
                _serve_idx(dest, source)
            else:
                _link(dest, source)
    return home, notes


def prepare_download_home() -> Path:
    """The grader's own Keras cache, ready for Keras to download into (`datasets fetch`)."""
    home = keras_home()
    _make_home(home)
    return home


def served_mnist_sha256() -> str | None:
    """The sha256 of the mnist.npz kernels get (None when none is served)."""
    path = kernel_home() / MNIST.files[0].relpath
    if not path.is_file() or path.is_symlink():
        return None
    return sources.content_digest(path)


def _make_home(home: Path) -> None:
    """Keras uses its home only if it may write there (`os.access(home, W_OK)`, else it falls
    back to /tmp/.keras, where no dataset is). A sandboxed kernel runs as a uid of its own, so
    the home is world-writable with the sticky bit, like /tmp; its `datasets/` folders and the
    links in them stay the grader's, so no kernel can swap a file another kernel trains on."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "keras.json"
    if not config.exists():  # written here, so that no kernel needs to write it
        config.write_text(
            json.dumps(
                {
                    "floatx": "float32",
                    "epsilon": 1e-07,
                    "backend": "tensorflow",
                    "image_data_format": "channels_last",
                },
                indent=4,
            )
        )
    try:
        if home.stat().st_mode & 0o7777 != 0o1777:
            home.chmod(0o1777)
    except OSError:  # not ours: Keras falls back to /tmp/.keras in a sandbox of another uid
        pass


def _link(dest: Path, source: Path) -> None:
    source = source.resolve()
    if dest.is_symlink() and dest.resolve() == source:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}")
    os.symlink(source, tmp)
    os.replace(tmp, dest)


def _write(dest: Path, data: bytes) -> None:
    """Replace `dest` atomically with `data`, readable by every kernel's uid."""
    replace_bytes(dest, data, mode=0o644)


# The digest each served file should have, per source file version: computed once per process.
_served: dict[tuple[str, str, int, int], str] = {}


def _fresh(dest: Path, source: Path) -> tuple[tuple[str, str, int, int], bool]:
    st = source.stat()
    key = (str(dest), str(source.resolve()), st.st_size, st.st_mtime_ns)
    want = _served.get(key)
    ok = (
        want is not None
        and dest.is_file()
        and not dest.is_symlink()
        and sources.content_digest(dest) == want
    )
    return key, ok


def _serve_idx(dest: Path, source: Path) -> None:
    """An IDX .gz file with the first half of the source's items (gzip with a fixed mtime, so
    every grading process writes the same bytes)."""
    key, ok = _fresh(dest, source)
    if ok:
        return
    with gzip.open(source, "rb") as fh:
        data = fh.read()
    dims = data[3] if len(data) > 4 else 0
    header = 4 * (1 + dims)
    if dims < 1 or len(data) < header:
        raise DatasetUnavailable(f"{source} is not an IDX file")
    count = int.from_bytes(data[4:8], "big")
    item = (
        int(
            np.prod(
                [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(1, dims)],
                dtype=np.int64,
            )
        )
        if dims > 1
        else 1
    )
    keep = served_count(count)
    trimmed = (
        data[:4] + keep.to_bytes(4, "big") + data[8:header] + data[header : header + keep * item]
    )
    _write(dest, gzip.compress(trimmed, compresslevel=6, mtime=0))
    _served[key] = hashlib.sha256(trimmed).hexdigest()


def _serve_npz(dest: Path, source: Path) -> None:
    """mnist.npz with the training split and the first half of the test split. Stored, not
    deflated, with fixed timestamps: the same bytes from every grading process, so the sha256
    the kernel is given stays true while another grading writes the file again."""
    key, ok = _fresh(dest, source)
    if ok:
        return
    with np.load(source, allow_pickle=False) as archive:
        arrays = {
            name: np.asarray(archive[name]) for name in ("x_train", "y_train", "x_test", "y_test")
        }
    keep = served_count(len(arrays["x_test"]))
    arrays["x_test"], arrays["y_test"] = arrays["x_test"][:keep], arrays["y_test"][:keep]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    data = buffer.getvalue()
    _write(dest, data)
    _served[key] = hashlib.sha256(data).hexdigest()
