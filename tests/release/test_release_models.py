"""Self-checks of the training exercises without the solution: what the notebook states about
the model (input shape, layers, parameters, compile settings) judged on the student's model in
the notebook, and by `cnn-grader check --course`, which also runs the notebook under the
grading budget and says whether the trained model is there. Accuracy stays graded."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import helpers
import nbformat
import pytest

from grader.checks.reference import definitions_source
from grader.course import exercises_dir
from grader.selfcheck.runtime import HIDDEN_NOTE, check

# The training exercises' functions with public self-checks: stated facts (ex04, ex05), the
# properties and settings the exercise asks for (ex06, ex11), judged as the grade judges them,
# or examples on a small CNN with public weights (ex07).
PUBLIC = {
    "ex04_dense_baseline": ("preprocess", "build_dense_model"),
    "ex05_cnn": ("build_cnn",),
    "ex06_regularization": ("build_regularized_cnn", "AccuracyThreshold", "make_callbacks"),
    "ex07_feature_maps": ("activation_model", "feature_maps"),
    "ex11_cifar10": ("build_cifar_cnn",),
}


def _run(release_dir: Path, source: str, *functions: str) -> str:
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(compile(source, "<notebook>", "exec"), ns)  # noqa: S102 - the course's own code
    out = io.StringIO()
    check(
        *(ns[f] for f in functions),
        cases_dir=release_dir / "cnn_selfcheck" / "cases",
        out=out,
        namespace=ns,
    )
    return out.getvalue()


@pytest.mark.parametrize("eid", sorted(PUBLIC))
def test_the_solution_passes_and_the_starter_does_not(release_dir: Path, eid: str) -> None:
    functions = PUBLIC[eid]
    text = _run(release_dir, helpers.solution_definitions(eid), *functions)
    assert "✘" not in text, text
    for name in functions:
        assert f"{name}: " in text and "passed" in text, text
    assert text.count(" passed") == len(functions) and "0 of" not in text, text
    starter = definitions_source(nbformat.read(exercises_dir() / f"{eid}.ipynb", as_version=4))
    text = _run(release_dir, starter, *functions)
    assert "✔" not in text, text
    assert text.count("not attempted yet") == len(functions), text


EX06_WRONG = """

def build_regularized_cnn():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomZoom(0.1)]),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.6),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class AccuracyThreshold(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target:
            self.model.stop_training = True


def make_callbacks(checkpoint_path):
    return [keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3,
                                          restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(checkpoint_path, monitor="val_loss",
                                            save_best_only=True)]
"""


def test_ex06_mistakes_fail_the_self_check_in_the_words_of_the_grade(
    release_dir: Path, make_notebook
) -> None:  # type: ignore[no-untyped-def]
    """A regularised CNN without batch normalisation and with too much dropout, a callback
    that reads val_accuracy and an early stop on the wrong metric: the self-check cell shows
    each graded check's own message (the grade and the cell judge with one function)."""
    source = helpers.solution_definitions("ex06_regularization") + EX06_WRONG
    text = _run(release_dir, source, *PUBLIC["ex06_regularization"])
    graded = helpers.grade_nb(
        make_notebook([source], exercise="ex06_regularization"), profile="smoke"
    )
    failed = {c.id: c.message for c in graded.checks if c.status.value == "failed"}
    for check_id in ("reg_batchnorm_dropout", "accuracy_threshold", "make_callbacks_settings"):
        assert check_id in failed, failed
        first = failed[check_id].splitlines()[0]
        assert f"✘ {first}" in text, (first, text)
    assert (
        "Dropout with rate in [0.2, 0.5] (found: Dropout(0.6))" in failed["reg_batchnorm_dropout"]
    )
    assert "EarlyStopping: monitor is 'val_accuracy'" in failed["make_callbacks_settings"]
    for check_id in ("reg_augmentation", "reg_l2", "reg_output_compile"):
        assert (check_id in failed) == (check_id == "reg_l2"), (
            failed
        )  # the nested Sequential counts


def test_a_wrong_model_fails_with_what_the_exercise_states(
    release_dir: Path, make_notebook
) -> None:  # type: ignore[no-untyped-def]
    source = (
        helpers.solution_definitions("ex04_dense_baseline")
        + """

def build_dense_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""
    )
    text = _run(release_dir, source, "build_dense_model")
    # the graded checks' own words: one comparison, in the grader and in the notebook
    assert "✘ build_dense_model(): the model differs from the one asked for:" in text, text
    assert (
        "- the input shape is (28, 28), expected (28, 28, 1): start the model with "
        "keras.Input(shape=(28, 28, 1))"
    ) in text
    assert (
        "- the output layer (Dense(10, softmax)): activation is 'linear', expected "
        "'softmax'" in text
    )
    assert (
        "✘ build_dense_model(): compile settings: the optimizer is 'sgd', expected 'adam'" in text
    )
    assert "hint: Input (28, 28, 1)" in text
    graded = helpers.grade_nb(
        make_notebook([source], exercise="ex04_dense_baseline"), profile="smoke"
    )
    failed = {c.id: c.message for c in graded.checks if c.status.value == "failed"}
    for check_id in ("dense_architecture", "dense_compile"):
        lines = failed[check_id].splitlines()
        assert f"✘ {lines[0]}" in text and all(line in text for line in lines), (lines, text)


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
    release_dir: Path, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(helpers.solution_path("ex04_dense_baseline")),
            "--course",
            str(release_dir),
            "--profile",
            "smoke",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "build_dense_model: layers, shapes and parameters" in out
    assert "build_dense_model: compiled with adam" in out
    assert "dense_model holds a Keras model after the run" in out
    assert "public examples passed: 4 of 4" in out, out
    assert "preprocess: float32 of shape (N, 28, 28, 1)" in out
    assert "execution: ok in" in out and "smoke" in out


@pytest.mark.parametrize(
    "body, says",
    [
        ("return images[..., np.newaxis] / 255.0", "expected dtype float32, got float64"),
        ("return images[..., np.newaxis].astype('float32') / 256", "differ from the expected"),
        ("return images.astype('float32') / 255", "expected shape"),
    ],
)
def test_preprocess_mistakes_that_cost_points_fail_its_public_example(
    release_dir: Path, body: str, says: str
) -> None:
    source = (
        helpers.solution_definitions("ex04_dense_baseline")
        + f"""

def preprocess(images):
    {body}
"""
    )
    text = _run(release_dir, source, "preprocess")
    assert "✘" in text and says in text, text


def test_an_activation_model_that_skips_the_pooling_fails_its_public_example(
    release_dir: Path,
) -> None:
    source = (
        helpers.solution_definitions("ex07_feature_maps")
        + """

def activation_model(model):
    return keras.Model(inputs=model.inputs, outputs=[
        layer.output for layer in model.layers if isinstance(layer, keras.layers.Conv2D)])
"""
    )
    text = _run(release_dir, source, "activation_model", "feature_maps")
    assert "✘ activation_model(model) on a small CNN, run on one image" in text, text
    assert "activation_model: 0 of 1 passed" not in text and "0 of 1 passed" in text
