"""The grading pipeline for one notebook and one exercise: execute → probe → check.

    result = grade_exercise(path, exercise, options, calibration=calibration)

Everything it needs is settled before it starts: the exercise (an object, not an id), the
options, and what calibration resolved for the exercise (accuracy thresholds, the reference's
grading time). It starts nothing besides the notebook's kernel: it never calibrates and never
grades anything else. `grader.api.grade` settles those for a submission; calibration
(grader.calibrate) and the student release's check (grader.release_check) call it directly.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import functools
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader import integrity, notebook_structure, profiles, timing, training_scan
from grader.checks.core import Exercise, copy_value
from grader.checks.reference import load_reference
from grader.checks.runner import evaluate
from grader.errors import InvalidNotebook, require_training_packages
from grader.execution import cells, kernel_env, resources, workspace
from grader.execution import notebook as nbio
from grader.execution.executor import ExecutionRequest, NbclientExecutor
from grader.keras_support import judge
from grader.models import (
    Calibration,
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
    Limits,
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


@dataclass
class Opened:
    """A submission as the grading opens it: its start (seed, profile, clock), the notebook
    and the reader's notes, or why it is not a usable notebook (`problem`)."""

    start: Start
    path: Path
    nb: Any = None
    notes: list[str] = field(default_factory=list)
    problem: str = ""


def open_notebook(path: Path, options: Options) -> Opened:
    """The one opening of every grading (grader.api.grade, `grade_exercise`)."""
    start, path = Start.of(options), Path(path)
    try:
        nb, notes = nbio.read(path)
    except InvalidNotebook as exc:
        return Opened(start, path, problem=str(exc))
    return Opened(start, path, nb, notes)


def grade_exercise(
    path: Path, exercise: Exercise, options: Options, *, calibration: Calibration | None = None
) -> GradeResult:
    """Grade `path` against `exercise` (`options.exercise` is not read)."""
    opened = open_notebook(path, options)
    if opened.problem:
        return unusable(opened.path, exercise, opened.problem, opened.start)
    return grade_notebook(
        opened.path,
        opened.nb,
        opened.notes,
        exercise,
        options,
        opened.start,
        calibration or Calibration(profile=opened.start.profile),
    )


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


def grade_notebook(
    path: Path,
    nb: Any,
    notes: list[str],
    exercise: Exercise,
    opts: Options,
    start: Start,
    calibration: Calibration,
) -> GradeResult:
    """Grade a notebook already read (`nb`, with the reader's `notes`), stage by stage: limits,
    the notebook prepared, the probe planned, a workspace acquired, the notebook executed beside
    the reference's answers, the evidence read, judged, and the result assembled. MissingExtra
    and ResourcesTooSmall (configuration errors: exit 2) come before any kernel."""
    require_training_packages(exercise)
    with timing.span("prepare"):
        limits, limit_notes = _limits(exercise, opts, start.profile, calibration)
        notes = notes + _prepare(nb, exercise, start.profile) + limit_notes
        bound, probe_calls = _plan(exercise, start.seed)
        findings = integrity.scan(nb) if opts.scan else []  # the instructor's, never scored
        notes += notebook_structure.structure_notes(nb, sorted({c.name for c in probe_calls}))
        if judge.wanted_by(exercise):
            judge.prestart()  # TensorFlow is imported there while the notebook runs
        extra_env = exercise.kernel_env(start.profile) if exercise.kernel_env else {}
        spec = workspace.Spec(
            limits=limits,
            env=kernel_env.default_kernel_env(extra_env or None),
            sandbox_env=extra_env,
            submission=path,
            launch_prefix=tuple(opts.launch_prefix),
            sandboxed=opts.sandbox,
            training=exercise.prepare is not None,
            keep=opts.keep_workdir,
            hide=opts.hide,
        )
    executor = opts.executor or NbclientExecutor()
    with workspace.acquire(executor, spec) as ws:
        notes += ws.notes
        run, reference, answers = _execute(executor, ws, spec, nb, exercise, bound, probe_calls)
        with timing.span("sandbox.close"):
            ws.close_sandbox()  # nothing of the kernel runs on while its evidence is read
        with timing.span("evidence"):
            evidence = _evidence(ws, probe_calls, run, limits, nb)
        with timing.span("checks"):
            checks, found, check_notes = _judge(
                exercise, evidence, bound, reference, answers, run, start.profile, calibration, nb
            )
    with timing.span("result"):
        result = GradeResult(
            exercise=exercise.id,
            title=exercise.title,
            notebook=path.name,
            seed=start.seed,
            profile=start.profile,
            execution=replace(
                run.summary,
                notes=run.summary.notes
                + notes
                + [n for n in check_notes if n not in notes]
                + ws.sandbox_notes,
            ),
            checks=checks,
            grader_version=__version__,
            graded_at=_now(),
            duration_s=round(time.monotonic() - start.t0, 3),
            integrity=findings + [f for f in found if f not in findings],
            environment=versions(training=exercise.needs_tensorflow),
        )
    return result


def _limits(
    exercise: Exercise, opts: Options, profile: str, calibration: Calibration
) -> tuple[Limits, list[str]]:
    """The kernel's limits under this profile, the options' overrides and the container's
    resources (grader.execution.resources), and the report's notes on them."""
    limits, notes = (opts.limits, []) if opts.limits else exercise.limits_for(profile, calibration)
    if opts.cell_timeout:
        limits, notes = replace(limits, cell_timeout=opts.cell_timeout), []
    if opts.notebook_timeout:
        limits = replace(limits, notebook_timeout=opts.notebook_timeout)
    limits, fit_notes = resources.fit(
        limits,
        resources.container(),
        exercise=exercise.id,
        reference_peak=calibration.reference_peak_bytes,
        training=exercise.needs_tensorflow,
    )
    return limits, list(notes) + fit_notes


def _prepare(nb: Any, exercise: Exercise, profile: str) -> list[str]:
    """The notebook as it is run: the starters' self-check and setup cells blanked (they import
    or install the release's `cnn_selfcheck`: never a grade), the profile's budget injected."""
    nbio.blank_tagged(nb, nbio.SELF_CHECK_TAG)
    nbio.blank_tagged(nb, nbio.SETUP_TAG)
    return exercise.prepare(nb, profile) if exercise.prepare is not None else []


def _plan(exercise: Exercise, seed: int) -> tuple[dict[str, Any], list[plan.ProbeCall]]:
    """Every call's arguments at this seed (inputs shared by calls drawn once), and the probe's
    calls."""
    calls = exercise.calls()
    cache: dict[int, Any] = {}
    bound = {c.key(): c.bind(seed, cache) for c in calls}
    return bound, [
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


def _execute(
    executor: Any,
    ws: workspace.Workspace,
    spec: workspace.Spec,
    nb: Any,
    exercise: Exercise,
    bound: dict[str, Any],
    probe_calls: list[plan.ProbeCall],
) -> tuple[Any, Any, dict[str, Any]]:
    """The notebook run, then the probe's calls (their inputs written in between); the
    reference's answers computed beside it. Returns the run, the reference and its answers."""

    def write_inputs() -> None:
        with timing.span("probe.inputs"):
            probe_dir = plan.write_inputs(ws.probe_root, probe_calls)
            if ws.box is not None:
                ws.box.inputs_written(probe_dir, link=ws.workdir / plan.PROBE_DIRNAME)

    request = ExecutionRequest(
        nb=nb,
        workdir=ws.workdir,
        limits=spec.limits,
        env=spec.env,
        # Joined only for the NumPy exercises: a training exercise's calls can take seconds
        # each, and a joined cell over its timeout would run them all twice.
        extras=plan.cells(probe_calls, ws.workdir, ws.probe_root, join=not spec.training),
        before_extras=write_inputs,
        launch_prefix=spec.launch_prefix,
        guard=ws.box,
        warm=ws.warm,
    )

    def reference_answers() -> tuple[Any, dict[str, Any]]:
        with timing.span("reference"):
            return _reference_answers(exercise, bound)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        ref_future = pool.submit(reference_answers)
        run = executor.run(request)
        reference, answers = ref_future.result()
    return run, reference, answers


def _evidence(
    ws: workspace.Workspace, probe_calls: list[plan.ProbeCall], run: Any, limits: Limits, nb: Any
) -> dict[str, Any]:
    """What each probe call left, read as untrusted data; a timeout's message states the
    limit the call had, tracebacks say "cell N, line M"."""
    out_dir = ws.probe_root / plan.PROBE_DIRNAME / "out"
    evidence = {
        c.key: ev_io.read(
            out_dir,
            c.key,
            run_status=run.extras[c.key].status,
            skipped_after=run.extras[c.key].skipped_after,
        )
        for c in probe_calls
    }
    for c in probe_calls:
        if evidence[c.key].status == "timeout":
            evidence[c.key].extra["limit_s"] = c.timeout or limits.probe_timeout
    for ev in evidence.values():
        ev.traceback = cells.student_frames(ev.traceback, nb)
    return evidence


def _judge(
    exercise: Exercise,
    evidence: dict[str, Any],
    bound: dict[str, Any],
    reference: Any,
    answers: dict[str, Any],
    run: Any,
    profile: str,
    calibration: Calibration,
    nb: Any,
) -> tuple[list[CheckResult], list[str], list[str]]:
    """The checks' results, and what they found for the instructor (a model that is not the
    one the notebook built, Keras' saving replaced, weights brought in, with the code that could
    have brought them) and for the student (the budget that ran), as values."""
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
    findings: list[str] = []
    notes: list[str] = []
    refused = False
    for result in checks:
        findings += [f for f in result.details.pop("integrity", []) if f not in findings]
        notes += [n for n in result.details.pop("notes", []) if n not in notes]
        refused = bool(result.details.pop("weights_refused", False)) or refused
    if refused:
        sources = training_scan.weight_sources(nb)
        if sources:
            findings.append(
                "where the code could have brought weights in: " + "; ".join(sources[:8])
            )
    return checks, findings, notes


def versions(*, training: bool) -> dict[str, str]:
    """The versions a grading ran with: Python, NumPy, nbclient, and for an exercise that
    trains Keras and its backend (what a calibration depends on)."""
    import os

    backend = os.environ.get("KERAS_BACKEND", "tensorflow") if training else ""
    return dict(_versions(backend))


@functools.lru_cache(maxsize=4)
def _versions(backend: str) -> tuple[tuple[str, str], ...]:
    """Read once per process and backend: installed versions do not change under a grader."""
    import platform
    from importlib import metadata

    names = ["numpy", "nbclient"] + (["keras", backend] if backend else [])
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return tuple(out.items())
