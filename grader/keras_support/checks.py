"""The check functions Keras exercises declare: architecture, compile settings, accuracy.

    ex.check(points=3, call=Call("build_cnn"))(architecture_check())
    ex.check(points=5, call=Call.get("cnn_model"), requires=needs_dataset("fashion_mnist"))(
        AccuracyCheck(spec))

Each one loads what the probe saved (a `.keras` file) with safe_mode, compares in the grader,
and puts its side-by-side table in `ctx.extras["table"]` for the report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader import datasets
from grader.checks.core import CheckFn, Context, Fail
from grader.keras_support import architecture as arch
from grader.keras_support.calibration import AccuracySpec, threshold
from grader.keras_support.evaluate import evaluate_model
from grader.probe.evidence import KerasFile, ObjectInfo


def needs_dataset(dataset_id: str) -> Callable[[], None]:
    """A `requires=` hook: DatasetUnavailable (status error, clear message) when missing."""
    def check() -> None:
        datasets.require(dataset_id)
    return check


def model_file(got: Any, *, what: str) -> Path:
    """The saved model's path, or Fail saying what came back instead of a model."""
    if isinstance(got, KerasFile):
        return got.path
    if got is None:
        raise Fail(f"{what} is None, not a keras Model (did the function forget `return model`?)")
    if isinstance(got, ObjectInfo):
        raise Fail(f"{what} is a {got.type_name} (from {got.module or 'unknown module'}), "
                   "not a keras Model")
    raise Fail(f"{what} is a {type(got).__name__}, not a keras Model")


@functools.lru_cache(maxsize=8)
def _loaded(path: str, mtime: int, what: str) -> tuple[Any, Fail | None]:
    try:
        return arch.load(Path(path), what=what), None
    except Fail as exc:  # remembered too: a file that cannot be loaded is tried once
        return None, exc


def student_model(got: Any, *, what: str) -> Any:
    """The student's model, loaded once per file however many checks look at it."""
    path = model_file(got, what=what)
    model, failure = _loaded(str(path), path.stat().st_mtime_ns, what)
    if failure is not None:
        raise Fail(str(failure))
    return model


def reference_model(ctx: Context) -> Any:
    """The reference model; `ctx.expected` is a live model, or a saved one for drivers."""
    want = ctx.expected
    return student_model(want, what="the reference") if isinstance(want, KerasFile) else want


def _comparison_check(compare: Callable[[Any, Any], Any], head: str) -> CheckFn:
    """Describe the student's and the reference model, compare, show the table, fail on a diff."""
    def check(got: Any, ctx: Context) -> None:
        have = arch.describe(student_model(got, what=ctx.text))
        want = arch.describe(reference_model(ctx))
        result = compare(have, want)
        ctx.extras["table"] = result.table
        if not result.ok:
            raise Fail(_listing(f"{ctx.text}: {head}", result.problems))
    return check


def architecture_check() -> CheckFn:
    """The student's model has the reference's layers, settings, shapes and parameters."""
    return _comparison_check(arch.compare_layers, "the model differs from the one asked for")


def param_count_check(expected: int) -> CheckFn:
    def check(got: Any, ctx: Context) -> None:
        have = arch.describe(student_model(got, what=ctx.text))
        if have.params != expected:
            raise Fail(f"{ctx.text}: the model has {have.params:,} parameters, expected "
                       f"{expected:,}" if have.params is not None else
                       f"{ctx.text}: the model is not built, so it has no parameters yet")
    return check


def compile_check() -> CheckFn:
    """Optimizer, loss and metrics as the reference model was compiled."""
    return _comparison_check(arch.compare_compile, "compile settings")


COMPILE_HINT = ("model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                "metrics=['accuracy'])")


def add_compile_check(ex: Any, build: Any, *, id: str, points: float = 1) -> None:
    """The course's compile settings (shared by every model-building exercise)."""
    ex.check(points=points, call=build, id=id, hint=COMPILE_HINT,
             title=f"{build.func}: compiled with adam, sparse_categorical_crossentropy, "
                   "accuracy")(compile_check())


def _listing(head: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{head}: {problems[0]}"
    return head + ":\n" + "\n".join(f"- {p}" for p in problems)


class AccuracyCheck:
    """The trained model reaches the profile's threshold on the test set, measured by the
    grader in a clean process. Calibration (smoke) finds its spec through this class."""

    def __init__(self, spec: AccuracySpec, *, measure_only: bool = False) -> None:
        self.spec = spec
        self.measure_only = measure_only  # calibration: record the accuracy, judge nothing

    def __call__(self, got: Any, ctx: Context) -> None:
        from grader.exercises import get as get_exercise

        path = model_file(got, what=f"`{self.spec.variable}`")
        found = datasets.require(self.spec.dataset)
        profile = ctx.profile or "full"
        samples = self.spec.training.eval_samples(profile)
        result = evaluate_model(path, found, samples, what=f"`{self.spec.variable}`")
        ctx.extras["accuracy"] = round(result.accuracy, 6)
        if self.measure_only:
            return
        limit = threshold(get_exercise(self.spec.exercise_id), self.spec, profile)
        ctx.extras["threshold"] = limit.value
        ctx.extras["threshold_text"] = limit.explain(result.accuracy)
        if result.accuracy < limit.value:
            raise Fail(f"`{self.spec.variable}` classifies {result.correct:,} of "
                       f"{result.total:,} test images correctly (accuracy "
                       f"{result.accuracy:.3f}); it needs at least {limit.value:.3f}. Was it "
                       "trained (model.fit) after it was built, with the notebook's data?")


def find_accuracy_specs(exercise: Any) -> list[AccuracySpec]:
    """The accuracy checks of an exercise (what `cnn-grader calibrate` measures)."""
    return [c.fn.spec for c in exercise.checks
            if isinstance(c.fn, AccuracyCheck) and not c.fn.measure_only]
