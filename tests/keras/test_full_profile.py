"""The full profile grades the reference solutions with full marks (slow: the notebooks' own
budgets, ~20 s for ex04 and ~3 min for ex05 on two CPU cores, calibration included twice).

    .venv/bin/python -m pytest -m slow tests/keras/test_full_profile.py

The threshold under `full` follows the reference under the notebook's own budget on this
machine, capped at the course target; `benchmarks/full_profile.py` measures the spread over
training seeds behind it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import solutions_dir

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("needs_fashion_mnist")]


@pytest.mark.parametrize(
    "exercise, variable", [("ex04_dense_baseline", "dense_model"), ("ex05_cnn", "cnn_model")]
)
def test_the_full_profile_gives_the_solution_full_marks(
    tmp_path: Path, exercise: str, variable: str
) -> None:
    env = {**os.environ, "CNN_GRADER_PROFILE": "full"}
    env.pop("CNN_GRADER_SMOKE_BUDGET", None)
    solution = solutions_dir() / f"{exercise}.ipynb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "grade",
            str(solution),
            "--profile",
            "full",
            "--out",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / f"{exercise}.json").read_text())
    not_full = [
        (c["id"], c["status"], c.get("message"))
        for c in result["checks"]
        if c["status"] != "passed"
    ]
    assert result["score"] == result["max_score"], not_full
    accuracy = next(c for c in result["checks"] if c["id"].endswith("_accuracy"))
    text = accuracy["details"]["threshold_text"]
    assert "full profile: the notebook's own budget" in text, text
    assert "course t" in text, text  # the course target (or threshold) is named beside it
    assert accuracy["details"]["accuracy"] >= accuracy["details"]["threshold"]
    assert variable in json.dumps(result)


def test_under_full_brought_in_weights_get_no_credit_and_the_solution_no_finding(
    tmp_path: Path,
) -> None:
    """Provenance under the notebook's own budget (issue 19): the ex04 solution gets full
    marks and no finding in the instructor's view; the same notebook with a donor model's
    weights loaded into `dense_model` after its honest fit gets no accuracy credit."""
    import helpers
    import nbformat

    env = {**os.environ, "CNN_GRADER_PROFILE": "full"}
    env.pop("CNN_GRADER_SMOKE_BUDGET", None)
    nb = helpers.solution_notebook("ex04_dense_baseline")
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "donor = build_dense_model()\n"
            "donor.fit(x_train, y_train, epochs=EPOCHS + 2, batch_size=BATCH_SIZE, verbose=0)\n"
            "donor.save_weights('donor.weights.h5')\n"
            "dense_model.load_weights('donor.weights.h5')\n"
        )
    )
    cheat = helpers.write_notebook(tmp_path, "cheat.ipynb", nb, "ex04_dense_baseline")
    honest = solutions_dir() / "ex04_dense_baseline.ipynb"
    results = {}
    for name, path in (("honest", honest), ("cheat", cheat)):
        out = tmp_path / name
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.cli",
                "grade",
                str(path),
                "--profile",
                "full",
                "--view",
                "instructor",
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        results[name] = json.loads(next(out.glob("*.json")).read_text())
    assert results["honest"]["score"] == results["honest"]["max_score"]
    assert results["honest"]["integrity"] == []
    accuracy = next(c for c in results["cheat"]["checks"] if c["id"] == "dense_accuracy")
    assert accuracy["status"] == "failed" and "not credited" in accuracy["message"]
    assert any("changed after its last fit()" in f for f in results["cheat"]["integrity"])
