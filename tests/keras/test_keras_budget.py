"""The smoke profile's injected-parameters cell (papermill's convention) and budget overrides."""

from __future__ import annotations

import nbformat
import pytest
from nbformat import NotebookNode

from grader.errors import ConfigurationError
from grader.keras_support.budget import (
    INJECTED_TAG,
    SMOKE,
    SMOKE_ENV,
    Budget,
    Training,
    inject_parameters,
    smoke_override,
)

VALUES = {"EPOCHS": 1, "TRAIN_SAMPLES": 2000, "TEST_SAMPLES": None}


def notebook(*cells: tuple[str, list[str]]) -> NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def sources(nb: NotebookNode) -> list[str]:
    return [c.source for c in nb.cells]


def test_injected_right_after_the_parameters_cell() -> None:
    nb = notebook(
        ("import keras", []),
        ("EPOCHS = 5\nTRAIN_SAMPLES = None", ["parameters"]),
        ("model.fit(epochs=EPOCHS)", []),
    )
    notes = inject_parameters(nb, VALUES, profile="smoke")
    assert nb.cells[2].metadata["tags"] == [INJECTED_TAG]
    assert "EPOCHS = 1\nTRAIN_SAMPLES = 2000\nTEST_SAMPLES = None" in nb.cells[2].source
    assert sources(nb)[3] == "model.fit(epochs=EPOCHS)"
    assert "after the cell tagged 'parameters'" in notes[0] and "EPOCHS=1" in notes[0]
    nbformat.validate(nb)  # the new cell has an id, like every nbformat 4.5 cell


def test_a_submitted_injected_cell_is_replaced_not_kept() -> None:
    nb = notebook(("EPOCHS = 5", ["parameters"]), ("EPOCHS = 500", [INJECTED_TAG]))
    inject_parameters(nb, VALUES, profile="smoke")
    assert len(nb.cells) == 2 and "EPOCHS = 500" not in "".join(sources(nb))


def test_without_a_tag_after_the_first_cell_that_sets_a_budget_name() -> None:
    nb = notebook(
        ("import keras", []), ("x = 1", []), ("SEED = 1\nEPOCHS = 5", []), ("EPOCHS = 7", [])
    )
    notes = inject_parameters(nb, VALUES, profile="smoke")
    assert nb.cells[3].metadata["tags"] == [INJECTED_TAG]
    assert "no cell is tagged 'parameters'" in notes[0]


def test_without_any_budget_cell_nothing_is_injected_and_the_report_says_so() -> None:
    nb = notebook(("import keras", []), ("model.fit(x, y, epochs=5)", []))
    notes = inject_parameters(nb, VALUES, profile="smoke")
    assert len(nb.cells) == 2
    assert "trained with its own budget" in notes[0]


def test_full_profile_leaves_the_notebook_alone() -> None:
    nb = notebook(("EPOCHS = 5", ["parameters"]))
    notes = Training(datasets=(), smoke=SMOKE).prepare(nb, "full")
    assert len(nb.cells) == 1 and "own parameters" in notes[0]


def test_budget_override_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SMOKE_ENV, "epochs=2, train_samples=none ,eval_samples=500")
    got = smoke_override(Budget(1, 10_000, 2_000, 2_000))
    assert got == Budget(epochs=2, train_samples=None, test_samples=2_000, eval_samples=500)
    assert Training(datasets=(), smoke=SMOKE).budget("full") is None
    monkeypatch.setenv(SMOKE_ENV, "epoch=2")
    with pytest.raises(ConfigurationError, match="epoch=2"):
        smoke_override(SMOKE)


def test_kernel_env_points_keras_at_the_grader_cache_and_asks_for_determinism() -> None:
    env = Training(datasets=("fashion_mnist",), smoke=SMOKE).kernel_env("smoke")
    assert env["KERAS_HOME"].endswith("keras") and env["TF_DETERMINISTIC_OPS"] == "1"


def test_budget_set_again_after_the_injected_cell_is_noted_and_flagged() -> None:
    from grader import integrity

    nb = notebook(
        ("EPOCHS = 5", ["parameters"]),
        ("EPOCHS = 30\nBATCH_SIZE = 8", []),
        ("def f():\n    global TRAIN_SAMPLES\n    TRAIN_SAMPLES = None", []),
        ("def g():\n    EPOCHS = 99  # a local name", []),
        ('globals()["TEST_SAMPLES"] = 9', []),
        ("SEED = 1", []),
    )
    notes = inject_parameters(nb, VALUES, profile="smoke")
    overrides = [n.split(":")[0] for n in notes[1:]]
    assert overrides == [
        "cell 3 sets EPOCHS = 30 after the grader's injected budget (cell 2)",
        "cell 4 sets TRAIN_SAMPLES = None after the grader's injected budget (cell 2)",
        "cell 6 sets TEST_SAMPLES = 9 after the grader's injected budget (cell 2)",
    ], notes  # BATCH_SIZE and SEED were not injected, g's EPOCHS is its own
    assert "the notebook did not train with the injected budget (EPOCHS=1" in notes[1]
    found = integrity.scan(nb)
    assert (
        "cell 3 sets EPOCHS = 30 after the grader's injected budget (cell 2): the notebook "
        "did not train with the injected budget" in found
    ), found


def test_budget_with_a_batch_size_injects_it_and_says_so() -> None:
    budget = Budget(
        epochs=1, train_samples=30_000, test_samples=None, eval_samples=None, batch_size=32
    )
    assert budget.parameters() == {
        "EPOCHS": 1,
        "BATCH_SIZE": 32,
        "TRAIN_SAMPLES": 30_000,
        "TEST_SAMPLES": None,
    }
    assert budget.describe() == "1 epoch on the first 30,000 training images in batches of 32"
