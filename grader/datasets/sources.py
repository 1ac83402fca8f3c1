"""Finding each dataset on this machine, and verifying what is found (see `grader.datasets`).

Looked for in this order: the folder the instructor names (`CNN_GRADER_DATASETS`, trusted as it
is), an existing Keras cache (`$KERAS_HOME` or `~/.keras`), system packages, and the grader's
own Keras cache (`cnn-grader datasets fetch`). All but the first must match the official
content: the sha256 of the *uncompressed* bytes for the `.gz` files, of the file itself for
mnist.npz and the CIFAR-10 archive. Digests are remembered per file version, in this process
and in the grader's cache (`digests.json`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from grader.atomic_files import replace_bytes
from grader.datasets.registry import (
    DATASETS,
    DATASETS_ENV,
    Dataset,
    DatasetFile,
    FileRole,
    cache_root,
    get,
    instructor_dir,
    keras_home,
    kernel_home,
    unavailable_message,
)
from grader.errors import DatasetUnavailable


@dataclass(frozen=True)
class Located:
    """Where each file of a dataset was found on this machine, and what that source is."""

    dataset: Dataset
    paths: dict[str, Path]  # relpath -> file
    origin: str

    def path(self, role: FileRole) -> Path:
        return next(self.paths[f.relpath] for f in self.dataset.files if f.role == role)


# -- verification --------------------------------------------------------------------------
_digests: dict[str, str] = {}
DIGESTS_FILE = "digests.json"


def _digest_key(path: Path, gunzip: bool) -> str:
    """A file version: where it is, and the size, inode, mtime and ctime the file system gives
    it (ctime cannot be set back by a user, so a rewritten file never keeps its key)."""
    st = path.stat()
    return (
        f"{path.resolve()}{'|gunzip' if gunzip else ''}|{st.st_size}|{st.st_ino}|"
        f"{st.st_mtime_ns}|{st.st_ctime_ns}"
    )


def _stored_digests() -> dict[str, str]:
    try:
        data = json.loads((cache_root() / DIGESTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def _store_digest(key: str, digest: str) -> None:
    """Remember a digest across processes: hashing Fashion-MNIST's four files costs ~0.5 s,
    which every grading of a Keras exercise would otherwise pay before its kernel starts."""
    try:
        data = _stored_digests()
        data[key] = digest
        replace_bytes(cache_root() / DIGESTS_FILE, json.dumps(data, sort_keys=True).encode())
    except OSError:
        pass  # a read-only cache: this process still remembers it


def file_digest(path: Path, file: DatasetFile) -> str:
    """The digest `file.content_sha256` is compared with."""
    return content_digest(path, raw=file.raw_hash)


def content_digest(path: Path, *, raw: bool = False) -> str:
    """sha256 of the file's content (uncompressed for .gz unless `raw`), remembered per file
    version, in this process and in the grader's cache."""
    gunzip = path.name.endswith(".gz") and not raw
    key = _digest_key(path, gunzip)
    if key not in _digests:
        stored = _stored_digests().get(key)
        if stored is not None:
            _digests[key] = stored
            return stored
        h = hashlib.sha256()
        opener = gzip.open if gunzip else open
        with opener(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _digests[key] = h.hexdigest()
        _store_digest(key, _digests[key])
    return _digests[key]


def _verified(path: Path, file: DatasetFile) -> bool:
    try:
        return path.is_file() and file_digest(path, file) == file.content_sha256
    except (OSError, EOFError, gzip.BadGzipFile):
        return False


# -- locating ------------------------------------------------------------------------------
def _candidates(folder: Path, file: DatasetFile) -> list[Path]:
    """A folder may be flat, a Keras `datasets/` folder, or a Keras home."""
    inner = file.relpath.split("/", 1)[1]  # without the leading "datasets/"
    out = [folder / file.name, folder / inner, folder / file.relpath]
    return out + [f for a in file.aliases for f in (folder / a, folder / "datasets" / a)]


def _sources(dataset: Dataset) -> list[tuple[str, Path, bool]]:
    """(description, folder, must verify) in the order they are tried, before the grader's
    own Keras cache."""
    out: list[tuple[str, Path, bool]] = []
    named = instructor_dir()
    if named is not None:
        out.append((f"{DATASETS_ENV}={named}", named, False))
    user_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    out.append((f"the Keras cache {user_home}", user_home, True))
    out += [(f"the system folder {d}", Path(d), True) for d in dataset.system_dirs]
    return out


def possible_paths(dataset: Dataset, file: DatasetFile) -> list[Path]:
    """Every path where `locate` may look for `file`, in its order, whether it exists or not and
    unverified (the sandbox hides them from kernels without hashing anything)."""
    folders = [folder for _, folder, _ in _sources(dataset)] + [keras_home()]
    return [path for folder in folders for path in _candidates(folder, file)]


def locate(dataset_id: str) -> Located | None:
    """Every file of the dataset from one source, or None when no source has them all."""
    dataset = get(dataset_id)
    for origin, folder, verify in _sources(dataset):
        found: dict[str, Path] = {}
        for file in dataset.files:
            hit = next(
                (
                    p
                    for p in _candidates(folder, file)
                    if p.is_file() and (not verify or _verified(p, file))
                ),
                None,
            )
            if hit is None:
                break
            found[file.relpath] = hit
        if len(found) == len(dataset.files):
            return Located(dataset, found, origin)
    own = keras_home()
    downloaded = {
        f.relpath: own / f.relpath
        for f in dataset.files
        if not (own / f.relpath).is_symlink() and _verified(own / f.relpath, f)
    }
    if len(downloaded) == len(dataset.files):
        return Located(dataset, downloaded, f"a download in {own}")
    return None


def require(dataset_id: str) -> Located:
    """The located dataset, or DatasetUnavailable with the message for the report."""
    found = locate(dataset_id)
    if found is None:
        raise DatasetUnavailable(unavailable_message(get(dataset_id)))
    return found


def source_folders() -> list[Path]:
    """Folders holding a located test split: hidden from kernels (the sandbox keeps the
    training files linked from them visible). Never the kernels' own Keras home."""
    own = kernel_home().resolve()
    out: list[Path] = []
    for dataset_id in DATASETS:
        found = locate(dataset_id)
        if found is None:
            continue
        for file in found.dataset.files:
            if file.role not in ("archive", "tarball", "test_images", "test_labels"):
                continue
            folder = found.paths[file.relpath].resolve().parent
            if (
                folder != own
                and own not in folder.parents
                and folder not in own.parents
                and folder not in out
            ):
                out.append(folder)
    return out


def test_split_id(dataset_id: str) -> str:
    """The content of the located test split, in a few characters: calibrations measured on
    another copy of a dataset (a fake MNIST in the tests) never pass for this one's."""
    found = locate(dataset_id)
    if found is None:
        return "unavailable"
    digests = [
        file_digest(found.paths[f.relpath], f)
        for f in found.dataset.files
        if f.role in ("archive", "tarball", "test_images", "test_labels")
    ]
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]
