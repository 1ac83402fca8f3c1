"""ex11 (CIFAR-10) on a small CIFAR-10 the tests make in Keras' download layout, so that the
kernel runs Keras' real `cifar10.load_data()`: the dataset is located and checked as the others,
kernels get it already extracted with only the first half of the test split, the grader
evaluates on the second half; the solution gets full marks, the starter all not_attempted, and
without CIFAR-10 the accuracy check is a grader error that says what to do.
"""

from __future__ import annotations

import json
import pickle
import tarfile
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import pytest

from grader import cifar10_files, write_reports
from grader.datasets import held_out, registry, served, sources
from grader.errors import DatasetUnavailable
from grader.exercises import available, get
from grader.keras_support import calibration
from grader.keras_support.checks import find_accuracy_specs

EID = "ex11_cifar10"
ARCHIVE = "datasets/cifar-10-batches-py-target_archive"


@pytest.fixture
def with_cifar(fake_cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_cifar10_dir))
    return fake_cifar10_dir


# -- the dataset -------------------------------------------------------------------------------
def test_ex11_is_an_exercise_that_loads_cifar10() -> None:
    assert EID in available()
    exercise = get(EID)
    assert exercise.datasets == ("cifar10",) and exercise.max_score == 10
    assert registry.get("cifar10").loader == "keras.datasets.cifar10.load_data()"


def test_datasets_fetch_knows_what_ex11_loads() -> None:
    from grader.dataset_fetch import needed_by

    assert needed_by([EID]) == ["cifar10"]
    assert needed_by(["ex09_mnist", EID, "ex01_convolution"]) == ["mnist", "cifar10"]


@pytest.mark.parametrize(
    "layout", [ARCHIVE, "cifar-10-batches-py-target_archive", "cifar-10-python.tar.gz"]
)
def test_a_named_folder_is_trusted_flat_in_keras_layout_or_as_the_download(
    tmp_path: Path, fake_cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    target = tmp_path / layout
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(fake_cifar10_dir / ARCHIVE)
    monkeypatch.setenv(registry.DATASETS_ENV, str(tmp_path))
    found = sources.locate("cifar10")
    assert found is not None and found.path("tarball") == target
    assert registry.DATASETS_ENV in found.origin


def test_keras_cache_copies_must_be_the_official_archive(
    tmp_path: Path, fake_cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keras pins the archive's own sha256 (of the .tar.gz bytes, not of its content): a
    Keras cache holding another archive is no source (the fake one is not the official)."""
    home = tmp_path / "keras-home"
    (home / "datasets").mkdir(parents=True)
    (home / ARCHIVE).symlink_to(fake_cifar10_dir / ARCHIVE)
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert sources.locate("cifar10") is None
    file = registry.CIFAR10.files[0]
    assert (
        sources.file_digest(home / ARCHIVE, file)
        == sources.content_digest(fake_cifar10_dir / ARCHIVE, raw=True)
        != file.content_sha256
    )


def test_without_cifar10_the_message_says_where_to_put_it() -> None:
    assert sources.locate("cifar10") is None
    message = registry.unavailable_message(registry.CIFAR10)
    assert "cifar-10-batches-py-target_archive" in message and "cifar-10-python.tar.gz" in message
    assert registry.DATASETS_ENV in message


def test_the_kernel_home_gets_the_training_batches_and_half_the_test_batch(
    with_cifar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache of its own: another xdist worker serving its own fake copy into the shared
    # cache would rewrite the files between the two calls below.
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    home, notes = served.prepare_keras_home(("cifar10",))
    assert notes == []
    inner = cifar10_files.served_dir(home) / cifar10_files.INNER
    with tarfile.open(with_cifar / ARCHIVE) as tar:
        original = {
            Path(m.name).name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar
            if m.isfile()
        }
    for name in cifar10_files.TRAIN_BATCHES:
        assert (inner / name).read_bytes() == original[name]
    served_x, served_y = cifar10_files.read_batch(
        (inner / "test_batch").read_bytes(), what="served"
    )
    all_x, all_y = held_out.load_test_split(sources.require("cifar10"))
    assert all_x.shape == (2000, 32, 32, 3) and all_x.dtype == np.uint8
    assert np.array_equal(served_x, all_x[:1000]) and np.array_equal(served_y, all_y[:1000])
    held = held_out.load_held_out(sources.require("cifar10"), 300)
    assert held.first == 1000 and np.array_equal(held.x, all_x[1000:1300])
    # served again without work while the archive is unchanged (the marker says so)
    stamp = (inner / "test_batch").stat().st_mtime_ns
    served.prepare_keras_home(("cifar10",))
    assert (inner / "test_batch").stat().st_mtime_ns == stamp
    assert with_cifar / "datasets" in [p for p in sources.source_folders()]


def test_batches_are_read_with_numpy_only_pickles(tmp_path: Path) -> None:
    """A batch naming any other global (here os.system) is refused, never called."""

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            import os

            return (os.system, ("echo pwned",))

    with pytest.raises(DatasetUnavailable, match="refusing posix.system"):
        cifar10_files.read_batch(pickle.dumps({b"data": Evil()}, protocol=3), what="evil")


def test_an_archive_without_every_batch_is_no_dataset(tmp_path: Path) -> None:
    images = np.zeros((4, 32, 32, 3), np.uint8)
    archive = cifar10_files.write_archive(
        tmp_path / "partial.tar.gz",
        {"data_batch_1": (images, np.arange(4)), "test_batch": (images, np.arange(4))},
    )
    with pytest.raises(DatasetUnavailable, match="lacks cifar-10-batches-py/data_batch_2"):
        cifar10_files.serve(tmp_path / "home", archive, registry.served_count)
    assert not (cifar10_files.served_dir(tmp_path / "home") / cifar10_files.MARKER).exists()
    with pytest.raises(DatasetUnavailable, match=r"not uint8 \(N, 3072\)"):
        cifar10_files.read_batch(
            pickle.dumps({b"data": [1, 2], b"labels": []}, protocol=3), what="odd"
        )


def test_in_the_kernel_keras_loader_reads_the_served_half(
    with_cifar: Path, make_notebook: Any
) -> None:
    """The unmodified `keras.datasets.cifar10.load_data()`, offline, in a sandboxed kernel:
    50,000 training images and the first half of the test split, the first test image the
    archive's own first."""
    first = held_out.load_test_split(sources.require("cifar10"))[0][0]
    check = f"""
import numpy as np
(a, b), (c, d) = keras.datasets.cifar10.load_data()
assert (a.shape, b.shape, c.shape, d.shape) == ((50000, 32, 32, 3), (50000, 1),
                                                (1000, 32, 32, 3), (1000, 1)), (a.shape, c.shape)
assert c[0].tolist() == {first.tolist()!r}
"""
    result = helpers.grade_nb(make_notebook(["import keras", check], exercise=EID))
    assert result.execution.problems == [], helpers.describe(result)


# -- the contract --------------------------------------------------------------------------------
def test_solution_gets_full_marks_on_a_small_cifar10(with_cifar: Path, tmp_path: Path) -> None:
    result = helpers.grade_nb(helpers.solution_path(EID))
    assert result.execution.status.value == "ok", helpers.describe(result)
    assert set(helpers.statuses(result).values()) == {"passed"}, helpers.describe(result)
    assert result.score == result.max_score == 10
    assert any("smoke profile" in n and "injected" in n for n in result.execution.notes)
    check = helpers.by_id(result)["cifar_accuracy"]
    spec = find_accuracy_specs(get(EID))[0]
    reference = calibration.cached(get(EID), spec, "smoke")
    assert check.details["accuracy"] == reference  # same seed, same accuracy
    assert reference is not None and reference > 0.2  # learnable: far above guessing (0.1)
    assert check.details["threshold_text"].startswith(
        f"{reference:.3f} ≥ {check.details['threshold']:.3f} = reference {reference:.3f} − 0.03"
    )
    assert "second half of the test split" in check.details["threshold_text"]
    table = helpers.by_id(result)["cifar_augmentation_training_only"].details["table"]
    assert [row[2]["text"] for row in table[1:]] == ["same output", "different outputs"]
    html = write_reports(result, tmp_path, EID)["html"].read_text(encoding="utf-8")
    assert "reference" in html and "≥" in html


def test_starter_is_all_not_attempted(with_cifar: Path) -> None:
    result = helpers.grade_nb(helpers.starter_path(EID))
    assert [c.id for c in result.checks] == [c.id for c in get(EID).checks]
    assert set(helpers.statuses(result).values()) == {"not_attempted"}, helpers.describe(result)
    assert result.score == 0 and result.execution.status.value == "ok"


def test_without_cifar10_the_accuracy_check_is_a_grader_error_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    result = helpers.grade_nb(helpers.solution_path(EID))
    status = helpers.statuses(result)
    assert status.pop("cifar_accuracy") == "error", helpers.describe(result)
    assert set(status.values()) == {"passed"}, helpers.describe(result)
    message = helpers.by_id(result)["cifar_accuracy"].message
    assert message.startswith(
        "grader configuration problem: the CIFAR-10 dataset is not "
        "available on this machine: put cifar-10-batches-py-target_archive"
    )
    assert "CNN_GRADER_DATASETS" in message and "Traceback" not in message
    doc = json.loads(write_reports(result, tmp_path, "ex11")["json"].read_text())
    assert doc["score"] == 7 and doc["max_score"] == 10
