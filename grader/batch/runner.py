"""A batch from start to end: discover → skip what the gradebook already has → grade the rest
in parallel, committing each as it finishes → similarity → CSV and dashboard.

Everything a rerun needs to pick up where a killed run stopped is in the gradebook; everything
else (reports, CSV, dashboard) is rewritten from it. What to grade, as which tasks, and the row
each becomes are grader.batch.plan's.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from grader import profiles, timing
from grader.batch import roster as roster_io
from grader.batch import term as term_io
from grader.batch.collect import pin_to_deadline
from grader.batch.discover import Submission, discover
from grader.batch.executor import LocalExecutor
from grader.batch.gradebook import Entry, Gradebook
from grader.batch.plan import (
    BatchOptions,
    calibrated,
    deadline,
    finished_entry,
    plan_tasks,
    utc_now,
)
from grader.batch.pool import Finished, default_workers
from grader.batch.progress import Progress
from grader.batch.term import submitted_at
from grader.batch.worker import Task
from grader.errors import ConfigurationError
from grader.exercises import get as get_exercise
from grader.models import BatchOutcome, ClassEntry
from grader.reporting.csv_report import write_csv
from grader.reporting.dashboard import render_dashboard
from grader.reporting.term_view import TermMarks
from grader.similarity import SimilarPair, similar_pairs

GRADEBOOK = "gradebook.sqlite"


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


def default_training_workers() -> int:
    """One TensorFlow training takes every core, or one GPU's memory: one per GPU, else 1."""
    gpus = len(list(Path("/dev").glob("nvidia[0-9]*"))) if profiles.gpu_available() else 0
    return max(1, gpus)


@dataclass
class _Collected:
    """What the run grades: the submissions found (filed under the roster's ids, pinned to
    the deadline), what was said of them, and the roster and term they were read with."""

    submissions: list[Submission]
    warnings: list[str]
    said: list[str]
    roster: roster_io.Roster | None
    term: term_io.Term | None


def run(options: BatchOptions, *, stream: TextIO | None = None) -> BatchSummary:
    """Grade a class's submissions into `options.out`; see the module docstring."""
    if options.exercise:
        get_exercise(options.exercise)  # UnknownExercise: a usage error, before any work
    profile = profiles.resolve(options.profile)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    with timing.span("batch.collect"):
        found = _collect(options, out)
    summary = BatchSummary(submissions=len(found.submissions), warnings=found.warnings)
    progress = Progress(stream or sys.stderr, live=options.progress)
    for w in found.warnings:
        progress.note(f"warning: {w}")
    for line in found.said:
        progress.note(line)
    with Gradebook(out / GRADEBOOK) as gb:
        with timing.span("batch.plan"):
            if found.roster is not None:
                gb.set_roster([roster_io.as_data(s) for s in found.roster.students])
            handed_in = _hand_in_times(found.submissions, gb)
            tasks, by_key, configs = plan_tasks(
                found.submissions, gb, profile, options, out, handed_in, found.term
            )
            summary.cached = sum(1 for s in found.submissions if s.exercise) - len(tasks)
            tasks.sort(key=lambda t: (not t.training, t.exercise, t.student))  # long ones first
            tasks = calibrated(tasks, profile, progress.note)
        with timing.span("batch.execute"):
            _execute(tasks, options, gb, by_key, configs, summary, progress)
        # One student regraded (--only): the class's similarity stays as the last full run
        # found it, since it compares every notebook with every other.
        with timing.span("batch.similarity"):
            pairs = (
                []
                if options.only
                else _similarity(found.submissions, gb, options.similarity_threshold)
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
        run_info = {
            "submissions": summary.submissions,
            "graded this run": summary.graded,
            "unchanged (not rerun)": summary.cached,
            "grader failures": summary.failed,
            "workers": summary.workers,
        }
        with timing.span("batch.outputs"):
            summary.outputs = write_class_outputs(out, gb, rows, run_info, found.term)
    return summary


def _collect(options: BatchOptions, out: Path) -> _Collected:
    """The submissions under `options.submissions`, filed under the roster's ids, only the
    students asked for, each Classroom repository at its last commit before the cutoff."""
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
    said: list[str] = []
    if term is not None:
        found.submissions, said = pin_to_deadline(found.submissions, term.hard, out / ".extracted")
    return _Collected(found.submissions, found.warnings, said, class_list, term)


def _hand_in_times(subs: list[Submission], gb: Gradebook) -> dict[Path, tuple[_dt.datetime, str]]:
    """When each submission was handed in, and how that was read (its layout's time, git, or
    the file's); kept in the gradebook, where the lateness of exports is computed from."""
    handed_in = {
        s.path: (s.handed_at, s.handed_how) if s.handed_at else submitted_at(s.path)
        for s in subs
        if s.exercise
    }
    for sub in subs:
        if sub.exercise:
            at, source = handed_in[sub.path]
            gb.set_submitted(sub.student, sub.exercise, at.isoformat(), source)
    return handed_in


def _execute(
    tasks: list[Task],
    options: BatchOptions,
    gb: Gradebook,
    by_key: dict[int, Submission],
    configs: dict[str, str],
    summary: BatchSummary,
    progress: Progress,
) -> None:
    """Run the tasks, committing each row to the gradebook as it finishes."""
    workers = (
        options.executor.workers
        if options.executor is not None
        else max(1, min(options.workers or default_workers(), len(tasks) or 1))
    )
    summary.workers = progress.workers = workers
    total = summary.submissions
    progress.start(total, total - len(tasks))

    def finish(done: Finished) -> None:
        sub = by_key[done.task.key]
        entry = finished_entry(sub, done, configs[done.task.exercise])
        gb.put(entry, executed=True)
        summary.graded += 1
        summary.failed += entry.status is BatchOutcome.GRADER_FAILURE
        shown = (
            f"{entry.score:g}/{entry.max_score:g} [{entry.status.value}]"
            if entry.status is not BatchOutcome.GRADER_FAILURE
            else "grader failure"
        )
        failed = entry.status is not BatchOutcome.OK
        progress.finished(
            sub.student, sub.exercise or "?", f"{shown} in {done.wall_s:.1f}s", failed=failed
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
            deadline_s=lambda t: deadline(t, options),
            on_finish=finish,
            on_retry=retry,
            on_poll=progress.tick,
        )
    finally:
        progress.close()


def write_class_outputs(
    out: Path,
    gb: Gradebook,
    rows: list[Entry],
    run_info: dict[str, Any] | None,
    term: term_io.Term | None,
) -> dict[str, Path]:
    """grades.csv and dashboard.html, rewritten from the gradebook (after a run, or after an
    override): every row (`rows`, the gradebook's entries as the caller read them), the stored
    similarity, the roster's missing students, lateness by
    `term` and the overrides."""
    entries = [e.row() for e in rows]
    stored = [SimilarPair(*row) for row in gb.similarity()]
    seen = {e.student for e in entries}
    missing = [s["id"] for s in gb.roster() if s["id"] not in seen]
    marks = _term_marks(term, gb)
    return {
        "gradebook": out / GRADEBOOK,
        "csv": _atomic_write(out / "grades.csv", None, entries, stored),
        "dashboard": _atomic_write(
            out / "dashboard.html", run_info, entries, stored, missing, marks
        ),
    }


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
                generated_at=utc_now(),
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
    late = {
        key: text
        for key, (_, text) in (term.late_submissions(gb.submitted()) if term else {}).items()
    }
    overrides: dict[tuple[str, str], list[str]] = {}
    for o in gb.overrides():
        overrides.setdefault((o.student, o.exercise), []).append(o.describe())
    return TermMarks(late, overrides)
