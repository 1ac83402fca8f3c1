"""`cnn-grader datasets fetch`: fill the grader's cache through Keras' loaders, offline-tested.

The real loaders download from the internet, which tests here cannot reach; a stand-in `keras`
module on the child's path plays the loader's part (it writes the official files where Keras
would, under $KERAS_HOME), so what is tested is ours: the child's KERAS_HOME, the verification
of what arrived, the messages and exit codes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader.cli import main
from grader.datasets import registry, sources

DEBIAN = Path("/usr/share/datasets/fashion-mnist")

FAKE_KERAS = """
import os, shutil
class _Loader:
    def __init__(self, name): self.name = name
    def load_data(self):
        if self.name != "fashion_mnist":
            raise Exception("URL fetch failure: offline")
        dest = os.path.join(os.environ["KERAS_HOME"], "datasets", "fashion-mnist")
        os.makedirs(dest, exist_ok=True)
        for f in os.listdir(os.environ["FAKE_SOURCE"]):
            shutil.copy(os.path.join(os.environ["FAKE_SOURCE"], f), dest)
class datasets:
    fashion_mnist = _Loader("fashion_mnist")
    mnist = _Loader("mnist")
"""


@pytest.fixture
def offline_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no dataset anywhere, and the stand-in loader on the child's path."""
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras-home"))
    monkeypatch.delenv("CNN_GRADER_DATASETS", raising=False)
    bare = dataclasses.replace(registry.FASHION_MNIST, system_dirs=())
    monkeypatch.setitem(registry.DATASETS, "fashion_mnist", bare)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "keras.py").write_text(FAKE_KERAS)
    monkeypatch.setenv("PYTHONPATH", str(fake))
    return tmp_path


def test_list_and_fetch_what_is_already_here_downloads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not DEBIAN.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (.ci/setup installs it)")
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    assert (
        main(["datasets", "fetch", "--exercise", "ex05_cnn", "--exercise", "ex01_convolution"]) == 0
    )
    out = capsys.readouterr().out
    assert out.strip() == f"fashion_mnist: available (the system folder {DEBIAN})"
    assert main(["datasets", "fetch", "--exercise", "ex02_pooling"]) == 0
    assert "no dataset needed" in capsys.readouterr().out


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="needs Debian's dataset-fashion-mnist files")
def test_fetch_goes_through_the_loader_into_the_graders_keras_home(
    offline_machine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sources.locate("fashion_mnist") is None
    assert main(["datasets", "list", "fashion_mnist"]) == 0
    assert "fashion_mnist: missing" in capsys.readouterr().out
    monkeypatch.setenv("FAKE_SOURCE", str(DEBIAN))
    assert main(["datasets", "fetch", "fashion_mnist"]) == 0
    assert "fashion_mnist: fetched into" in capsys.readouterr().out
    found = sources.locate("fashion_mnist")
    assert found is not None and found.origin.startswith("a download in")
    assert all(
        p.parent == registry.keras_home() / "datasets" / "fashion-mnist"
        for p in found.paths.values()
    )


def test_a_download_with_the_wrong_content_is_not_accepted(
    offline_machine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = offline_machine / "wrong"
    wrong.mkdir()
    for f in registry.FASHION_MNIST.files:
        (wrong / f.name).write_bytes(b"\x1f\x8b not the dataset")
    monkeypatch.setenv("FAKE_SOURCE", str(wrong))
    assert main(["datasets", "fetch", "fashion_mnist"]) == 2
    assert "could not fetch Fashion-MNIST" in capsys.readouterr().err


def test_an_offline_fetch_says_why_and_exits_2(
    offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["datasets", "fetch", "mnist"]) == 2
    err = capsys.readouterr().err
    assert "could not fetch MNIST" in err and "offline" in err and "mnist.npz" in err
    assert main(["datasets", "fetch", "imagenet"]) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err
