"""The commands of an instructor's term: batch (a class at once), override and export."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.lms import FORMATS
from grader.cli.options import add_grading_options, grading_course
from grader.errors import ConfigurationError

if TYPE_CHECKING:
    from grader.batch.gradebook import Gradebook, Override


def _cmd_batch(args: argparse.Namespace) -> int:
    from grader.batch import run_batch

    grading_course()
    return run_batch(args)


def _open_gradebook(path: str) -> Gradebook:
    from grader.batch.gradebook import Gradebook

    if not Path(path).is_file():
        raise ConfigurationError(
            f"no gradebook at {path} (cnn-grader batch writes one in its --out)"
        )
    return Gradebook(Path(path))


def _wanted_overrides(args: argparse.Namespace, at: str) -> list[Override]:
    """The overrides asked for: the arguments' one, or every row of --csv (student, exercise,
    check, points, why[, by]); all checked before any is stored."""
    import csv

    from grader.batch.gradebook import Override
    from grader.exercises import get

    if args.csv:
        path = Path(args.csv)
        if not path.is_file():
            raise ConfigurationError(f"override --csv {path}: no such file")
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
        missing = {"student", "exercise", "points", "why"} - set(rows[0] if rows else ())
        if missing:
            raise ConfigurationError(
                f"{path}: needs the columns student, exercise, check, points, why (by is "
                f"optional); {', '.join(sorted(missing))} missing"
            )
        where = [f"{path} row {i}" for i in range(2, len(rows) + 2)]
    elif args.student and args.exercise and args.points is not None and args.why:
        rows = [
            {
                "student": args.student,
                "exercise": args.exercise,
                "check": args.check,
                "points": str(args.points),
                "why": args.why,
            }
        ]
        where = ["override"]
    else:
        raise ConfigurationError(
            "override: STUDENT EXERCISE [CHECK] --points P --why TEXT, or --csv"
        )
    out = []
    for row, place in zip(rows, where, strict=True):
        student, eid = (row.get("student") or "").strip(), (row.get("exercise") or "").strip()
        check, why = (row.get("check") or "").strip(), (row.get("why") or "").strip()
        if not (student and why):
            raise ConfigurationError(f"{place}: a student and a reason (why) are required")
        exercise = get(eid)  # an unknown id is a usage error
        if check and check not in {c.id for c in exercise.checks}:
            raise ConfigurationError(f"{place}: {eid} has no check {check!r}")
        top = next((c.points for c in exercise.checks if c.id == check), exercise.max_score)
        try:
            points = float(row.get("points") or "")
        except ValueError:
            raise ConfigurationError(
                f"{place}: points {row.get('points')!r} is not a number"
            ) from None
        if not 0 <= points <= top:
            raise ConfigurationError(f"{place}: points {points:g}: between 0 and {top:g} here")
        by = (row.get("by") or "").strip() or args.by
        out.append(Override(student, eid, check, points, why, by, at))
    return out


def _cmd_override(args: argparse.Namespace) -> int:
    import datetime as dt

    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    wanted = _wanted_overrides(args, at)
    from grader.batch import term as term_io
    from grader.batch.runner import write_class_outputs

    term = term_io.load(Path(args.term)) if args.term else None
    with _open_gradebook(args.gradebook) as gb:
        made = [gb.override(o) for o in wanted]
        touched = {(o.student, o.exercise) for o in made}
        entries = {key: gb.get(*key) for key in touched}
        every = gb.overrides()
        outputs = write_class_outputs(  # the dashboard and grades.csv say it at once
            Path(args.gradebook).parent, gb, gb.entries(), {"rewritten": "after an override"}, term
        )
    for o in made:
        print(f"override: {o.student} {o.describe()}")
    for key, entry in sorted(entries.items()):
        result = entry.grade_result() if entry is not None and entry.report else None
        if entry is None or not entry.report or result is None:
            continue
        from grader.batch.worker import write_both_views  # the student's report says it

        report = Path(args.gradebook).parent / entry.report
        mine = [o for o in every if (o.student, o.exercise) == key]
        result.notes = [*result.notes, *(o.for_student() for o in mine)]
        write_both_views(result, report.parent, report.stem)
        print(f"report: {report}")
    print(f"dashboard: {outputs['dashboard']}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from grader.batch import lms
    from grader.batch import roster as roster_io
    from grader.batch import term as term_io
    from grader.exercises import get

    with _open_gradebook(args.gradebook) as gb:
        entries, overrides, submitted = gb.entries(), gb.overrides(), gb.submitted()
        students = (
            [roster_io.as_data(s) for s in roster_io.read(Path(args.roster)).students]
            if args.roster
            else gb.roster()
        )
    exercises = sorted(
        {e.exercise for e in entries if e.exercise and not e.exercise.startswith("unknown:")}
        | {o.exercise for o in overrides}
    )
    late = term_io.load(Path(args.term)).late_submissions(submitted) if args.term else {}

    def lateness(student: str, exercise: str) -> tuple[float, str]:
        return late.get((student, exercise), (0.0, ""))

    text = lms.export(
        args.format,
        entries,
        overrides,
        students,
        {x: get(x).max_score for x in exercises},
        lateness=lateness,
    )

    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(
            f"{args.out}: {len(students) or len({e.student for e in entries})} students, "
            f"{len(exercises)} exercises ({args.format})"
        )
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `cnn-grader` parser."""
    p = sub.add_parser("batch", help="grade a folder (or zip) of a class's submissions")
    p.add_argument("submissions", metavar="SUBMISSIONS")
    add_grading_options(p)
    p.add_argument("--workers", type=int, help="parallel kernels (default: from the CPU count)")
    p.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    p.add_argument(
        "--training-workers",
        type=int,
        help="parallel kernels for exercises that train (default: 1 per GPU, else 1)",
    )
    p.add_argument(
        "--similarity-threshold",
        type=float,
        default=0.9,
        help="flag pairs whose normalised code is at least this similar (default 0.9)",
    )
    p.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="where gradings run: worker processes here (local, the default) or the "
        "workers of a Dask cluster (dask; see docs/clusters.md)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: that scheduler's workers (default: a local "
        "cluster of --workers processes)",
    )
    where.add_argument(
        "--scheduler-file",
        metavar="FILE",
        help="with --executor dask: the scheduler named in this file",
    )
    p.add_argument(
        "--gpu-share",
        type=float,
        default=1.0,
        metavar="F",
        help="with --executor dask: the share of a worker's GPU resource one "
        "training takes (default 1.0; 0.25: four trainings per GPU)",
    )
    p.add_argument(
        "--roster",
        metavar="CSV",
        help="the class list (GitHub Classroom's roster, a Canvas or Moodle export, or id, "
        "name, email, aliases): submissions are filed under its ids by any alias, missing "
        "students are listed, unmatched submissions said",
    )
    p.add_argument(
        "--term",
        metavar="TOML",
        help="deadlines, extensions and the late policy: each late submission's report says "
        "how late and what it costs",
    )
    p.add_argument(
        "--only",
        metavar="STUDENT",
        action="append",
        help="grade this student only (repeatable); the others' grades stay as they are",
    )
    p.add_argument(
        "--require-sandbox",
        action="store_true",
        help="refuse to grade where kernels cannot be fully isolated (own user or "
        "user namespace, network off, hidden folders); default: grade, and "
        "each report says which isolation was in force",
    )
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser(
        "override",
        help="give a student's exercise (or one of its checks) points by hand, with why; kept "
        "through regrades, applied in exports",
    )
    p.add_argument("student", metavar="STUDENT", nargs="?", default="")
    p.add_argument("exercise", metavar="EXERCISE", nargs="?", default="")
    p.add_argument("check", metavar="CHECK", nargs="?", default="")
    p.add_argument("--points", type=float)
    p.add_argument("--why", help="the reason, kept with the override")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="many at once: a CSV of student, exercise, check, points, why (and by)",
    )
    p.add_argument(
        "--term",
        metavar="TOML",
        help="the course's term file, so that the rewritten dashboard keeps its late marks",
    )
    p.add_argument("--by", default=os.environ.get("USER", "instructor"), help="who (default $USER)")
    p.add_argument("--gradebook", default="reports/gradebook.sqlite", metavar="FILE")
    p.set_defaults(func=_cmd_override)

    p = sub.add_parser("export", help="the gradebook's grades, after overrides, for an LMS import")
    p.add_argument("--format", choices=list(FORMATS), default="csv")
    p.add_argument("--gradebook", default="reports/gradebook.sqlite", metavar="FILE")
    p.add_argument("--roster", metavar="CSV", help="the class list (default: the one batch kept)")
    p.add_argument(
        "--term",
        metavar="TOML",
        help="deadlines, extensions and the late policy (grader.batch.term): late points off",
    )
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(func=_cmd_export)
