"""The grading pipeline for one notebook and one exercise: execute → probe → check.

    result = grade_exercise(path, exercise, options, calibration=calibration)

Everything it needs is settled before it starts: the exercise (an object, not an id), the
options, and what calibration resolved for the exercise (accuracy thresholds, the reference's
grading time). It starts nothing besides the notebook's kernel: it never calibrates and never
grades anything else. `grader.api.grade` settles those for a submission; calibration
(grader.calibrate) and the student release's self-checks (grader.release) call it directly.
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

from grader import integrity, profiles
from grader.checks.core import Exercise, copy_value
from grader.checks.reference import load_reference
from grader.checks.runner import evaluate
from grader.errors import InvalidNotebook, require_training_packages
from grader.execution import cells, kernel, resources, sandbox
from grader.execution import notebook as nbio
from grader.execution.executor import ExecutionRequest, NbclientExecutor, Prestarting
from grader.keras_support import judge
from grader.models import (
    Calibration,
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
)
from grader.options import Options
from grader.probe import evidence as ev_io
from grader.probe import plan
from grader.version import __version__


@dataclass(frozen=True)
class Start:
    """What a grading fixes before it reads the notebook: its seed, profile and clock."""

    seed: int
    profile: str
    t0: float

    @classmethod
    def of(cls, options: Options) -> Start:
        seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        return cls(seed, profiles.resolve(options.profile), time.monotonic())


def grade_exercise(
    path: Path, exercise: Exercise, options: Options, *, calibration: Calibration | None = None
) -> GradeResult:
    """Grade `path` against `exercise` (`options.exercise` is not read)."""
    start = Start.of(options)
    path = Path(path)
    try:
        nb, notes = nbio.read(path)
    except InvalidNotebook as exc:
        return unusable(path, exercise, str(exc), start)
    if calibration is None:
        calibration = Calibration(profile=start.profile)
    return grade_notebook(path, nb, notes, exercise, options, start, calibration)


def unusable(path: Path, exercise: Exercise | None, reason: str, start: Start) -> GradeResult:
    """The result for a file that is not a usable notebook: every check not attempted."""
    checks = [
        CheckResult(
            id=c.id,
            status=CheckStatus.NOT_ATTEMPTED,
            score=0.0,
            max_score=float(c.points),
            message="the notebook could not be read",
            title=c.title,
            group=c.group,
        )
        for c in (exercise.checks if exercise else [])
    ]
    return GradeResult(
        exercise=exercise.id if exercise else "unknown",
        title=exercise.title if exercise else "",
        notebook=path.name,
        seed=start.seed,
        profile=start.profile,
        execution=ExecutionSummary(
            status=ExecutionStatus.INVALID_NOTEBOOK, duration_s=0.0, message=reason
        ),
        checks=checks,
        grader_version=__version__,
        graded_at=_now(),
        duration_s=round(time.monotonic() - start.t0, 3),
    )


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


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
            answers[call.key()] = getattr(reference, call.func)(
                *copy_value(args), **copy_value(kwargs)
            )
        except Exception:  # noqa: BLE001 - recomputed inside the check, where it becomes `error`
            pass
    return reference, answers


def _claim(
    executor: Any,
    exercise: Exercise,
    limits: Any,
    env: dict[str, str],
    extra_env: dict[str, str],
    path: Path,
    opts: Options,
) -> Any:
    """A kernel the executor started ahead with exactly what this submission's would be
    started with (grader.execution.warm), or None: then the kernel starts as it always did."""
    if not isinstance(executor, Prestarting):
        return None
    from grader.execution import warm

    prelude = warm.TRAINING_PRELUDE if exercise.prepare is not None else warm.NUMPY_PRELUDE
    return executor.claim(
        warm.KernelSpec.of(
            limits=limits,
            env=env,
            sandbox_env=extra_env,
            submission=path,
            launch_prefix=tuple(opts.launch_prefix),
            sandboxed=opts.sandbox,
            prelude=prelude,
        )
    )


def grade_notebook(
    path: Path,
    nb: Any,
    notes: list[str],
    exercise: Exercise,
    opts: Options,
    start: Start,
    calibration: Calibration,
) -> GradeResult:
    """Grade a notebook already read (`nb`, with the reader's `notes`). MissingExtra (a
    configuration error: exit 2) before any kernel when a training exercise cannot run here."""
    require_training_packages(exercise)
    profile = start.profile
    limits, limit_notes = (
        (opts.limits, []) if opts.limits else exercise.limits_for(profile, calibration)
    )
    if opts.cell_timeout:
        limits, limit_notes = replace(limits, cell_timeout=opts.cell_timeout), []
    if opts.notebook_timeout:
        limits = replace(limits, notebook_timeout=opts.notebook_timeout)
    # The container's limits: an exercise whose measured need does not fit is the
    # instructor's error (ResourcesTooSmall: exit 2) before any kernel; else the kernel's
    # memory cap follows what the container leaves.
    limits, fit_notes = resources.fit(
        limits,
        resources.container(),
        exercise=exercise.id,
        reference_peak=calibration.reference_peak_bytes,
        training=exercise.needs_tensorflow,
    )
    limit_notes = list(limit_notes) + fit_notes
    # The starters' self-check cells import the release's `cnn_selfcheck`, and its setup cell
    # installs it: never a grade.
    nbio.blank_tagged(nb, nbio.SELF_CHECK_TAG)
    nbio.blank_tagged(nb, nbio.SETUP_TAG)
    if exercise.prepare is not None:
        notes += exercise.prepare(nb, profile)
    notes += limit_notes
    extra_env = exercise.kernel_env(profile) if exercise.kernel_env else {}
    env = kernel.default_kernel_env(extra_env or None)

    calls = exercise.calls()
    cache: dict[int, Any] = {}
    bound = {c.key(): c.bind(start.seed, cache) for c in calls}
    probe_calls = [
        plan.ProbeCall(
            key=c.key(),
            name=c.func,
            kind=c.kind,
            args=bound[c.key()][0],
            kwargs=tuple(bound[c.key()][1].items()),
            timeout=c.timeout,
            driver=(c.driver_code.name, c.driver_code.source) if c.driver_code else None,
        )
        for c in calls
    ]
    # Notes for the instructor (never scored) and for the student (how the notebook ran).
    findings = integrity.scan(nb)
    notes += integrity.structure_notes(nb, sorted({c.func for c in calls}))

    if judge.wanted_by(exercise):
        judge.prestart()  # TensorFlow is imported there while the notebook runs
    executor = opts.executor or NbclientExecutor()
    box: sandbox.Sandbox | None
    warm = _claim(executor, exercise, limits, env, extra_env, path, opts)
    if warm is not None:  # started ahead for a submission like this one, used by none
        root, workdir, box = warm.root, warm.workdir, warm.box
        if box is not None:
            box.limits = limits  # its caps are these already; its report names the timeouts
        notes.append(warm.spec.note())
    else:
        root = Path(tempfile.mkdtemp(prefix="cnn-grader-"))
        workdir = root / "work"  # the kernel's folder; the kernel log stays beside it, in root
        workdir.mkdir()
        box = None
    sandbox_notes: list[str] = []
    try:
        shutil.copyfile(path, workdir / "submission.ipynb")
        if warm is not None and box is not None:
            box.adopt(workdir / "submission.ipynb")
        if opts.sandbox and warm is None:
            box = sandbox.for_grading(root, workdir, limits, submission=path, env=extra_env)
        # With a sandbox the probe's folder sits in `root`, where only the grader writes (a link
        # in workdir points to it): no grader write goes through a path the notebook controls.
        probe_root = root if box is not None else workdir

        def write_inputs() -> None:
            probe_dir = plan.write_inputs(probe_root, probe_calls)
            if box is not None:
                box.inputs_written(probe_dir, link=workdir / plan.PROBE_DIRNAME)

        request = ExecutionRequest(
            nb=nb,
            workdir=workdir,
            limits=limits,
            env=env,
            extras=plan.cells(probe_calls, workdir),
            before_extras=write_inputs,
            launch_prefix=tuple(opts.launch_prefix),
            guard=box,
            warm=warm,
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            ref_future = pool.submit(_reference_answers, exercise, bound)
            run = executor.run(request)
            reference, answers = ref_future.result()
        if box is not None:
            box.close()  # nothing of the kernel runs on while its evidence is read
        out_dir = probe_root / plan.PROBE_DIRNAME / "out"
        evidence = {
            c.key: ev_io.read(
                out_dir,
                c.key,
                run_status=run.extras[c.key].status,
                skipped_after=run.extras[c.key].skipped_after,
            )
            for c in probe_calls
        }
        for c in probe_calls:  # a timeout's message states the limit the call had
            if evidence[c.key].status == "timeout":
                evidence[c.key].extra["limit_s"] = c.timeout or limits.probe_timeout
        for ev in evidence.values():  # "cell N, line M", not the kernel's scratch file names
            ev.traceback = cells.student_frames(ev.traceback, nb)
        checks = evaluate(
            exercise,
            evidence,
            bound,
            reference,
            answers,
            profile=profile,
            timings={k: o.duration_s for k, o in run.extras.items()},
            calibration=calibration,
        )
        # What a check found in the evidence for the instructor (a model that is not the one
        # the notebook built, Keras' saving replaced) and for the student (the budget that ran).
        refused = False
        for result in checks:
            findings += [f for f in result.details.pop("integrity", []) if f not in findings]
            notes += [n for n in result.details.pop("notes", []) if n not in notes]
            refused = bool(result.details.pop("weights_refused", False)) or refused
        if refused:  # a model's weights no training in this run left: what in the code fits
            sources = integrity.weight_sources(nb)
            if sources:
                findings.append(
                    "where the code could have brought weights in: " + "; ".join(sources[:8])
                )
    finally:
        if warm is not None:
            warm.kill()  # already stopped, unless the grading broke before its kernel ran
        if box is not None:
            box.close()
            sandbox_notes = box.notes()
        if not opts.keep_workdir:
            shutil.rmtree(root, ignore_errors=True)
    summary = replace(run.summary, notes=run.summary.notes + notes + sandbox_notes)
    return GradeResult(
        exercise=exercise.id,
        title=exercise.title,
        notebook=path.name,
        seed=start.seed,
        profile=profile,
        execution=summary,
        checks=checks,
        grader_version=__version__,
        graded_at=_now(),
        duration_s=round(time.monotonic() - start.t0, 3),
        integrity=findings,
        environment=versions(training=exercise.needs_tensorflow),
    )


def versions(*, training: bool) -> dict[str, str]:
    """The versions a grading ran with: Python, NumPy, nbclient, and for an exercise that
    trains Keras and its backend (what a calibration depends on)."""
    import os
    import platform
    from importlib import metadata

    names = ["numpy", "nbclient"]
    if training:
        names += ["keras", os.environ.get("KERAS_BACKEND", "tensorflow")]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out
