"""Accuracy thresholds, and the smoke profile's calibration against the reference solution.

Under `full` a trained model must reach the course threshold (dense 0.85, CNN 0.90, ...).
Under `smoke` it trains for a fraction of that budget, so a course threshold would fail every
submission; the threshold is instead what the reference solution reaches under the *same*
budget on the *same* machine, minus a declared margin (never above the course threshold):

    0.873 ≥ 0.859 = reference 0.889 − 0.03

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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Threshold:
    value: float
    profile: str
    source: str  # "course" | "reference"
    reference: float | None = None
    margin: float = 0.0
    budget_text: str = ""

    def explain(self, accuracy: float) -> str:
        """The line of the report: '0.873 ≥ 0.859 = reference 0.889 − 0.03 (smoke profile…)'."""
        sign = "≥" if accuracy >= self.value else "<"
        head = f"{accuracy:.3f} {sign} {self.value:.3f}"
        if self.source == "reference" and self.reference is not None:
            capped = self.value < round(self.reference - self.margin, 4)
            how = (f"course threshold (reference {self.reference:.3f} − {self.margin:g} is above it)"
                   if capped else f"reference {self.reference:.3f} − {self.margin:g}")
            return f"{head} = {how} ({self.profile} profile: {self.budget_text})"
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
        "dataset": spec.dataset,
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
    return Threshold(value, profile, "reference", reference, spec.margin,
                     f"{budget.describe()}; {evaluated}; reference measured on this machine")


def _eval_text(samples: int | None) -> str:
    return f"accuracy on {eval_text(samples)}"


def measure(exercise: Any, spec: AccuracySpec, profile: str) -> float:
    """Grade the solution notebook against a one-check copy of its exercise that only
    measures the accuracy: the same preparation, kernel environment, sandbox, probe and
    evaluation a submission gets. (This is why a check helper reaches up to `grader.api`.)"""
    from grader.api import Options, grade
    from grader.checks.core import Call, Exercise
    from grader.keras_support.checks import AccuracyCheck

    datasets.require(spec.dataset)
    probe = Exercise(exercise.id, title=exercise.title, limits=exercise.limits,
                     needs_tensorflow=exercise.needs_tensorflow, prepare=exercise.prepare,
                     kernel_env=exercise.kernel_env)
    probe.check(points=1, call=Call.get(spec.variable), id=PROBE_KEY)(
        AccuracyCheck(spec, measure_only=True))
    result = grade(exercise.solution_path, Options(exercise=probe, profile=profile, seed=0))
    check = result.checks[0]
    accuracy = check.details.get("accuracy")
    if check.status.value != "passed" or not isinstance(accuracy, float):
        problems = "; ".join(f"cell {p.cell_index + 1}: {p.kind} {p.ename}: {p.evalue}"
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
            if profile == "full" and reference < spec.course_threshold:
                line += (f"  WARNING: the reference is below the course threshold "
                         f"{spec.course_threshold:g}")
            lines.append(line)
    lines.append(f"calibration cache: {calibration_path()}")
    return lines
