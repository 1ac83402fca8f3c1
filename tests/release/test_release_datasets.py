"""`cnn_selfcheck.datasets.install`: a student offline gets the course's datasets where Keras'
loaders look, from the machine's own copy (Debian's dataset-fashion-mnist) or a folder the
instructor hands out, every file checked against the grader's hashes."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.datasets.registry import FASHION_MNIST

SYSTEM = Path(FASHION_MNIST.system_dirs[0])
needs_system_copy = pytest.mark.skipif(
    not (SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (.ci/setup installs it)",
)


def _install(release_dir: Path, *names: str, **options: object) -> tuple[bool, str]:
    sys.path.insert(0, str(release_dir))
    try:
        from cnn_selfcheck.datasets import install  # the release's own copy
    finally:
        sys.path.remove(str(release_dir))
    out = io.StringIO()
    return install(*names, out=out, **options), out.getvalue()  # type: ignore[arg-type]


@needs_system_copy
def test_fashion_mnist_from_the_system_copy_loads_offline_with_keras(
    release_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "keras"
    ok, said = _install(release_dir, "fashion_mnist", home=home)
    assert ok, said
    assert "Fashion-MNIST: ready in" in said and "4 files copied" in said
    assert (home / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    ok, said = _install(release_dir, "fashion_mnist", home=home)  # a second time: nothing to do
    assert ok and "0 files copied" in said
    # Keras' own loader, with no network: it finds the files and downloads nothing.
    code = (
        "import keras\n(x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()\n"
        "print(x.shape, xt.shape, x.dtype)"
    )
    env = {
        **os.environ,
        "KERAS_HOME": str(home),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(60000, 28, 28) (10000, 28, 28) uint8" in proc.stdout


@needs_system_copy
def test_a_file_with_other_content_is_refused_and_said(release_dir: Path, tmp_path: Path) -> None:
    given = tmp_path / "from-instructor"
    given.mkdir()
    for f in SYSTEM.glob("*.gz"):
        shutil.copy(f, given / f.name)
    with gzip.open(given / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(b"not the labels")
    ok, said = _install(release_dir, "fashion_mnist", source=given, home=tmp_path / "keras")
    # the system copy, tried after the given folder, has the real file: installed from there
    assert ok, said
    ok, said = _install(
        release_dir,
        "fashion_mnist",
        source=given,
        home=tmp_path / "k2",
        spec=_without_system_dirs(release_dir, tmp_path),
    )
    assert not ok
    assert "t10k-labels-idx1-ubyte.gz is not in" in said
    assert "do not have the official content" in said and "source=FOLDER" in said
    assert not (
        tmp_path / "k2" / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    ).exists()


def test_an_unknown_dataset_is_named(release_dir: Path, tmp_path: Path) -> None:
    ok, said = _install(release_dir, "imagenet", home=tmp_path)
    assert not ok and "imagenet: unknown dataset (known: fashion_mnist, mnist, cifar10)" in said


def _without_system_dirs(release_dir: Path, tmp_path: Path) -> Path:
    import json

    spec = json.loads((release_dir / "cnn_selfcheck" / "datasets.json").read_text())
    for d in spec:
        d["system_dirs"] = []
    path = tmp_path / "datasets.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path
