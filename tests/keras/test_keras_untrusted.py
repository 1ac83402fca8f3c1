"""Crafted model files: a `.keras` archive comes from the student's kernel, so it may ask for
more memory than any course model (a config declaring a huge layer, a decompression bomb).
Each must fail its check with a message, in the grader process and in the evaluation process,
with the grader's memory bounded while it tries."""

from __future__ import annotations

import json
import resource
import zipfile
from pathlib import Path
from typing import Any

import keras_helpers
import numpy as np
import pytest
from keras_helpers import keras
from keras_helpers import layers as L

from grader.checks.core import Fail
from grader.datasets import registry, sources
from grader.keras_support import architecture as arch
from grader.keras_support import untrusted
from grader.keras_support.evaluate import evaluate_model

CAP_APPLIES = untrusted._cap_applies()  # noqa: SLF001 - not where an NVIDIA driver maps memory


def tiny_model_file(tmp_path: Path) -> Path:
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), L.Flatten(), L.Dense(8), L.Dense(10, activation="softmax")]
    )
    path = tmp_path / "tiny.keras"
    model.save(path)
    return path


def rewritten(
    src: Path,
    dst: Path,
    *,
    config: Any = None,
    extra: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            data = zin.read(name)
            if name == "config.json" and config is not None:
                data = json.dumps(config(json.loads(data))).encode()
            zout.writestr(name, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def huge_dense(cfg: dict[str, Any]) -> dict[str, Any]:
    """Dense(8) becomes Dense(1_500_000): a 4.7 GB kernel, from a 40 KB file."""
    for layer in cfg["config"]["layers"]:
        if layer["class_name"] == "Dense" and layer["config"]["units"] == 8:
            layer["config"]["units"] = 1_500_000
    return cfg


def test_a_decompression_bomb_is_refused_unread(tmp_path: Path) -> None:
    bomb = rewritten(
        tiny_model_file(tmp_path),
        tmp_path / "bomb.keras",
        extra={"padding.bin": bytes(300 * 2**20)},
    )
    assert bomb.stat().st_size < 2 * 2**20  # 300 MiB of zeros packs into well under 2 MiB
    with pytest.raises(
        Fail,
        match=r"`m`: the saved model unpacks to 300 MiB, more than the "
        r"grader loads \(256 MiB\)",
    ):
        untrusted.check_archive(bomb, what="`m`")
    with pytest.raises(Fail, match="unpacks to 300 MiB"):
        arch.load(bomb, what="`m`")


def test_files_that_are_not_keras_archives_are_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "h5.keras").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(Fail, match="not a Keras archive"):
        untrusted.check_archive(tmp_path / "h5.keras", what="`m`")
    no_config = rewritten(tiny_model_file(tmp_path), tmp_path / "nc.keras", drop=("config.json",))
    with pytest.raises(Fail, match="no config.json"):
        untrusted.check_archive(no_config, what="`m`")
    untrusted.check_archive(tiny_model_file(tmp_path), what="`m`")  # a real one passes


@pytest.mark.skipif(not CAP_APPLIES, reason="no memory cap where an NVIDIA driver is present")
def test_the_memory_cap_stops_a_big_allocation_and_is_lifted_afterwards() -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with pytest.raises(untrusted.ModelTooLarge, match="more memory than the grader gives"):
        with untrusted.memory_cap(256 * 2**20, what="the model"):
            np.ones(2**30, dtype=np.uint8)  # 1 GiB > 256 MiB
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert np.ones(2**30, dtype=np.uint8).sum() == 2**30  # allowed again outside


@pytest.mark.skipif(not CAP_APPLIES, reason="no memory cap where an NVIDIA driver is present")
def test_a_config_declaring_a_huge_layer_fails_in_the_grader_process(tmp_path: Path) -> None:
    crafted = rewritten(tiny_model_file(tmp_path), tmp_path / "huge.keras", config=huge_dense)
    assert crafted.stat().st_size < 100_000
    peak, out = keras_helpers.peak_memory_of(
        "from grader.checks.core import Fail\n"
        "from grader.keras_support import architecture as arch\n"
        "try:\n"
        f"    arch.load({str(crafted)!r}, what='`cnn_model`')\n"
        "except Fail as exc:\n"
        "    print('FAIL', exc)\n"
    )
    assert "FAIL `cnn_model` needs more memory than the grader gives one model" in out, out
    assert peak < 4 * 2**30, f"the grader process reached {peak / 2**30:.1f} GiB"


@pytest.mark.skipif(not CAP_APPLIES, reason="no memory cap where an NVIDIA driver is present")
def test_a_config_declaring_a_huge_layer_fails_in_the_evaluation_process(
    tmp_path: Path, fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    crafted = rewritten(tiny_model_file(tmp_path), tmp_path / "huge.keras", config=huge_dense)
    with pytest.raises(Fail, match="`cnn_model`: the model needs more memory than the grader"):
        evaluate_model(crafted, sources.require("mnist"), 100, what="`cnn_model`")


def test_a_config_listing_thousands_of_layers_is_refused_before_keras_reads_it(
    tmp_path: Path,
) -> None:
    """Keras rebuilds ~10 layers a second: 5,000 copied layers would hold the grader for
    minutes. They are counted in the JSON, nested models included, and the file refused."""

    def many(cfg: dict[str, Any]) -> dict[str, Any]:
        dense = next(la for la in cfg["config"]["layers"] if la["class_name"] == "Dense")
        cfg["config"]["layers"] += [dense] * 5000
        return cfg

    crafted = rewritten(tiny_model_file(tmp_path), tmp_path / "many.keras", config=many)
    assert untrusted.count_layers(crafted) == 5004
    with pytest.raises(
        Fail,
        match=r"`m`: the saved model has 5004 layers, more than the grader "
        r"loads \(200\)",
    ):
        arch.load(crafted, what="`m`")
    nested = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.Sequential([L.RandomFlip("horizontal"), L.RandomZoom(0.1)]),
            L.Flatten(),
            L.Dense(10),
        ]
    )
    nested.save(tmp_path / "nested.keras")
    # outside: InputLayer, the nested model, Flatten, Dense; inside: InputLayer + 2 layers
    assert untrusted.count_layers(tmp_path / "nested.keras") == 7
