"""A batch from start to end: discover → skip what the gradebook already has → grade the rest
in parallel, committing each as it finishes → similarity → CSV and dashboard.

Everything a rerun needs to pick up where a killed run stopped is in the gradebook; everything
else (reports, CSV, dashboard) is rewritten from it. Each submission's seed comes from its
notebook's content when --seed is not given, so a resumed run grades exactly as an
uninterrupted one would have.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from grader import calibrate, profiles
from grader.batch import roster as roster_io
from grader.batch import term as term_io
from grader.batch.collect import pin_to_deadline
from grader.batch.discover import Submission, discover, student_slug
from grader.batch.executor import Executor, LocalExecutor
from grader.batch.gradebook import Entry, Gradebook
from grader.batch.pool import Finished
from grader.batch.progress import Progress
from grader.batch.term import submitted_at
from grader.batch.worker import Task
from grader.errors import ConfigurationError, require_training_packages
from grader.execution import resources
from grader.exercises import get as get_exercise
from grader.models import BatchOutcome, ClassEntry, GradeResult
from grader.reporting.csv_report import write_csv
from grader.reporting.dashboard import render_dashboard
from grader.reporting.term_view import TermMarks
from grader.similarity import THRESHOLD, SimilarPair, similar_pairs
from grader.version import __version__, source_digest

GRADEBOOK = "gradebook.sqlite"
REPORTS = "students"


@dataclass(frozen=True)
class BatchOptions:
    submissions: Path
    out: Path
    exercise: str | None = None
    profile: str | None = None
    seed: int | None = None
    cell_timeout: float | None = None
    notebook_timeout: float | None = None
    workers: int | None = None  # default: the CPUs this process may use
    training_workers: int | None = None  # default: one per GPU, else 1
    force: bool = False
    similarity_threshold: float = THRESHOLD
    progress: bool | None = None  # a live line; None: when stderr is a terminal
    context: str = "spawn"
    # Where the gradings run (grader.batch.executor); None: worker processes on this machine.
    executor: Executor | None = None
    # The class list (grader.batch.roster): submissions filed under its ids, missing students
    # listed, unmatched submissions said.
    roster: Path | None = None
    # Deadlines and the late policy (grader.batch.term): lateness in the student's report.
    term: Path | None = None
    only: tuple[str, ...] = ()  # grade these students only (ids or names), the rest untouched


@dataclass
class BatchSummary:
    submissions: int = 0
    graded: int = 0
    cached: int = 0
    failed: int = 0  # grader failures (BatchOutcome.GRADER_FAILURE) in this run
    problems: int = 0  # of the submissions found: timed out, kernel died, unreadable, unknown
    similar_pairs: int = 0
    workers: int = 0
    outputs: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def default_workers() -> int:
    """Kernels are mostly single-threaded: one per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_training_workers() -> int:
    """One TensorFlow training takes every core, or one GPU's memory: one per GPU, else 1."""
    gpus = len(list(Path("/dev").glob("nvidia[0-9]*"))) if profiles.gpu_available() else 0
    return max(1, gpus)


def seed_for(sha256: str) -> int:
    return int(sha256[:8], 16) & 0x7FFFFFFF


def run(options: BatchOptions, *, stream: TextIO | None = None) -> BatchSummary:
    """Grade a class's submissions into `options.out`; see the module docstring."""
    stream = stream or sys.stderr
    if options.exercise:
        get_exercise(options.exercise)  # UnknownExercise: a usage error, before any work
    profile = profiles.resolve(options.profile)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    found = discover(
        Path(options.submissions),
        extract_to=out / ".extracted",
        exercise=options.exercise,
        exclude=(out,),
    )
    if not found.submissions:
        raise ConfigurationError(f"no notebooks found under {options.submissions}")
    class_list = roster_io.read(options.roster) if options.roster else None
    if class_list is not None:
        ids, unmatched = roster_io.assign(class_list, [s.student for s in found.submissions])
        found.submissions = [replace(s, student=ids[s.student]) for s in found.submissions]
        found.warnings += [
            f"{name}: not on the roster {class_list.source} (graded under this name)"
            for name in unmatched
        ]
    if options.only:
        wanted = {name.lower() for name in options.only}
        found.submissions = [s for s in found.submissions if s.student.lower() in wanted]
        if not found.submissions:
            raise ConfigurationError(f"no submission of {', '.join(options.only)} was found")
    term = term_io.load(options.term) if options.term else None
    chosen: list[str] = []
    if term is not None:  # a Classroom repository: its last commit before the cutoff
        found.submissions, chosen = pin_to_deadline(
            found.submissions, term.hard, out / ".extracted"
        )
    summary = BatchSummary(submissions=len(found.submissions), warnings=found.warnings)
    progress = Progress(stream, live=options.progress)
    for w in found.warnings:
        progress.note(f"warning: {w}")
    for line in chosen:
        progress.note(line)

    with Gradebook(out / GRADEBOOK) as gb:
        if class_list is not None:
            gb.set_roster([roster_io.as_data(s) for s in class_list.students])
        handed_in = {
            s.path: (s.handed_at, s.handed_how) if s.handed_at else submitted_at(s.path)
            for s in found.submissions
            if s.exercise
        }
        for sub in found.submissions:  # when each was handed in (its lateness is the export's)
            if sub.exercise:
                at, source = handed_in[sub.path]
                gb.set_submitted(sub.student, sub.exercise, at.isoformat(), source)
        tasks, by_key, configs = _plan(found.submissions, gb, profile, options, out, handed_in)
        summary.cached = sum(1 for s in found.submissions if s.exercise) - len(tasks)
        tasks.sort(key=lambda t: (not t.training, t.exercise, t.student))  # long ones first
        tasks = _calibrated(tasks, profile, progress.note)

        workers = (
            options.executor.workers
            if options.executor is not None
            else max(1, min(options.workers or default_workers(), len(tasks) or 1))
        )
        summary.workers = workers
        progress.workers = workers
        progress.start(len(found.submissions), len(found.submissions) - len(tasks))

        def finish(done: Finished) -> None:
            sub = by_key[done.task.key]
            entry = _entry(sub, done, configs[done.task.exercise])
            gb.put(entry, executed=True)
            summary.graded += 1
            summary.failed += entry.status is BatchOutcome.GRADER_FAILURE
            shown = (
                f"{entry.score:g}/{entry.max_score:g} [{entry.status.value}]"
                if entry.status is not BatchOutcome.GRADER_FAILURE
                else "grader failure"
            )
            progress.finished(
                sub.student,
                sub.exercise or "?",
                f"{shown} in {done.wall_s:.1f}s",
                failed=entry.status is not BatchOutcome.OK,
            )

        def retry(task: Task, why: str) -> None:
            last = why.strip().splitlines()[-1] if why.strip() else why
            progress.note(f"retrying {task.student} {task.exercise}: {last[:200]}")

        executor = options.executor or LocalExecutor(
            workers=workers,
            training_workers=options.training_workers or default_training_workers(),
            context=options.context,
        )
        try:
            executor.run(
                tasks,
                deadline_s=lambda t: _deadline(t, options),
                on_finish=finish,
                on_retry=retry,
                on_poll=progress.tick,
            )
        finally:
            progress.close()

        # One student regraded (--only): the class's similarity stays as the last full run
        # found it, since it compares every notebook with every other.
        pairs = (
            [] if options.only else _similarity(found.submissions, gb, options.similarity_threshold)
        )
        summary.similar_pairs = len(pairs)
        current = {(s.student, s.exercise or f"unknown:{s.label}") for s in found.submissions}
        rows = gb.entries()
        summary.problems = sum(
            1
            for e in rows
            if (e.student, e.exercise) in current
            and e.status not in (BatchOutcome.OK, BatchOutcome.GRADER_FAILURE)
        )
        entries = [e.row() for e in rows]
        stored = [SimilarPair(*row) for row in gb.similarity()]
        seen = {e.student for e in entries}
        missing = [s["id"] for s in gb.roster() if s["id"] not in seen]
        marks = _term_marks(term, gb)
    run_info = {
        "submissions": summary.submissions,
        "graded this run": summary.graded,
        "unchanged (not rerun)": summary.cached,
        "grader failures": summary.failed,
        "workers": workers,
    }
    summary.outputs = {
        "gradebook": out / GRADEBOOK,
        "csv": _atomic_write(out / "grades.csv", None, entries, stored),
        "dashboard": _atomic_write(
            out / "dashboard.html", run_info, entries, stored, missing, marks
        ),
    }
    return summary


def _plan(
    subs: list[Submission],
    gb: Gradebook,
    profile: str,
    options: BatchOptions,
    out: Path,
    handed_in: dict[Path, tuple[_dt.datetime, str]],
) -> tuple[list[Task], dict[int, Submission], dict[str, str]]:
    """The tasks to run: every submission the gradebook cannot stand for as it is. Notebooks
    of no known exercise are recorded at once (there is nothing to run)."""
    configs: dict[str, str] = {}
    tasks: list[Task] = []
    by_key: dict[int, Submission] = {}
    term = term_io.load(options.term) if options.term else None
    overrides = gb.overrides()  # said again in a regraded report
    for sub in subs:
        if sub.exercise is None:
            gb.put(_unknown(sub, sub.problem), executed=False)
            continue
        if sub.exercise not in configs:
            require_training_packages(get_exercise(sub.exercise))  # exit 2 before any work
            configs[sub.exercise] = _config(sub.exercise, profile, options)
        old = gb.get(sub.student, sub.exercise)
        if not options.force and gb.is_fresh(
            old, sha256=sub.sha256, grader_version=__version__, config=configs[sub.exercise]
        ):
            if old is not None and old.path != sub.label:  # moved, not changed
                old.path = sub.label
                gb.put(old, executed=False)
            continue
        task = Task(
            key=len(tasks),
            student=sub.student,
            exercise=sub.exercise,
            path=str(sub.path),
            seed=options.seed if options.seed is not None else seed_for(sub.sha256),
            profile=profile,
            cell_timeout=options.cell_timeout,
            notebook_timeout=options.notebook_timeout,
            report_dir=str(out / REPORTS / student_slug(sub.student)),
            report_stem=sub.exercise,
            training=get_exercise(sub.exercise).needs_tensorflow,
            notes=_late_note(term, sub, *handed_in[sub.path])
            + tuple(
                o.for_student()
                for o in overrides
                if o.student == sub.student and o.exercise == sub.exercise
            ),
        )
        tasks.append(task)
        by_key[task.key] = sub
    return tasks, by_key, configs


def _late_note(
    term: term_io.Term | None, sub: Submission, at: _dt.datetime, source: str
) -> tuple[str, ...]:
    """What the student's report says of a late submission (its penalty is the export's)."""
    if term is None or sub.exercise is None:
        return ()
    _, text = term.lateness(sub.student, sub.exercise, at)
    if not text:
        return ()
    return (
        f"{text} (by its {source}, {at.isoformat(timespec='minutes')}): the grade "
        "exported for your course takes this off the points here",
    )


def _calibrated(tasks: list[Task], profile: str, note: Callable[[str], None]) -> list[Task]:
    """The tasks, each with what calibration settled for its exercise on this machine:
    resolved once per exercise before any task starts (measuring a reference solution here
    where the cache lacks it), so that no worker calibrates."""
    settled = calibrate.resolve_all({t.exercise for t in tasks}, profile, note=note)
    here = resources.container()
    for eid, calibration in settled.items():  # ResourcesTooSmall (exit 2) before any task
        exercise = get_exercise(eid)
        resources.fit(
            exercise.limits,
            here,
            exercise=eid,
            reference_peak=calibration.reference_peak_bytes,
            training=exercise.needs_tensorflow,
        )
    return [replace(t, calibration=settled[t.exercise]) for t in tasks]


def _entry(sub: Submission, done: Finished, config: str) -> Entry:
    exercise = done.task.exercise
    base = Entry(
        student=sub.student,
        exercise=exercise,
        path=sub.label,
        sha256=sub.sha256,
        grader_version=__version__,
        config=config,
        seed=done.task.seed,
        status=BatchOutcome.GRADER_FAILURE,
        graded_at=_now(),
        duration_s=round(done.wall_s, 3),
        attempts=done.task.attempt,
    )
    if done.kind == "ok":
        result = GradeResult.from_dict(json.loads(done.payload))
        return replace(
            base,
            status=BatchOutcome(result.execution.status.value),
            score=result.score,
            max_score=result.max_score,
            result=done.payload,
            report=f"{REPORTS}/{student_slug(sub.student)}/{exercise}.html",
        )
    if done.kind == "unknown":
        return replace(base, status=BatchOutcome.UNKNOWN_EXERCISE, message=done.payload)
    return replace(
        base,
        max_score=float(get_exercise(exercise).max_score),
        message=f"the grader failed on this submission (not the student's fault); "
        f"last attempt:\n{done.payload}",
    )


def _unknown(sub: Submission, why: str) -> Entry:
    return Entry(
        student=sub.student,
        exercise=f"unknown:{sub.label}",
        path=sub.label,
        sha256=sub.sha256,
        grader_version=__version__,
        config="",
        seed=None,
        status=BatchOutcome.UNKNOWN_EXERCISE,
        message=why,
        graded_at=_now(),
    )


def _config(exercise: str, profile: str, options: BatchOptions) -> str:
    """What besides the notebook decides a grade: the grader's code, the exercise's solution,
    the options. A change to any of them makes cached rows stale."""
    ex = get_exercise(exercise)
    digest = hashlib.sha256(source_digest().encode())
    for path in (ex.solution_path,):
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing")
    digest.update(
        json.dumps(
            {
                "profile": profile,
                "seed": "auto" if options.seed is None else options.seed,
                "cell_timeout": options.cell_timeout,
                "notebook_timeout": options.notebook_timeout,
            },
            sort_keys=True,
        ).encode()
    )
    return digest.hexdigest()[:16]


def _deadline(task: Task, options: BatchOptions) -> float:
    """A last resort against a worker that hangs outside the kernel's own timeouts."""
    ex = get_exercise(task.exercise)
    lim = ex.limits
    notebook = options.notebook_timeout or lim.notebook_timeout
    probes = sum((c.timeout or lim.probe_timeout) for c in ex.calls())
    return 2 * notebook + lim.startup_timeout * (lim.max_restarts + 1) + probes + 120


def _similarity(subs: list[Submission], gb: Gradebook, threshold: float) -> list[SimilarPair]:
    from grader.course import exercises_dir

    try:
        starters: Path | None = exercises_dir()
    except ConfigurationError:
        starters = None
    pairs: list[SimilarPair] = []
    for exercise in sorted({s.exercise for s in subs if s.exercise}):
        notebooks = {s.student: s.path for s in subs if s.exercise == exercise}
        starter = starters / f"{exercise}.ipynb" if starters else None
        found = similar_pairs(exercise, notebooks, starter=starter, threshold=threshold)
        gb.replace_similarity(exercise, [(p.student_a, p.student_b, p.score) for p in found])
        pairs += found
    return pairs


def _atomic_write(
    path: Path,
    run_info: dict[str, Any] | None,
    entries: list[ClassEntry],
    pairs: list[SimilarPair],
    missing: list[str] | None = None,
    marks: TermMarks | None = None,
) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".csv":
        write_csv(entries, pairs, tmp)
    else:
        tmp.write_text(
            render_dashboard(
                entries,
                pairs,
                title="cnn-grader: class dashboard",
                generated_at=_now(),
                run=run_info,
                missing=missing or [],
                term=marks,
            ),
            encoding="utf-8",
        )
    os.replace(tmp, path)
    return path


def _term_marks(term: term_io.Term | None, gb: Gradebook) -> TermMarks:
    """Who was late (by the times the gradebook keeps) and whose grade was set by hand."""
    late: dict[tuple[str, str], str] = {}
    if term is not None:
        for (student, exercise), (at, _how) in gb.submitted().items():
            _, text = term.lateness(student, exercise, _dt.datetime.fromisoformat(at))
            if text:
                late[(student, exercise)] = text
    overrides: dict[tuple[str, str], list[str]] = {}
    for o in gb.overrides():
        overrides.setdefault((o.student, o.exercise), []).append(o.describe())
    return TermMarks(late, overrides)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
