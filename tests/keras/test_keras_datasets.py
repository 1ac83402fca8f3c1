"""Where the datasets come from, how kernels see them, and what a missing one says."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import held_out, registry, served, sources
from grader.errors import DatasetUnavailable


def test_fake_mnist_in_a_named_folder_is_located_trusted(
    fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sources.locate("mnist") is None  # not on this machine otherwise
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    found = sources.locate("mnist")
    assert found is not None
    assert found.path("archive") == fake_mnist_dir / "mnist.npz"
    assert registry.DATASETS_ENV in found.origin  # the report can say where it came from


@pytest.mark.parametrize("layout", ["mnist.npz", "datasets/mnist.npz"])
def test_named_folder_may_be_flat_or_a_keras_home(
    tmp_path: Path, fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    target = tmp_path / layout
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((fake_mnist_dir / "mnist.npz").read_bytes())
    monkeypatch.setenv(registry.DATASETS_ENV, str(tmp_path))
    found = sources.locate("mnist")
    assert found is not None and found.path("archive") == target


def test_keras_cache_copies_must_match_the_official_content(
    tmp_path: Path, fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """~/.keras is written by anything the user ran: a file there counts only if its content is
    the official one (the fake MNIST is not)."""
    home = tmp_path / "keras-home"
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "mnist.npz").write_bytes((fake_mnist_dir / "mnist.npz").read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert sources.locate("mnist") is None


def test_gz_files_are_verified_by_their_uncompressed_content(tmp_path: Path) -> None:
    """Debian re-compresses Fashion-MNIST: the .gz bytes differ from Keras' download, the
    content does not. Two gzip encodings of the same bytes have one digest."""
    data = bytes(range(256)) * 40
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    a.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    b.write_bytes(gzip.compress(data, compresslevel=9, mtime=12345))
    assert a.read_bytes() != b.read_bytes()
    assert sources.content_digest(a) == sources.content_digest(b)


def test_unavailable_dataset_raises_the_message_for_the_report() -> None:
    with pytest.raises(DatasetUnavailable) as info:
        sources.require("mnist")
    text = str(info.value)
    assert "MNIST dataset is not available on this machine" in text
    assert "mnist.npz" in text and registry.DATASETS_ENV in text
    assert str(registry.keras_home() / "datasets") in text


def test_kernel_home_serves_half_the_test_split_and_is_usable_by_another_uid(
    fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    home, notes = served.prepare_keras_home(("mnist",))
    assert home == registry.kernel_home() != registry.keras_home()
    npz = home / "datasets" / "mnist.npz"
    assert npz.is_file() and not npz.is_symlink() and notes == []
    with np.load(npz) as mine, np.load(fake_mnist_dir / "mnist.npz") as source:
        assert np.array_equal(mine["x_train"], source["x_train"])
        assert np.array_equal(mine["y_train"], source["y_train"])
        assert np.array_equal(mine["x_test"], source["x_test"][:500])  # the first half only
        assert np.array_equal(mine["y_test"], source["y_test"][:500])
    held = held_out.load_held_out(sources.require("mnist"))
    assert held.first == 500 and len(held.x) == 500  # the grader's: the other half
    # Keras only uses a home it may write to; a sandboxed kernel has a uid of its own.
    assert home.stat().st_mode & 0o7777 == 0o1777
    assert (home / "keras.json").is_file()
    assert npz.stat().st_mode & 0o777 == 0o644
    # ... but the datasets folder is the grader's alone: no kernel swaps a file in it.
    assert (home / "datasets").stat().st_mode & 0o002 == 0
    # again: idempotent (the same bytes, not written again), so parallel gradings agree
    digest, mtime = served.served_mnist_sha256(), npz.stat().st_mtime_ns
    served.prepare_keras_home(("mnist",))
    assert npz.stat().st_mtime_ns == mtime and served.served_mnist_sha256() == digest
    # the source's folder is hidden from kernels
    assert fake_mnist_dir.resolve() in sources.source_folders()


def test_keras_home_notes_a_missing_dataset() -> None:
    _, notes = served.prepare_keras_home(("mnist",))
    assert len(notes) == 1 and "MNIST dataset is not available" in notes[0]


def test_test_split_of_the_fake_mnist(
    fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    x, y = held_out.load_test_split(sources.require("mnist"), 100)
    with np.load(fake_mnist_dir / "mnist.npz") as f:
        assert np.array_equal(x, f["x_test"][:100]) and np.array_equal(y, f["y_test"][:100])
    assert x.dtype == np.uint8 and x.shape == (100, 28, 28) and y.dtype == np.int64


@pytest.mark.usefixtures("needs_fashion_mnist")
def test_fashion_mnist_test_split_matches_keras_loader() -> None:
    """The grader's own IDX reader gives what keras.datasets.fashion_mnist.load_data() gives."""
    found = sources.require("fashion_mnist")
    x, y = held_out.load_test_split(found)
    assert x.shape == (10_000, 28, 28) and y.shape == (10_000,)
    assert sorted(np.bincount(y)) == [1000] * 10  # balanced test set
    assert int(y[0]) == 9 and int(y[1]) == 2  # an ankle boot, then a pullover


def test_digests_are_remembered_across_processes_per_file_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A digest computed once is read back from the cache by the next process (no rehash);
    a file rewritten in place is hashed again, whatever its size."""
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "blob.bin"
    data.write_bytes(b"a" * 1000)
    first = sources.content_digest(data)
    assert (tmp_path / "cache" / sources.DIGESTS_FILE).is_file()
    monkeypatch.setattr(sources, "_digests", {})  # a new process

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("hashed again")

    with monkeypatch.context() as m:
        m.setattr(sources.hashlib, "sha256", refuse)
        assert sources.content_digest(data) == first
    data.write_bytes(b"b" * 1000)  # same size, new content
    monkeypatch.setattr(sources, "_digests", {})
    assert sources.content_digest(data) != first
