"""Accuracy thresholds, and the smoke profile's calibration against the reference solution.

Under `full` a trained model must reach the course threshold (dense 0.85, CNN 0.90, ...).
Under `smoke` it trains for a fraction of that budget, so a course threshold would fail every
submission; the threshold is instead what the reference solution reaches under the *same*
budget on the *same* machine, minus a declared margin (never above the course threshold):

    0.873 ≥ 0.859 = reference 0.889 − 0.03

A model must also beat the simpler model of an earlier exercise where the spec names one
(`must_beat`: ex05's CNN must beat ex04's dense baseline trained under ex05's budget), so that a
dense network cannot pass as the CNN: the threshold is then at least that baseline's accuracy
plus `beat_margin`. Both are measured on the held-out test images the grader evaluates on
(`grader.datasets`): images no kernel received.

The reference is measured the way a submission is graded: `grader.api.grade` runs the solution
notebook against a copy of its exercise whose only check measures the accuracy, so it gets the
same injected budget, kernel environment, sandbox, probe and clean-process evaluation. The result is
cached in `<cache root>/calibration.json` under a key of everything it depends on (exercise,
profile, budget, test images, solution notebook hash, TensorFlow and Keras versions, CPU or
GPU), so it is measured once per machine; `cnn-grader calibrate` measures ahead of a batch.
A file lock makes parallel gradings wait for one measurement instead of repeating it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader import datasets, profiles
from grader.errors import ConfigurationError
from grader.keras_support.budget import Training, eval_text

CALIBRATION_FILE = "calibration.json"
PROBE_KEY = "reference_accuracy"


class CalibrationError(ConfigurationError):
    """The reference solution could not be measured: the instructor's setup needs a look."""


@dataclass(frozen=True)
class AccuracySpec:
    """What an accuracy check judges: which trained model, on which data, against what."""

    exercise_id: str
    variable: str  # the notebook's variable holding the trained model
    dataset: str
    course_threshold: float  # the full profile's threshold
    training: Training  # the exercise's budgets (the same object its hooks come from)
    margin: float = 0.03  # smoke: below the reference by at most this much
    build: str = ""  # the notebook's function that builds the model (its architecture is kept)
    exact_architecture: bool = True  # the course fixes the layers (not ex06: properties)
    must_beat: str = ""  # smoke: an exercise whose simpler model this one must beat
    beat_margin: float = 0.01  # ... by at least this much


@dataclass(frozen=True)
class Threshold:
    value: float
    profile: str
    source: str  # "course" | "reference" | "baseline"
    reference: float | None = None
    margin: float = 0.0
    budget_text: str = ""
    baseline: float | None = None  # the simpler model's accuracy under the same budget
    baseline_name: str = ""
    beat_margin: float = 0.0

    def explain(self, accuracy: float) -> str:
        """The line of the report: '0.873 ≥ 0.859 = reference 0.889 − 0.03 (smoke profile…)'."""
        sign = "≥" if accuracy >= self.value else "<"
        head = f"{accuracy:.3f} {sign} {self.value:.3f}"
        if self.source == "baseline" and self.baseline is not None:
            ref = (f"; reference {self.reference:.3f} − {self.margin:g} is below it"
                   if self.reference is not None else "")
            return (f"{head} = {self.baseline_name} {self.baseline:.3f} + {self.beat_margin:g}, "
                    f"which this model must beat{ref} ({self.profile} profile: "
                    f"{self.budget_text})")
        if self.source == "reference" and self.reference is not None:
            capped = self.value < round(self.reference - self.margin, 4)
            how = (f"course threshold (reference {self.reference:.3f} − {self.margin:g} is above it)"
                   if capped else f"reference {self.reference:.3f} − {self.margin:g}")
            beat = (f"; {self.baseline_name} {self.baseline:.3f} + {self.beat_margin:g} is "
                    "below it" if self.baseline is not None else "")
            return f"{head} = {how}{beat} ({self.profile} profile: {self.budget_text})"
        return f"{head}, the course threshold ({self.profile} profile: {self.budget_text})"


def calibration_path() -> Path:
    return datasets.cache_root() / CALIBRATION_FILE


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def calibration_key(exercise: Any, spec: AccuracySpec, profile: str) -> dict[str, Any]:
    """Everything the reference accuracy depends on."""
    training = spec.training
    budget = training.budget(profile)
    return {
        "exercise": spec.exercise_id,
        "variable": spec.variable,
        "profile": profile,
        "budget": budget.parameters() if budget else "notebook",
        "eval_samples": training.eval_samples(profile),
        "evaluated_on": "held-out half of the test split",
        "dataset": spec.dataset,
        "test_split": datasets.test_split_id(spec.dataset),
        "solution_sha256": hashlib.sha256(exercise.solution_path.read_bytes()).hexdigest(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "device": "gpu" if profiles.gpu_available() else "cpu",
    }


def _key_text(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one grader at a time
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _shipped() -> dict[str, Any]:
    """Calibrations the course bundle carries (measured by the instructor on a machine of the
    same kind: the key holds device, TensorFlow and Keras versions, so others never match)."""
    from grader.course import current

    try:
        path = current().calibration_file
    except ConfigurationError:
        return {}
    return _read(path) if path is not None else {}


def _entry(name: str) -> dict[str, Any] | None:
    for source in (_read(calibration_path()), _shipped()):
        entry = source.get(name)
        if isinstance(entry, dict) and isinstance(entry.get("accuracy"), (int, float)):
            return entry
    return None


def cached(exercise: Any, spec: AccuracySpec, profile: str) -> float | None:
    entry = _entry(_key_text(calibration_key(exercise, spec, profile)))
    return float(entry["accuracy"]) if entry is not None else None


def reference_seconds(exercise: Any, profile: str) -> float | None:
    """How long grading the reference solution took under `profile` on this machine (the
    longest of the exercise's accuracy checks), when it was measured; never measures."""
    from grader.keras_support.checks import find_accuracy_specs

    seconds = []
    for spec in find_accuracy_specs(exercise):
        entry = _entry(_key_text(calibration_key(exercise, spec, profile)))
        if entry is not None and isinstance(entry.get("seconds"), (int, float)):
            seconds.append(float(entry["seconds"]))
    return max(seconds) if seconds else None


def measured_for(solutions: list[Path]) -> dict[str, Any]:
    """The cached calibrations of these solution notebooks (what `cnn-grader bundle` ships)."""
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in solutions if p.is_file()}
    data = _read(calibration_path())
    return {k: v for k, v in data.items()
            if isinstance(v, dict) and v.get("solution_sha256") in hashes}


def reference_accuracy(exercise: Any, spec: AccuracySpec, profile: str, *,
                       refresh: bool = False) -> tuple[float, bool]:
    """The reference solution's accuracy under `profile` and whether it was measured now."""
    key = calibration_key(exercise, spec, profile)
    name = _key_text(key)
    path = calibration_path()
    with _locked(path):
        entry = _entry(name)
        if entry is not None and not refresh:
            return float(entry["accuracy"]), False
        t0 = time.monotonic()
        accuracy = measure(exercise, spec, profile)
        data = _read(path)
        data[name] = {**key, "accuracy": accuracy, "seconds": round(time.monotonic() - t0, 1),
                      "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
        return accuracy, True


def threshold(exercise: Any, spec: AccuracySpec, profile: str) -> Threshold:
    training = spec.training
    evaluated = _eval_text(training.eval_samples(profile))
    budget = training.budget(profile)
    if budget is None:
        return Threshold(spec.course_threshold, profile, "course",
                         budget_text=f"the notebook's own budget; {evaluated}")
    reference, _ = reference_accuracy(exercise, spec, profile)
    value = min(spec.course_threshold, round(reference - spec.margin, 4))
    text = f"{budget.describe()}; {evaluated}; reference measured on this machine"
    found = baseline_threshold(spec, profile)
    if found is None:
        return Threshold(value, profile, "reference", reference, spec.margin, text)
    name, accuracy, floor = found
    if floor > reference:  # this budget cannot tell the two apart: never fail the reference
        text += (f"; WARNING: under this budget the reference does not beat {name} "
                 f"({accuracy:.3f}), so the threshold cannot tell the two models apart")
        return Threshold(value, profile, "reference", reference, spec.margin, text)
    return Threshold(max(value, floor), profile, "baseline" if floor > value else "reference",
                     reference, spec.margin, text, accuracy, name, spec.beat_margin)


def baseline_spec(spec: AccuracySpec) -> tuple[Any, AccuracySpec] | None:
    """The simpler exercise's solution, trained under *this* spec's budget (`must_beat`)."""
    if not spec.must_beat:
        return None
    from grader.exercises import get
    from grader.keras_support.checks import find_accuracy_specs

    exercise = get(spec.must_beat)
    theirs = find_accuracy_specs(exercise)[0]
    return exercise, replace(theirs, training=spec.training, must_beat="")


def baseline_threshold(spec: AccuracySpec, profile: str) -> tuple[str, float, float] | None:
    """(what the baseline is, its accuracy, the floor it sets: accuracy + beat_margin), measured
    under this spec's budget on this machine; None without a baseline or under `full`."""
    found = baseline_spec(spec)
    if found is None or spec.training.budget(profile) is None:
        return None
    exercise, theirs = found
    accuracy, _ = reference_accuracy(exercise, theirs, profile)
    name = f"the {exercise.id} reference ({theirs.variable}) under the same budget"
    return name, accuracy, round(accuracy + spec.beat_margin, 4)


def _eval_text(samples: int | None) -> str:
    return f"accuracy on {eval_text(samples)}"


def measure(exercise: Any, spec: AccuracySpec, profile: str) -> float:
    """Grade the solution notebook against a one-check copy of its exercise that only
    measures the accuracy: the same preparation, kernel environment, sandbox, probe and
    evaluation a submission gets. (This is why a check helper reaches up to `grader.api`.)"""
    from grader.api import Options, grade
    from grader.checks.core import Exercise
    from grader.keras_support.checks import AccuracyCheck, accuracy_call

    datasets.require(spec.dataset)
    # The spec's training, not the exercise's: a baseline is measured under another budget.
    probe = Exercise(exercise.id, title=exercise.title, limits=exercise.limits,
                     needs_tensorflow=exercise.needs_tensorflow, prepare=spec.training.prepare,
                     kernel_env=spec.training.kernel_env)
    probe.check(points=1, call=accuracy_call(spec), id=PROBE_KEY)(
        AccuracyCheck(spec, measure_only=True))
    result = grade(exercise.solution_path, Options(exercise=probe, profile=profile, seed=0))
    check = result.checks[0]
    accuracy = check.details.get("accuracy")
    if check.status.value != "passed" or not isinstance(accuracy, float):
        problems = "; ".join(f"cell {p.cell}: {p.kind} {p.ename}: {p.evalue}"
                             for p in result.execution.problems) or result.execution.message
        raise CalibrationError(
            f"calibrating {spec.exercise_id} ({profile} profile): the solution notebook's "
            f"`{spec.variable}` could not be measured ({check.status.value}: {check.message}"
            f"{'; ' + problems if problems else ''})")
    return accuracy


def calibrate(exercise_ids: list[str], profile: str, *, refresh: bool = False) -> list[str]:
    """Measure (or read) the reference accuracy of every accuracy check of the exercises;
    returns one line per check for `cnn-grader calibrate`. No ids: every Keras exercise."""
    from grader.exercises import available, get
    from grader.keras_support.checks import find_accuracy_specs

    lines = []
    for eid in exercise_ids or available():
        exercise = get(eid)
        specs = find_accuracy_specs(exercise)
        if not specs:
            if exercise_ids:
                lines.append(f"{eid}: no accuracy check, nothing to calibrate")
            continue
        for spec in specs:
            t0 = time.monotonic()
            reference, fresh = reference_accuracy(exercise, spec, profile, refresh=refresh)
            how = f"measured in {time.monotonic() - t0:.0f}s" if fresh else "cached"
            limit = threshold(exercise, spec, profile)
            line = (f"{eid} [{profile}] {spec.variable}: reference {reference:.4f} ({how}); "
                    f"threshold {limit.value:.4f}")
            if limit.baseline is not None:
                line += (f" (must beat {spec.must_beat}'s reference under this budget: "
                         f"{limit.baseline:.4f} + {spec.beat_margin:g})")
            elif "WARNING" in limit.budget_text:
                line += "  WARNING" + limit.budget_text.split("WARNING", 1)[1]
            if profile == "full" and reference < spec.course_threshold:
                line += (f"  WARNING: the reference is below the course threshold "
                         f"{spec.course_threshold:g}")
            lines.append(line)
    lines.append(f"calibration cache: {calibration_path()}")
    return lines
