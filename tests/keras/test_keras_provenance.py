"""Accuracy that was trained here (issue 19): the graded model must come from this notebook's
own training, under its budget. Cheats of each kind are built here, in the notebook, at test
time (a donor model trained beside the graded one; no shipped weights), and honest variations
must stay free of findings. Under the tests' smoke budget (1 epoch on 3,000 images)."""

from __future__ import annotations

from pathlib import Path

import helpers
import nbformat
import pytest

from grader.keras_support import provenance

pytestmark = pytest.mark.usefixtures("needs_fashion_mnist")

EX = "ex04_dense_baseline"
DONOR = """
donor = build_dense_model()
donor.fit(x_train, y_train, epochs=EPOCHS + 2, batch_size=BATCH_SIZE, verbose=0)
"""


def _grade(tmp_path: Path, name: str, *cells: str) -> helpers.GradeResult:
    nb = helpers.solution_notebook(EX)
    for source in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    return helpers.grade_nb(helpers.write_notebook(tmp_path, f"{name}.ipynb", nb))


def _accuracy(result: helpers.GradeResult) -> object:
    return helpers.by_id(result)["dense_accuracy"]


def test_weights_set_from_elsewhere_without_fit_get_no_credit(tmp_path: Path) -> None:
    result = _grade(
        tmp_path,
        "set_weights",
        DONOR
        + """
dense_model = build_dense_model()          # never fit
dense_model.set_weights(donor.get_weights())
dense_model.optimizer.iterations.assign(94)  # made to look trained
""",
    )
    check = _accuracy(result)
    assert check.status.value == "failed", helpers.describe(result)
    assert "`dense_model` was not trained in this run" in check.message
    assert "accuracy is not credited" in check.message and "it classifies 0." in check.message
    assert any("no recorded fit()" in f for f in result.integrity), result.integrity
    supporting = [f for f in result.integrity if f.startswith("where the code could")]
    assert (
        supporting and "calls set_weights()" in supporting[0] and "calls assign()" in supporting[0]
    ), result.integrity


def test_weights_loaded_after_an_honest_fit_get_no_credit(tmp_path: Path) -> None:
    result = _grade(
        tmp_path,
        "load_weights",
        DONOR
        + """
donor.save_weights("donor.weights.h5")
dense_model.load_weights("donor.weights.h5")   # dense_model was fit honestly above
""",
    )
    check = _accuracy(result)
    assert check.status.value == "failed", helpers.describe(result)
    assert "weights are not the weights its training in this run left" in check.message
    assert any("changed after its last fit()" in f for f in result.integrity)
    assert any("calls load_weights()" in f for f in result.integrity), result.integrity


def test_fit_in_a_loop_is_reported_with_the_steps_that_ran(tmp_path: Path) -> None:
    result = _grade(
        tmp_path,
        "fit_loop",
        """
for _ in range(3):
    dense_model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
""",
    )
    assert _accuracy(result).status.value == "passed", helpers.describe(result)  # reported only
    found = [f for f in result.integrity if "`dense_model` trained" in f]
    assert found and "the budget (EPOCHS=1 × ceil(3000 / BATCH_SIZE=32)) allows 94" in found[0]
    assert any("`dense_model` trained" in n for n in result.execution.notes)


def test_honest_variations_stay_clean(tmp_path: Path) -> None:
    """The solution; training in two fit() calls within the budget, with another
    validation_split and callbacks (EarlyStopping restoring its best epoch)."""
    solution = _grade(tmp_path, "solution")
    assert solution.score == solution.max_score, helpers.describe(solution)
    assert not [f for f in solution.integrity if "`dense_model`" in f], solution.integrity
    split = _grade(
        tmp_path,
        "two_fits",
        """
dense_model = build_dense_model()
half = len(x_train) // 2
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
dense_model.fit(x_train[:half], y_train[:half], epochs=EPOCHS, batch_size=BATCH_SIZE,
                validation_split=0.2, callbacks=[stop], verbose=0)
dense_model.fit(x_train[half:], y_train[half:], epochs=EPOCHS, batch_size=BATCH_SIZE,
                validation_split=0.2, callbacks=[stop], verbose=0)
""",
    )
    assert _accuracy(split).status.value == "passed", helpers.describe(split)
    assert not [f for f in split.integrity if "`dense_model`" in f], split.integrity


def test_the_record_is_judged_from_data_alone() -> None:
    """The verdict on records as the kernel reports them (no kernel): a model trained in two
    calls, the weights of an earlier epoch (restored), weights of nowhere, no training."""
    rec = [
        {
            "call": "fit",
            "epochs": 2,
            "steps": 20,
            "digest": "b",
            "epoch_digests": ["a", "b"],
            "iterations": 20,
        }
    ]
    ok = provenance.judge(
        {"training": rec, "weights_digest": "a", "iterations": 20}, "m", allowed=20
    )
    assert not ok.refuse and not ok.findings
    moved = provenance.judge(
        {"training": rec, "weights_digest": "z", "iterations": 25}, "m", allowed=10
    )
    assert "not the weights its training" in moved.refuse
    assert "changed after its last fit()" in moved.refused_findings[0]
    assert any("step counter moved" in f for f in moved.findings)
    assert any("trained 20 steps" in f and "allows 10" in f for f in moved.findings)
    never = provenance.judge({"training": [], "weights_digest": "z"}, "m", allowed=None)
    assert "was not trained in this run" in never.refuse
    gone = provenance.judge({"training": None, "weights_digest": "z"}, "m", allowed=None)
    assert not gone.refuse and "no record of its training" in gone.findings[0]
    assert provenance.steps_allowed(1, 3000, 32) == 94
    slotted = [{**rec[0], "slots": "s1"}]
    same = provenance.judge(
        {"training": slotted, "weights_digest": "b", "iterations": 20, "slots_digest": "s1"},
        "m",
        allowed=20,
    )
    assert not same.findings
    reset = provenance.judge(
        {"training": slotted, "weights_digest": "b", "iterations": 20, "slots_digest": "s0"},
        "m",
        allowed=20,
    )
    assert any("optimizer's state" in f for f in reset.findings) and not reset.refuse


def test_an_optimizer_state_replaced_after_training_is_a_finding(tmp_path: Path) -> None:
    result = _grade(
        tmp_path,
        "slots",
        """
for variable in dense_model.optimizer.variables:
    if "iteration" not in variable.name:
        variable.assign(variable * 0.0)
""",
    )
    assert _accuracy(result).status.value == "passed", helpers.describe(result)  # reported only
    assert any("`dense_model`: the optimizer's state" in f for f in result.integrity), (
        result.integrity
    )


def test_few_steps_with_the_references_accuracy_and_an_accuracy_beyond_the_spread() -> None:
    """Findings on an accuracy the recorded training hardly explains: never penalties, and
    honest runs (the budget's steps, an accuracy within the spread) give none."""
    from grader.keras_support.provenance import accuracy_findings

    def found(**kw: object) -> list[str]:
        base = dict(
            accuracy=0.82,
            reference=0.82,
            margin=0.03,
            steps=470,
            allowed=470,
            exact_architecture=True,
        )
        return accuracy_findings("dense_model", **{**base, **kw})  # type: ignore[arg-type]

    assert found() == []
    assert found(accuracy=0.86, steps=300) == []  # within 2 × 0.03 of the reference
    assert found(accuracy=0.80, steps=100) == []  # few steps, and an accuracy to match
    (few,) = found(steps=100)
    assert "trained 100 steps, a quarter or less of the 470" in few and "(0.820)" in few
    (above,) = found(accuracy=0.90)
    assert "above the reference's 0.820" in above and "seed spread (0.06)" in above
    assert found(accuracy=0.90, exact_architecture=False) == []  # ex06, ex11: free layers
    assert found(reference=None, steps=1) == []  # nothing calibrated: nothing to compare
    assert found(steps=None, allowed=None) == []  # the notebook's own budget
