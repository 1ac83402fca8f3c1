"""What a batch will run, and what the gradebook records of it: the options a batch is given,
one task per submission the gradebook cannot stand for as it is (each with its seed, deadline
and calibration), and the gradebook row each finished task, or notebook of no known exercise,
becomes. The run itself, in order, is grader.batch.runner.

Each submission's seed comes from its notebook's content when --seed is not given, so a
resumed run grades exactly as an uninterrupted one would have.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from grader import calibrate
from grader.batch import term as term_io
from grader.batch.discover import Submission, student_slug
from grader.batch.executor import BatchExecutor
from grader.batch.gradebook import Entry, Gradebook
from grader.batch.pool import Finished
from grader.batch.worker import Task
from grader.errors import require_training_packages
from grader.execution import resources
from grader.exercises import get as get_exercise
from grader.models import BatchOutcome, GradeResult
from grader.similarity import THRESHOLD
from grader.version import __version__, source_digest

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
    executor: BatchExecutor | None = None
    # The class list (grader.batch.roster): submissions filed under its ids, missing students
    # listed, unmatched submissions said.
    roster: Path | None = None
    # Deadlines and the late policy (grader.batch.term): lateness in the student's report.
    term: Path | None = None
    only: tuple[str, ...] = ()  # grade these students only (ids or names), the rest untouched


def seed_for(sha256: str) -> int:
    return int(sha256[:8], 16) & 0x7FFFFFFF


def class_folders(submissions: Path, out: Path) -> tuple[str, ...]:
    """What no student's kernel may see of the class: the folder the batch was given (every
    student's files under it, in whatever layout) and where it unpacks archives and commits."""
    given = submissions.resolve()
    folders = [given if given.is_dir() else given.parent, (out / ".extracted").resolve()]
    return tuple(str(f) for f in folders)


def plan_tasks(
    subs: list[Submission],
    gb: Gradebook,
    profile: str,
    options: BatchOptions,
    out: Path,
    handed_in: dict[Path, tuple[_dt.datetime, str]],
    term: term_io.Term | None,
) -> tuple[list[Task], dict[int, Submission], dict[str, str]]:
    """The tasks to run: every submission the gradebook cannot stand for as it is. Notebooks
    of no known exercise are recorded at once (there is nothing to run). `term`: the run's
    deadlines, for each late submission's note."""
    configs: dict[str, str] = {}
    tasks: list[Task] = []
    by_key: dict[int, Submission] = {}
    overrides = gb.overrides()  # said again in a regraded report
    hide = class_folders(Path(options.submissions), out)
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
            hide=hide,
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


def calibrated(tasks: list[Task], profile: str, note: Callable[[str], None]) -> list[Task]:
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


def finished_entry(sub: Submission, done: Finished, config: str) -> Entry:
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
        graded_at=utc_now(),
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
        graded_at=utc_now(),
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


def deadline(task: Task, options: BatchOptions) -> float:
    """A last resort against a worker that hangs outside the kernel's own timeouts."""
    ex = get_exercise(task.exercise)
    lim = ex.limits
    notebook = options.notebook_timeout or lim.notebook_timeout
    probes = sum((c.timeout or lim.probe_timeout) for c in ex.calls())
    return 2 * notebook + lim.startup_timeout * (lim.max_restarts + 1) + probes + 120


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
