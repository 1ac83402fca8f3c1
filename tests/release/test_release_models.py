"""Self-checks of the training exercises without the solution: what the notebook states about
the model (input shape, layers, parameters, compile settings) judged on the student's model in
the notebook, and by `cnn-grader check --course`, which also runs the notebook under the
grading budget and says whether the trained model is there. Accuracy stays graded."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import helpers
from grader.checks.reference import definitions_source
from grader.course import exercises_dir
from grader.selfcheck.runtime import HIDDEN_NOTE, check

BUILDERS = {"ex04_dense_baseline": "build_dense_model", "ex05_cnn": "build_cnn"}


def _run(release_dir: Path, source: str, *functions: str) -> str:
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(compile(source, "<notebook>", "exec"), ns)  # noqa: S102 - the course's own code
    out = io.StringIO()
    check(*(ns[f] for f in functions), cases_dir=release_dir / "cnn_selfcheck" / "cases",
          out=out, namespace=ns)
    return out.getvalue()


@pytest.mark.parametrize("eid", sorted(BUILDERS))
def test_the_solution_passes_and_the_starter_does_not(release_dir: Path, eid: str) -> None:
    builder = BUILDERS[eid]
    text = _run(release_dir, helpers.solution_definitions(eid), builder)
    assert f"✔ {builder}()" in text and "✘" not in text, text
    starter = definitions_source(nbformat.read(exercises_dir() / f"{eid}.ipynb", as_version=4))
    text = _run(release_dir, starter, builder)
    assert "not attempted yet" in text and "✔" not in text, text


def test_a_wrong_model_fails_with_what_the_exercise_states(release_dir: Path) -> None:
    source = helpers.solution_definitions("ex04_dense_baseline") + '''

def build_dense_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''
    text = _run(release_dir, source, "build_dense_model")
    assert "✘ build_dense_model(): input shape (28, 28), expected (28, 28, 1)" in text, text
    assert ("✘ build_dense_model(): layer 3 is Dense(units=10, activation='linear'), expected "
            "Dense(units=10, activation='softmax')") in text
    assert "✘ build_dense_model(): compiled with optimizer='sgd', expected 'adam'" in text
    assert "hint: Input (28, 28, 1)" in text


def test_check_alone_says_whether_the_trained_model_is_there(release_dir: Path) -> None:
    source = helpers.solution_definitions("ex05_cnn")
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(compile(source, "<notebook>", "exec"), ns)  # noqa: S102 - the course's own code
    out = io.StringIO()
    check(cases_dir=release_dir / "cnn_selfcheck" / "cases", out=out, namespace=ns)
    assert "· cnn_model: not defined yet (the training cell makes it)" in out.getvalue()
    ns["cnn_model"] = ns["build_cnn"]()  # type: ignore[operator]
    out = io.StringIO()
    check(cases_dir=release_dir / "cnn_selfcheck" / "cases", out=out, namespace=ns)
    text = out.getvalue()
    assert "✔ build_cnn()" in text and "✔ cnn_model holds a Keras model" in text, text
    assert "accuracy is graded" in text and text.rstrip().endswith(f"({HIDDEN_NOTE})")


def test_the_command_line_runs_the_notebook_under_the_budget_and_says_the_same(
        release_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(helpers.solution_path(
            "ex04_dense_baseline")), "--course", str(release_dir), "--profile", "smoke"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "build_dense_model(): input, layers, parameters" in out
    assert "dense_model holds a Keras model after the run" in out
    assert "public examples passed: 2 of 2" in out, out
    assert "preprocess: no public examples" in out
    assert "execution: ok in" in out and "smoke" in out
