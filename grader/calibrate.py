"""Calibration: measuring the reference solutions, a step of its own that comes before grading.

An accuracy threshold is what the reference solution reaches under the same budget on the same
machine, minus a margin, capped at the course target (grader.keras_support.spec): under `smoke`
the injected budget, under `full` the notebook's own. A reference that does not reach the course
target under `full` is said loudly to whoever calibrates (an instructor), never to a student.
Measuring it means grading the solution notebook the way a submission is graded: `measure` runs
the grading pipeline (grader.pipeline) on it against a one-check copy of its exercise that only
records the accuracy, so it gets the same injected budget, kernel environment, sandbox, probe
and clean-process evaluation. What was measured is cached per machine kind
(grader.keras_support.calibration).

It runs before grading, never from inside a check:

    cnn-grader calibrate      `calibrate()`: ahead of a batch, a deployment, a bundle
    grader.api.grade          `resolve()` for the notebook's exercise, before the kernel starts
    grader.batch.runner.run   `resolve()` once per exercise, before fanning out; every task
                              carries the result (`Task.calibration`)

`resolve()` settles everything grading takes from calibration in one `Calibration`: each
accuracy check's threshold, or why there is none (a configuration problem the check reports as
a grader error, never blamed on the student), and how long grading the reference took (the
smoke profile's cell time limit). A measurement that fails is raised by `calibrate()` and
recorded by `resolve()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from grader.checks.core import Exercise
from grader.datasets import sources
from grader.errors import ConfigurationError
from grader.exercises import available, get
from grader.keras_support import calibration as cache
from grader.keras_support.calibration import CalibrationError
from grader.keras_support.checks import (
    AccuracyCheck,
    AccuracyMeasurement,
    accuracy_call,
    find_accuracy_specs,
)
from grader.keras_support.spec import AccuracySpec, Baseline, Threshold, threshold_for
from grader.models import Calibration
from grader.options import Options
from grader.pipeline import grade_exercise

PROBE_KEY = "reference_accuracy"
Note = Callable[[str], None]


def fits(calibration: Calibration, profile: str) -> bool:
    """Was `calibration` settled for this profile on a machine of this one's kind?"""
    return calibration.profile == profile and calibration.machine == cache.machine_kind()


def resolve(exercise: Exercise, profile: str, *, note: Note | None = None) -> Calibration:
    """What grading `exercise` under `profile` takes from calibration, measuring the reference
    solution first where the cache lacks it (`note` hears of each measurement)."""
    thresholds: dict[str, Threshold] = {}
    problems: dict[str, str] = {}
    for check in exercise.checks:
        if not isinstance(check.fn, AccuracyCheck):
            continue
        try:
            thresholds[check.id] = threshold(exercise, check.fn.spec, profile, note=note)
        except ConfigurationError as exc:  # a missing dataset, a reference that fails
            problems[check.id] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a grader bug: that check's error, not a crash
            problems[check.id] = (
                f"calibrating {exercise.id} failed inside the grader: {type(exc).__name__}: {exc}"
            )
    return Calibration(
        profile=profile,
        machine=cache.machine_kind(),
        thresholds=thresholds,
        problems=problems,
        reference_seconds=cache.reference_seconds(exercise, profile),
        reference_peak_bytes=cache.reference_peak_memory(exercise, profile),
    )


def resolve_all(
    exercise_ids: Iterable[str], profile: str, *, note: Note | None = None
) -> dict[str, Calibration]:
    """`resolve` for each exercise, once: what a batch settles before its tasks start."""
    return {eid: resolve(get(eid), profile, note=note) for eid in sorted(set(exercise_ids))}


def threshold(
    exercise: Exercise, spec: AccuracySpec, profile: str, *, note: Note | None = None
) -> Threshold:
    """The threshold of `spec` under `profile`, from the reference solution's accuracy under
    the same budget (and, under `smoke`, the `must_beat` baseline), measured here on a cache
    miss."""
    reference, fresh = reference_accuracy(exercise, spec, profile, note=note)
    limit = threshold_for(spec, profile, reference, baseline(spec, profile, note=note))
    if fresh and note is not None and limit.below_course:
        note(below_course_warning(spec, profile, reference))
    return limit


def below_course_warning(spec: AccuracySpec, profile: str, reference: float) -> str:
    """What the instructor hears when the reference misses the course target."""
    return (
        f"WARNING: {spec.exercise_id}'s reference solution reaches {reference:.4f} under the "
        f"{profile} profile on this machine, below the course target "
        f"{spec.course_threshold:g}; submissions are judged against the reference's "
        f"accuracy − {spec.margin:g} instead (raise the notebook's budget to make the course "
        "target the line)"
    )


def baseline(spec: AccuracySpec, profile: str, *, note: Note | None = None) -> Baseline | None:
    """The simpler exercise's reference trained under *this* spec's budget (`must_beat`), on
    this machine; None without one or under `full`."""
    if not spec.must_beat or spec.training.budget(profile) is None:
        return None
    exercise = get(spec.must_beat)
    theirs = replace(find_accuracy_specs(exercise)[0], training=spec.training, must_beat="")
    accuracy, _ = reference_accuracy(exercise, theirs, profile, note=note)
    return Baseline(
        f"the {exercise.id} reference ({theirs.variable}) under the same budget",
        accuracy,
        spec.beat_margin,
    )


def reference_accuracy(
    exercise: Exercise,
    spec: AccuracySpec,
    profile: str,
    *,
    refresh: bool = False,
    note: Note | None = None,
) -> tuple[float, bool]:
    """The reference solution's accuracy under `profile` and whether it was measured now. A
    file lock makes parallel gradings wait for one measurement instead of repeating it."""
    with cache.locked():
        found = None if refresh else cache.cached(exercise, spec, profile)
        if found is not None:
            return found, False
        if note is not None:
            elsewhere = cache.measured_elsewhere(exercise, spec, profile)
            why = (
                f" (the calibration at hand was measured with {'; '.join(elsewhere)}, not "
                f"this machine's {cache.machine_kind()}: not reused)"
                if elsewhere
                else ""
            )
            note(
                f"calibrating {spec.exercise_id} ({profile} profile): measuring the reference "
                f"solution's `{spec.variable}`{why}"
            )
        t0 = time.monotonic()
        accuracy, peak = measure(exercise, spec, profile)
        cache.store(
            exercise, spec, profile, accuracy, seconds=time.monotonic() - t0, peak_memory_bytes=peak
        )
        return accuracy, True


def measure(exercise: Exercise, spec: AccuracySpec, profile: str) -> tuple[float, int | None]:
    """Grade the solution notebook against a one-check copy of its exercise that only
    measures the accuracy: the same preparation, kernel environment, sandbox, probe and
    evaluation a submission gets. Returns the accuracy and the kernel's peak memory."""
    sources.require(spec.dataset)
    # The spec's training, not the exercise's: a baseline is measured under another budget.
    probe = Exercise(
        exercise.id,
        title=exercise.title,
        limits=exercise.limits,
        needs_tensorflow=exercise.needs_tensorflow,
        prepare=spec.training.prepare,
        kernel_env=spec.training.kernel_env,
    )
    probe.check(points=1, call=accuracy_call(spec), id=PROBE_KEY)(AccuracyMeasurement(spec))
    result = grade_exercise(exercise.solution_path, probe, Options(profile=profile, seed=0))
    check = result.checks[0]
    accuracy = check.details.get("accuracy")
    if check.status.value != "passed" or not isinstance(accuracy, float):
        problems = (
            "; ".join(
                f"cell {p.cell}: {p.kind} {p.ename}: {p.evalue}" for p in result.execution.problems
            )
            or result.execution.message
        )
        raise CalibrationError(
            f"calibrating {spec.exercise_id} ({profile} profile): the solution notebook's "
            f"`{spec.variable}` could not be measured ({check.status.value}: {check.message}"
            f"{'; ' + problems if problems else ''})"
        )
    return accuracy, result.execution.peak_memory_bytes


def calibrate(exercise_ids: list[str], profile: str, *, refresh: bool = False) -> list[str]:
    """Measure (or read) the reference accuracy of every accuracy check of the exercises;
    returns one line per check for `cnn-grader calibrate`. No ids: every Keras exercise."""
    lines = []
    for eid in exercise_ids or available():
        exercise = get(eid)
        specs = find_accuracy_specs(exercise)
        if not specs:
            if exercise_ids:
                lines.append(f"{eid}: no accuracy check, nothing to calibrate")
            continue
        for spec in specs:
            lines.append(_line(exercise, spec, profile, refresh=refresh))
    lines.append(f"calibration cache: {cache.calibration_path()}")
    return lines


def _line(exercise: Exercise, spec: AccuracySpec, profile: str, *, refresh: bool) -> str:
    t0 = time.monotonic()
    reference, fresh = reference_accuracy(exercise, spec, profile, refresh=refresh)
    how = f"measured in {time.monotonic() - t0:.0f}s" if fresh else "cached"
    limit = threshold(exercise, spec, profile)
    line = (
        f"{exercise.id} [{profile}] {spec.variable}: reference {reference:.4f} ({how}); "
        f"threshold {limit.value:.4f}"
    )
    if limit.baseline is not None:
        line += (
            f" (must beat {spec.must_beat}'s reference under this budget: "
            f"{limit.baseline:.4f} + {spec.beat_margin:g})"
        )
    elif "WARNING" in limit.budget_text:
        line += "  WARNING" + limit.budget_text.split("WARNING", 1)[1]
    if limit.below_course:
        line += "\n  " + below_course_warning(spec, profile, reference)
    return line
