"""Trained accuracy that cannot be bought (issue 9, item 3), through the whole pipeline.

- The grader evaluates on the held-out half of the test split, which the kernel never receives:
  a notebook that also fits on its (x_test, y_test) gets a finding and scores what an honest
  notebook that trained on as many other images scores.
- The probe saves the model with Keras' saving function as it was before the notebook ran: a
  notebook that swaps in another model through `setattr(keras.Model, "save", ...)` is graded on
  the model it holds, and the instructor is told.
- Budget parameters set again after the injected cell are noted, with the budget that ran (read
  from the kernel, so `exec("EPOCHS = 3")` is seen too); the cell time limit follows the
  calibrated reference time.
- A dense network does not pass ex05's accuracy check: as `cnn_model` beside a correct
  build_cnn() it is not the model build_cnn() returns; built by build_cnn() itself it must beat
  ex04's dense reference under the same budget (slow: it trains both references).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import helpers
import keras_helpers
import nbformat
import numpy as np
import pytest

from grader import calibrate
from grader.datasets import held_out, registry, served, sources
from grader.errors import DatasetUnavailable
from grader.keras_support import budget, calibration
from grader.keras_support.budget import KERAS_LIMITS, SMOKE_ENV, Training

pytestmark = pytest.mark.usefixtures("needs_fashion_mnist")

EX04_DEFS = lambda: helpers.solution_definitions("ex04_dense_baseline")  # noqa: E731
LOAD = """
(x_train_raw, y_train), (x_test_raw, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, x_test = preprocess(x_train_raw[:3000]), preprocess(x_test_raw[:500])
y_train, y_test = y_train[:3000], y_test[:500]
keras.utils.set_random_seed(0)
dense_model = build_dense_model()
dense_model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
"""


def accuracy_of(result: helpers.GradeResult, check: str) -> float:
    value = helpers.by_id(result)[check].details.get("accuracy")
    assert isinstance(value, float), helpers.describe(result)
    return value


# -- the kernel's view of the test split -----------------------------------------------------
def test_the_kernel_gets_the_first_half_of_the_test_split_and_never_the_rest() -> None:
    home, notes = served.prepare_keras_home(("fashion_mnist",))
    assert notes == [] and home == registry.kernel_home()
    found = sources.require("fashion_mnist")
    x_all, y_all = held_out.load_test_split(found)
    folder = home / "datasets" / "fashion-mnist"
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8)
    assert images.shape == (5_000, 28, 28) and labels.shape == (5_000,)
    assert np.array_equal(images, x_all[:5_000]) and np.array_equal(labels, y_all[:5_000])
    held = held_out.load_held_out(found, 1_000)
    assert held.first == 5_000 and np.array_equal(held.x, x_all[5_000:6_000])
    # the training files are the source's own, linked; the test files are the grader's copies
    assert (folder / "train-images-idx3-ubyte.gz").is_symlink()
    assert not (folder / "t10k-images-idx3-ubyte.gz").is_symlink()
    # ... and their folders are hidden from kernels (the training files stay visible)
    assert found.path("test_images").resolve().parent in sources.source_folders()


def test_in_the_kernel_load_data_gives_half_the_test_split_and_the_source_is_hidden(
    make_notebook: Any,
) -> None:
    from grader.execution import sandbox

    source = sources.require("fashion_mnist").path("test_images")
    check = """
import os
(a, b), (c, d) = keras.datasets.fashion_mnist.load_data()
assert (len(a), len(c), len(d)) == (60000, 5000, 5000), (len(a), len(c), len(d))
"""
    if sandbox.capabilities().mount_ns:  # where kernels get a private view of the files
        check += f"assert not os.path.exists({str(source)!r}), 'the full test split is visible'\n"
    path = make_notebook(["import keras", check], exercise="ex04_dense_baseline")
    result = helpers.grade_nb(path)
    assert result.execution.problems == [], helpers.describe(result)


def test_keras_mnist_loader_accepts_the_graders_half_test_split(
    make_notebook: Any, fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keras pins mnist.npz's sha256; the kernel's start-up code has the unmodified
    `keras.datasets.mnist.load_data()` accept the grader's copy (half of x_test) instead."""
    monkeypatch.setenv(registry.DATASETS_ENV, str(fake_mnist_dir))
    check = """
(a, b), (c, d) = keras.datasets.mnist.load_data()
assert (len(a), len(c)) == (3000, 500), (len(a), len(c))
"""
    result = helpers.grade_nb(make_notebook(["import keras", check], exercise="ex09_mnist"))
    assert result.execution.problems == [], helpers.describe(result)
    # any other file is still refused, as Keras would: an offline re-download fails
    npz = registry.kernel_home() / "datasets" / "mnist.npz"
    assert served.served_mnist_sha256() == sources.content_digest(npz)
    with np.load(npz) as f:
        assert f["x_test"].shape == (500, 28, 28) and f["x_train"].shape == (3000, 28, 28)


# -- training on the test split buys nothing ---------------------------------------------------
MEMORISE_TEST = "dense_model.fit(x_test, y_test, epochs=30, batch_size=32, verbose=0)"
MEMORISE_OTHER = """
x_more, y_more = preprocess(x_train_raw[3000:3500]), y_train_all[3000:3500]
dense_model.fit(x_more, y_more, epochs=30, batch_size=32, verbose=0)
"""


def test_fitting_on_x_test_gets_a_finding_and_no_gain(make_notebook: Any, tmp_path: Path) -> None:
    """30 epochs on the notebook's 500 test images against 30 epochs on 500 other training
    images: the same accuracy on the held-out images (before, the first of them were the very
    images memorised: 0.86 against 0.72)."""
    head = [
        EX04_DEFS(),
        LOAD.replace("y_train, y_test =", "y_train_all = y_train\ny_train, y_test ="),
    ]
    cheat = helpers.grade_nb(
        make_notebook(head + [MEMORISE_TEST], exercise="ex04_dense_baseline", name="cheat.ipynb")
    )
    honest = helpers.grade_nb(
        make_notebook(head + [MEMORISE_OTHER], exercise="ex04_dense_baseline", name="honest.ipynb")
    )
    assert any(
        "trains on test data: `dense_model.fit(x_test, y_test" in f for f in cheat.integrity
    ), cheat.integrity
    assert not any("test data" in f for f in honest.integrity), honest.integrity
    gained = accuracy_of(cheat, "dense_accuracy") - accuracy_of(honest, "dense_accuracy")
    assert abs(gained) < 0.05, (gained, helpers.describe(cheat))
    text = helpers.by_id(cheat)["dense_accuracy"].details["threshold_text"]
    assert (
        "1,000 test images of the second half of the test split, which the notebook never "
        "received" in text
    )


# -- saving cannot be redirected ------------------------------------------------------------
SWAP_ON_SAVE = """
better = build_dense_model()
better.fit(preprocess(x_test_raw), y_test_all, epochs=5, batch_size=32, verbose=0)
_real_save = keras.Model.save
setattr(keras.Model, "save", lambda self, path, *a, **k: _real_save(better, path, *a, **k))
"""


def test_patching_save_with_setattr_gets_a_finding_and_the_model_the_notebook_holds(
    make_notebook: Any,
) -> None:
    """`dense_model` learnt from 64 images; the notebook has every save write a model trained
    on its 5,000 test images instead. The grader saves `dense_model` itself."""
    load = LOAD.replace("y_train, y_test =", "y_test_all = y_test\ny_train, y_test =").replace(
        "dense_model.fit(x_train, y_train", "dense_model.fit(x_train[:64], y_train[:64]"
    )
    result = helpers.grade_nb(
        make_notebook([EX04_DEFS(), load, SWAP_ON_SAVE], exercise="ex04_dense_baseline")
    )
    status = helpers.statuses(result)
    assert status["dense_accuracy"] == "failed", helpers.describe(result)
    assert accuracy_of(result, "dense_accuracy") < 0.65  # the substitute reaches ~0.8
    assert result.score < result.max_score
    assert status["dense_architecture"] == status["dense_compile"] == "passed"
    assert any("setattr(keras.Model, 'save'" in f for f in result.integrity), result.integrity
    assert any(
        "`dense_model`: the notebook replaced Keras' saving (keras.Model.save" in f
        for f in result.integrity
    ), result.integrity


# -- the budget that ran ------------------------------------------------------------------------
def with_budget_cells(*sources: str) -> nbformat.NotebookNode:
    """The ex04 solution with cells right after its `parameters` cell (so after the grader's
    injected one)."""
    nb = helpers.solution_notebook("ex04_dense_baseline")
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    for offset, source in enumerate(sources, start=1):
        nb.cells.insert(at + offset, nbformat.v4.new_code_cell(source))
    return nb


def test_reassigned_epochs_are_noted_with_the_budget_that_ran(tmp_path: Path) -> None:
    nb = with_budget_cells("EPOCHS = 2", 'exec("EPOCHS = 3")  # hidden from a static scan')
    path = helpers.write_notebook(tmp_path, "ex04_more_epochs.ipynb", nb)
    result = helpers.grade_nb(path)
    notes = result.execution.notes
    assert any("sets EPOCHS = 2 after the grader's injected budget" in n for n in notes), notes
    ran = (
        "the notebook trained `dense_model` with EPOCHS=3, its last fit() ran 3 epochs, not "
        "the injected budget (EPOCHS=1, BATCH_SIZE=32, TRAIN_SAMPLES=3000, TEST_SAMPLES=500)"
    )
    assert any(ran in n for n in notes), notes
    assert any(ran in f for f in result.integrity), result.integrity
    text = helpers.by_id(result)["dense_accuracy"].details["threshold_text"]
    assert text.endswith("; budget that ran: EPOCHS=3, its last fit() ran 3 epochs"), text


def test_the_cell_limit_follows_the_calibrated_reference_time(
    make_notebook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calibration, "reference_seconds", lambda exercise, profile: 2.0)
    monkeypatch.setattr(budget, "CELL_FACTOR", 1.0)
    monkeypatch.setattr(budget, "CELL_EXTRA_S", 3.0)
    path = make_notebook(["import time\ntime.sleep(120)", "x = 1"], exercise="ex04_dense_baseline")
    result = helpers.grade_nb(path)
    problems = result.execution.problems
    assert [p.kind for p in problems] == ["timeout"], helpers.describe(result)
    assert "timed out after 5s" in problems[0].evalue
    assert any(
        "each cell may run 5s (1 × the 2s that grading the reference solution took" in n
        for n in result.execution.notes
    ), result.execution.notes


def test_cell_limit_is_five_times_the_reference_plus_a_minute() -> None:
    training = Training(datasets=(), smoke=budget.SMOKE)
    limits, notes = training.limits_and_notes("smoke", 24.0)
    assert limits.cell_timeout == 5 * 24 + 60 and limits.notebook_timeout == 2 * 180 + 60
    assert notes and "180s" in notes[0]
    assert training.limits("full", 24.0) == KERAS_LIMITS  # the notebook's own budget
    assert training.limits_and_notes("smoke", None) == (KERAS_LIMITS, [])  # not calibrated


# -- a dense network is not the CNN ------------------------------------------------------------
DENSE = """keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])"""
DENSE_AS_CNN_MODEL = f"""
(x_train_raw, y_train), _ = keras.datasets.fashion_mnist.load_data()
cnn_model = {DENSE}
cnn_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
cnn_model.fit(preprocess(x_train_raw[:2000]), y_train[:2000], epochs=1, verbose=0)
"""


def test_a_dense_model_as_cnn_model_fails_the_accuracy_check(make_notebook: Any) -> None:
    path = make_notebook(
        [helpers.solution_definitions("ex05_cnn"), DENSE_AS_CNN_MODEL], exercise="ex05_cnn"
    )
    result = helpers.grade_nb(path)
    status = helpers.statuses(result)
    assert status["cnn_architecture"] == status["cnn_param_count"] == "passed"
    assert status["cnn_accuracy"] == "failed", helpers.describe(result)
    message = helpers.by_id(result)["cnn_accuracy"].message
    assert message.startswith("`cnn_model` is not the model build_cnn() returns (")
    assert "missing Conv2D(64, 3, relu)" in message
    assert any(
        "`cnn_model`: the trained model is not the model build_cnn() returns" in f
        for f in result.integrity
    ), result.integrity


@pytest.mark.slow
def test_a_dense_network_built_by_build_cnn_fails_the_cnn_threshold_under_smoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the real smoke budget (not the tests' small one, where the dense reference beats
    the CNN's): the CNN must beat ex04's dense reference trained the same way. Measures both
    references (~40 s on two cores) and grades (~20 s)."""
    monkeypatch.delenv(SMOKE_ENV)
    nb = helpers.solution_notebook("ex05_cnn")
    cell = next(c for c in nb.cells if "def build_cnn" in c.source)
    start = cell.source.index("    model = keras.Sequential([")
    end = cell.source.index("    ])", start) + len("    ])")
    nb = keras_helpers.replace_cell(
        nb, "def build_cnn", cell.source[:start] + "    model = " + DENSE + cell.source[end:]
    )
    result = helpers.grade_nb(helpers.write_notebook(tmp_path, "ex05_dense.ipynb", nb))
    status = helpers.statuses(result)
    assert status["cnn_architecture"] == "failed"
    assert status["cnn_accuracy"] == "failed", helpers.describe(result)
    check = helpers.by_id(result)["cnn_accuracy"]
    from grader.exercises.ex05_cnn import ACCURACY

    dense = calibrate.baseline(ACCURACY, "smoke")
    assert dense is not None
    assert check.details["threshold"] >= dense.floor > check.details["accuracy"]


def test_unavailable_dataset_is_not_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "locate", lambda dataset_id: None)
    _, notes = served.prepare_keras_home(("fashion_mnist",))
    assert "may have seen" in notes[0]
    with pytest.raises(DatasetUnavailable):
        sources.require("fashion_mnist")
