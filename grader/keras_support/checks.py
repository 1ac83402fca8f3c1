"""The check functions Keras exercises declare: architecture, compile settings, accuracy.

    ex.check(points=3, call=Call("build_cnn"))(architecture_check())
    add_accuracy_check(ex, ACCURACY, points=5, id="cnn_accuracy", title=..., hint=...)

Each one loads what the probe saved (a `.keras` file) with safe_mode, compares in the grader,
and puts its side-by-side table in `ctx.extras["table"]` for the report.

The accuracy check's call is a driver (`kernel_drivers.drive_trained_model`): besides the
trained model it brings back what its build function returns, the budget parameters' final
values, what the last fit() ran and which of Keras' saving functions the notebook replaced.
Findings for the instructor go to `ctx.extras["integrity"]`, notes for the student to
`ctx.extras["notes"]`; grader.pipeline gathers both into the result. Its threshold was settled
before grading (grader.calibrate) and comes in the check's context: no check here ever starts
work of its own besides evaluating the model it was given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.checks.calls import Call, Driver
from grader.checks.core import CheckFn, Context, Fail
from grader.datasets import sources
from grader.errors import ConfigurationError
from grader.keras_support import architecture as arch
from grader.keras_support import provenance
from grader.keras_support.budget import PARAMETER_NAMES
from grader.keras_support.evaluate import evaluate_model
from grader.keras_support.spec import AccuracySpec, Threshold
from grader.probe.evidence import KerasFile, ObjectInfo
from grader.selfcheck.comparison import compare_layers, compared
from grader.selfcheck.description import ModelInfo, describe

_DRIVERS = Path(__file__).with_name("kernel_drivers.py")
TRAINED_DRIVER = Driver.from_file(_DRIVERS, "drive_trained_model")


def needs_dataset(dataset_id: str) -> Callable[[], None]:
    """A `requires=` hook: DatasetUnavailable (status error, clear message) when missing."""

    def check() -> None:
        sources.require(dataset_id)

    return check


def model_file(got: Any, *, what: str) -> Path:
    """The saved model's path, or Fail saying what came back instead of a model."""
    if isinstance(got, KerasFile):
        return got.path
    if got is None:
        raise Fail(f"{what} is None, not a keras Model (did the function forget `return model`?)")
    if isinstance(got, ObjectInfo):
        raise Fail(
            f"{what} is a {got.type_name} (from {got.module or 'unknown module'}), "
            "not a keras Model"
        )
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


def _comparison_check(kind: str) -> CheckFn:
    """Describe the student's and the reference model, compare, show the table, fail on a
    diff: grader.selfcheck.comparison's, which the public self-check runs too
    (the check says which: `public_compare`)."""

    def check(got: Any, ctx: Context) -> None:
        have = describe(student_model(got, what=ctx.text))
        want = describe(reference_model(ctx))
        problems, table = compared(kind, have, want, what=ctx.text)
        ctx.extras["table"] = table
        if problems:
            raise Fail(problems[0])

    check.public_compare = kind  # type: ignore[attr-defined]  # read by selfcheck.cases
    return check


def architecture_check() -> CheckFn:
    """The student's model has the reference's layers, settings, shapes and parameters."""
    return _comparison_check("layers")


def param_count_check(expected: int) -> CheckFn:
    """The parameter count the exercise states."""

    def check(got: Any, ctx: Context) -> None:
        have = describe(student_model(got, what=ctx.text))
        problems, _ = compared("params", have, ModelInfo(None, (), expected), what=ctx.text)
        if problems:
            raise Fail(problems[0])

    check.public_compare = "params"  # type: ignore[attr-defined]  # read by selfcheck.cases
    return check


def compile_check() -> CheckFn:
    """Optimizer, loss and metrics as the reference model was compiled."""
    return _comparison_check("compile")


COMPILE_HINT = (
    "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"
)


def add_compile_check(ex: Any, build: Any, *, id: str, points: float = 1) -> None:
    """The course's compile settings (shared by every model-building exercise)."""
    ex.check(
        points=points,
        call=build,
        id=id,
        hint=COMPILE_HINT,
        title=f"{build.func}: compiled with adam, sparse_categorical_crossentropy, accuracy",
    )(compile_check())


def accuracy_call(spec: AccuracySpec) -> Call:
    """The probe call of an accuracy check: the trained model and how it came about."""
    return Call.driver(
        TRAINED_DRIVER, spec.variable, spec.variable, spec.build, list(PARAMETER_NAMES)
    ).labelled(spec.variable)


def add_accuracy_check(
    ex: Any, spec: AccuracySpec, *, points: float, id: str, title: str, hint: str
) -> None:
    ex.check(
        points=points,
        call=accuracy_call(spec),
        requires=needs_dataset(spec.dataset),
        title=title,
        id=id,
        hint=hint,
    )(AccuracyCheck(spec))


def _trained_model(spec: AccuracySpec, got: Any) -> tuple[dict[str, Any], Path, Any]:
    """What the driver brought back (a dict, or a bare model), the saved model's path and the
    dataset the grader evaluates on (DatasetUnavailable where it is missing)."""
    what = f"`{spec.variable}`"
    report = got if isinstance(got, dict) and "model" in got else {"model": got}
    return report, model_file(report.get("model"), what=what), sources.require(spec.dataset)


# Below this an accuracy is about what guessing gets (0.10 for ten classes): the model was
# most likely never trained; above it, it was, and the question is how.
UNTRAINED_BELOW = 0.25


def _shortfall(accuracy: float, limit: Threshold) -> str:
    """Why a trained model may fall short, without blaming the student for the grader's line:
    "was it trained?" only where the accuracy is near chance."""
    if accuracy < UNTRAINED_BELOW:
        return (
            "That is close to guessing: was it trained (model.fit) after it was built, "
            "with the notebook's data?"
        )
    reached = (
        f"the reference solution reaches {limit.reference:.3f} under the same budget; "
        if limit.reference is not None
        else ""
    )
    return (
        f"It learned (well above guessing), but not enough: {reached}compare the "
        "preprocessing, the layers and the fit() arguments with the notebook's instructions."
    )


def _dict(value: Any) -> dict[str, Any]:
    """A report's field that should be a dict, or {} (the kernel's data is untrusted)."""
    return value if isinstance(value, dict) else {}


class AccuracyCheck:
    """The trained model reaches the profile's threshold on held-out test images, measured by
    the grader in a clean process; it must be the model the notebook's build function makes.
    The threshold was settled before grading (grader.calibrate) and comes in `ctx.threshold`:
    this check measures the student's model and compares, nothing else."""

    def __init__(self, spec: AccuracySpec) -> None:
        self.spec = spec

    def __call__(self, got: Any, ctx: Context) -> None:
        what = f"`{self.spec.variable}`"
        report, path, found = _trained_model(self.spec, got)
        profile = ctx.profile or "full"
        self._saving(report, ctx)
        self._budget(report, ctx, profile)
        self._same_model(report, ctx)
        verdict = self._provenance(report, ctx, profile)
        samples = self.spec.training.eval_samples(profile)
        result = evaluate_model(path, found, samples, what=what)
        ctx.extras["accuracy"] = round(result.accuracy, 6)
        if verdict.refuse and result.accuracy >= UNTRAINED_BELOW:
            # Weights that classify well but that no training of this model in this run left:
            # brought in. (Near chance they gain nothing, and the shortfall message says why.)
            ctx.extras.setdefault("integrity", []).extend(verdict.refused_findings)
            ctx.extras["weights_refused"] = True  # the pipeline adds the code's evidence
            raise Fail(
                f"{verdict.refuse} (it classifies {result.accuracy:.3f} of the held-out "
                "test images correctly)"
            )
        limit = ctx.threshold
        if not isinstance(limit, Threshold):
            raise ConfigurationError(
                ctx.threshold_problem
                or (
                    f"no accuracy threshold was settled for {what} before grading (the grading "
                    "was started without calibration: grader.calibrate.resolve)"
                )
            )
        ctx.extras["threshold"] = limit.value
        if limit.reference is not None:
            ctx.extras["reference"] = limit.reference
        ctx.extras["target"] = (
            limit.course if limit.course is not None else self.spec.course_threshold
        )
        ctx.extras["threshold_text"] = limit.explain(result.accuracy) + ctx.extras.pop(
            "budget_ran", ""
        )
        if limit.reference is not None and limit.reference < limit.value:
            raise ConfigurationError(  # the grader's own calibration, never the student's fault
                f"the threshold for {what} ({limit.value:.3f}) is above what the reference "
                f"solution reaches ({limit.reference:.3f}): recalibrate (cnn-grader calibrate "
                "--refresh)"
            )
        for finding in provenance.accuracy_findings(
            self.spec.variable,
            accuracy=result.accuracy,
            reference=limit.reference,
            margin=limit.margin,
            steps=verdict.steps,
            allowed=verdict.allowed,
            exact_architecture=self.spec.exact_architecture,
        ):
            ctx.extras.setdefault("integrity", []).append(finding)
        if result.accuracy < limit.value:
            raise Fail(
                f"{what} classifies {result.correct:,} of {result.total:,} held-out "
                f"test images correctly (accuracy {result.accuracy:.3f}); it needs at "
                f"least {limit.value:.3f}. " + _shortfall(result.accuracy, limit)
            )

    def _finding(self, ctx: Context, text: str) -> None:
        ctx.extras.setdefault("integrity", []).append(f"`{self.spec.variable}`: {text}")

    def _saving(self, report: dict[str, Any], ctx: Context) -> None:
        replaced = report.get("saving_replaced")
        if isinstance(replaced, list) and replaced:
            names = ", ".join(str(x)[:100] for x in replaced[:5])
            self._finding(
                ctx,
                f"the notebook replaced Keras' saving ({names}); the grader saved "
                "the model with Keras' own function, kept from before the "
                "notebook ran",
            )
        elif replaced is None and "saving_replaced" in report:
            self._finding(
                ctx,
                "Keras' saving functions were not kept from before the notebook "
                "ran (the kernel's start-up code did not run, or the notebook "
                "changed how modules are imported): the model was saved with "
                "the notebook's own keras.Model.save",
            )

    def _budget(self, report: dict[str, Any], ctx: Context, profile: str) -> None:
        """The budget that ran, where it is not the injected one: the notebook's parameters
        after its last cell, and the epochs its model's last fit() ran."""
        budget = self.spec.training.budget(profile)
        if budget is None:
            return
        injected = budget.parameters()
        final = _dict(report.get("parameters"))
        changed = {k: final[k] for k in injected if k in final and final[k] != injected[k]}
        fit = _dict(report.get("fit"))
        ran = fit.get("epochs_run")
        parts = [f"{k}={v!r}" for k, v in changed.items()]
        if isinstance(ran, int) and not isinstance(ran, bool) and ran > budget.epochs:
            parts.append(f"its last fit() ran {ran} epochs")
        if not parts:
            return
        shown = ", ".join(f"{k}={v!r}" for k, v in injected.items())
        text = (
            f"the notebook trained `{self.spec.variable}` with {', '.join(parts)}, not the "
            f"injected budget ({shown})"
        )
        ctx.extras.setdefault("notes", []).append(
            f"{profile} profile: {text}; the accuracy threshold is for the injected budget"
        )
        self._finding(ctx, text)
        ctx.extras["budget_ran"] = f"; budget that ran: {', '.join(parts)}"

    def _provenance(self, report: dict[str, Any], ctx: Context, profile: str) -> provenance.Verdict:
        """The model's weights come from training recorded in this run, within the budget
        (grader.keras_support.provenance): weights brought in get no accuracy credit."""
        budget = self.spec.training.budget(profile)
        final = _dict(report.get("parameters"))
        if budget is not None:
            injected = budget.parameters()
            epochs, samples = injected.get("EPOCHS"), injected.get("TRAIN_SAMPLES")
            batch = injected.get("BATCH_SIZE") or final.get("BATCH_SIZE") or 32
            allowed = provenance.steps_allowed(epochs, samples, batch)
            text = f"EPOCHS={epochs} × ceil({samples} / BATCH_SIZE={batch})"
        else:  # the notebook's own budget: its parameters, on the data fit() was given
            allowed, text = None, ""
        verdict = provenance.judge(report, self.spec.variable, allowed=allowed, budget_text=text)
        for finding in verdict.findings:
            ctx.extras.setdefault("integrity", []).append(finding)
        for note in verdict.notes:
            ctx.extras.setdefault("notes", []).append(f"{profile} profile: {note}")
        return verdict

    def _same_model(self, report: dict[str, Any], ctx: Context) -> None:
        """The trained model has the architecture of what the notebook's build function returns
        (or, where that function is unusable, the course's): a model swapped in for the one
        the exercise builds is not graded as if it were that one."""
        spec = self.spec
        if not spec.build:
            return
        trained = describe(student_model(report.get("model"), what=f"`{spec.variable}`"))
        built, against = None, f"{spec.build}()"
        if isinstance(report.get("built"), KerasFile):
            try:
                built = describe(student_model(report["built"], what=f"{spec.build}()"))
            except Fail:
                built = None
        if built is None and spec.exact_architecture:
            build = getattr(ctx.reference, spec.build, None) if ctx.reference is not None else None
            if build is None:
                return
            built, against = describe(build()), f"the course's {spec.build}()"
        if built is None:
            return
        result = compare_layers(trained, built)
        if result.ok:
            return
        ctx.extras["table"] = result.table
        problems = "; ".join(result.problems[:3])
        self._finding(ctx, f"the trained model is not the model {against} returns ({problems})")
        raise Fail(
            f"`{spec.variable}` is not the model {against} returns ({problems}): train "
            f"the model {spec.build}() builds; its accuracy was not measured"
        )


class AccuracyMeasurement:
    """Calibration's only check (grader.calibrate.measure): the reference solution's trained
    model, evaluated as a submission's is and recorded in `ctx.extras["accuracy"]`; judged
    against nothing."""

    def __init__(self, spec: AccuracySpec) -> None:
        self.spec = spec

    def __call__(self, got: Any, ctx: Context) -> None:
        _, path, found = _trained_model(self.spec, got)
        samples = self.spec.training.eval_samples(ctx.profile or "full")
        result = evaluate_model(path, found, samples, what=f"`{self.spec.variable}`")
        ctx.extras["accuracy"] = round(result.accuracy, 6)


def find_accuracy_specs(exercise: Any) -> list[AccuracySpec]:
    """The accuracy checks of an exercise (what `cnn-grader calibrate` measures)."""
    return [c.fn.spec for c in exercise.checks if isinstance(c.fn, AccuracyCheck)]
