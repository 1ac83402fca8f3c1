"""Grade one notebook: execute → probe → check → report.

    result = grade(Path("alice_ex01.ipynb"))
    paths = write_reports(result, Path("reports"), "alice_ex01")

The student's kernel produces data; every verdict is computed here, in the grader process.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from collections.abc import Callable

from grader import __version__
from grader.checks.core import Exercise, copy_value
from grader.checks.reference import load_reference
from grader.checks.runner import evaluate
from grader.errors import InvalidNotebook, UnknownExercise
from grader.execution import cells, kernel
from grader.execution import notebook as nbio
from grader.execution import sandbox
from grader import integrity
from grader.exercises import get as get_exercise
from grader.exercises import infer_from_name
from grader.models import (CheckResult, CheckStatus, ExecutionStatus, ExecutionSummary,
                           GradeResult)
from grader.probe import evidence as ev_io
from grader.probe import plan
from grader import profiles


@dataclass(frozen=True)
class Options:
    """How to grade; every field has a sensible default."""

    # An id, or an Exercise object to grade against instead of a registered one (calibration
    # grades a solution against a one-check copy of its exercise).
    exercise: str | Exercise | None = None
    profile: str | None = None
    seed: int | None = None
    limits: kernel.Limits | None = None
    cell_timeout: float | None = None
    notebook_timeout: float | None = None
    keep_workdir: bool = False
    launch_prefix: tuple[str, ...] = ()
    # Limits and isolation around the kernel (grader.execution.sandbox); off only to debug.
    sandbox: bool = True
    # The execution seam: `kernel.run` by default; tests replay recorded evidence through it.
    executor: Callable[..., kernel.RunResult] | None = None


def resolve_exercise(path: Path, nb: Any | None, explicit: str | None) -> str:
    """--exercise wins; else the notebook's metadata; else the file name."""
    if explicit:
        get_exercise(explicit)  # raises UnknownExercise with the list of known ids
        return explicit
    found = (nbio.exercise_from_metadata(nb) if nb is not None else None) or infer_from_name(path.name)
    if not found:
        raise UnknownExercise(
            f"cannot tell which exercise {path.name} is: its metadata names none and its file "
            "name has no exercise id; pass --exercise")
    return found


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _unusable(path: Path, exercise: Exercise | None, reason: str, seed: int, profile: str,
              t0: float) -> GradeResult:
    checks = [CheckResult(id=c.id, status=CheckStatus.NOT_ATTEMPTED, score=0.0,
                          max_score=float(c.points), message="the notebook could not be read",
                          title=c.title, group=c.group)
              for c in (exercise.checks if exercise else [])]
    return GradeResult(
        exercise=exercise.id if exercise else "unknown", title=exercise.title if exercise else "",
        notebook=path.name, seed=seed, profile=profile,
        execution=ExecutionSummary(status=ExecutionStatus.INVALID_NOTEBOOK, duration_s=0.0,
                                   message=reason),
        checks=checks, grader_version=__version__, graded_at=_now(),
        duration_s=round(time.monotonic() - t0, 3))


def _reference_answers(exercise: Exercise, bound: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Load the reference and compute its answer to every call (runs beside the kernel).
    An exercise that carries its answers (a release's public examples) needs no reference."""
    if exercise.answers is not None:
        return None, dict(exercise.answers)
    reference = load_reference(exercise.solution_path)
    answers: dict[str, Any] = {}
    for call in exercise.calls():
        if call.kind != "call":
            continue
        args, kwargs = bound[call.key()]
        try:
            answers[call.key()] = getattr(reference, call.func)(*copy_value(args), **copy_value(kwargs))
        except Exception:  # noqa: BLE001 - recomputed inside the check, where it becomes `error`
            pass
    return reference, answers


def grade(path: Path, options: Options | None = None) -> GradeResult:
    """Grade one submission. Never raises for anything the submission does; raises
    UnknownExercise (a usage problem) when the exercise cannot be determined."""
    opts = options or Options()
    t0 = time.monotonic()
    seed = opts.seed if opts.seed is not None else secrets.randbelow(2**31)
    profile = profiles.resolve(opts.profile)
    path = Path(path)
    try:
        nb, notes = nbio.read(path)
    except InvalidNotebook as exc:
        if isinstance(opts.exercise, Exercise):
            return _unusable(path, opts.exercise, str(exc), seed, profile, t0)
        eid = opts.exercise or infer_from_name(path.name)
        exercise = get_exercise(eid) if eid else None
        return _unusable(path, exercise, str(exc), seed, profile, t0)

    exercise = (opts.exercise if isinstance(opts.exercise, Exercise)
                else get_exercise(resolve_exercise(path, nb, opts.exercise)))
    limits, limit_notes = (opts.limits, []) if opts.limits else exercise.limits_for(profile)
    if opts.cell_timeout:
        limits, limit_notes = replace(limits, cell_timeout=opts.cell_timeout), []
    if opts.notebook_timeout:
        limits = replace(limits, notebook_timeout=opts.notebook_timeout)
    # The starters' self-check cells import the release's `cnn_selfcheck`: never a grade.
    nbio.blank_tagged(nb, nbio.SELF_CHECK_TAG)
    if exercise.prepare is not None:
        notes += exercise.prepare(nb, profile)
    notes += limit_notes
    extra_env = exercise.kernel_env(profile) if exercise.kernel_env else {}
    env = kernel.default_kernel_env(extra_env or None)

    calls = exercise.calls()
    cache: dict[int, Any] = {}
    bound = {c.key(): c.bind(seed, cache) for c in calls}
    probe_calls = [plan.ProbeCall(key=c.key(), name=c.func, kind=c.kind,
                                  args=bound[c.key()][0],
                                  kwargs=tuple(bound[c.key()][1].items()), timeout=c.timeout,
                                  driver=(c.driver_code.name, c.driver_code.source)
                                  if c.driver_code else None)
                   for c in calls]
    # Notes for the instructor (never scored) and for the student (how the notebook ran).
    findings = integrity.scan(nb)
    notes += integrity.structure_notes(nb, sorted({c.func for c in calls}))

    root = Path(tempfile.mkdtemp(prefix="cnn-grader-"))
    workdir = root / "work"  # the kernel's folder; the kernel log stays beside it, in root
    workdir.mkdir()
    box: sandbox.Sandbox | None = None
    sandbox_notes: list[str] = []
    try:
        shutil.copyfile(path, workdir / "submission.ipynb")
        if opts.sandbox:
            box = sandbox.for_grading(root, workdir, limits, submission=path, env=extra_env)
        # With a sandbox the probe's folder sits in `root`, where only the grader writes (a link
        # in workdir points to it): no grader write goes through a path the notebook controls.
        probe_root = root if box is not None else workdir

        def write_inputs() -> None:
            probe_dir = plan.write_inputs(probe_root, probe_calls)
            if box is not None:
                box.inputs_written(probe_dir, link=workdir / plan.PROBE_DIRNAME)

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            ref_future = pool.submit(_reference_answers, exercise, bound)
            run = (opts.executor or kernel.run)(
                nb, workdir, limits=limits, env=env, launch_prefix=opts.launch_prefix,
                extras=plan.cells(probe_calls, workdir), before_extras=write_inputs,
                **({"guard": box} if box is not None else {}))
            reference, answers = ref_future.result()
        if box is not None:
            box.close()  # nothing of the kernel runs on while its evidence is read
        out_dir = probe_root / plan.PROBE_DIRNAME / "out"
        evidence = {c.key: ev_io.read(out_dir, c.key, run_status=run.extras[c.key].status,
                                      skipped_after=run.extras[c.key].skipped_after)
                    for c in probe_calls}
        for ev in evidence.values():  # "cell N, line M", not the kernel's scratch file names
            ev.traceback = cells.student_frames(ev.traceback, nb)
        checks = evaluate(exercise, evidence, bound, reference, answers, profile=profile,
                          timings={k: o.duration_s for k, o in run.extras.items()})
        # What a check found in the evidence for the instructor (a model that is not the one
        # the notebook built, Keras' saving replaced) and for the student (the budget that ran).
        for c in checks:
            findings += [f for f in c.details.pop("integrity", []) if f not in findings]
            notes += [n for n in c.details.pop("notes", []) if n not in notes]
    finally:
        if box is not None:
            box.close()
            sandbox_notes = box.notes()
        if not opts.keep_workdir:
            shutil.rmtree(root, ignore_errors=True)
    summary = replace(run.summary, notes=run.summary.notes + notes + sandbox_notes)
    return GradeResult(
        exercise=exercise.id, title=exercise.title, notebook=path.name, seed=seed,
        profile=profile, execution=summary, checks=checks, grader_version=__version__,
        graded_at=_now(), duration_s=round(time.monotonic() - t0, 3), integrity=findings)
