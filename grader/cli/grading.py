"""The commands that grade one notebook or describe the course: grade, check, list, extras,
constraints and catalogue."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import timing
from grader.cli.options import add_course_option, add_grading_options, grading_course
from grader.errors import ConfigurationError
from grader.models import ExecutionStatus, GradeResult
from grader.prewarm import warm_up


def _grade_one(args: argparse.Namespace, notebook: Path) -> tuple[GradeResult, dict[str, Path]]:
    warm_up()
    with timing.span("imports"):
        from grader.api import Options, grade
        from grader.reporting import write_reports

    with timing.span("course"):
        grading_course()

    view = getattr(args, "view", "student")
    with timing.grading(str(notebook)):
        result = grade(
            notebook,
            Options(
                exercise=args.exercise,
                profile=args.profile,
                seed=args.seed,
                cell_timeout=args.cell_timeout,
                notebook_timeout=args.timeout,
                # the integrity findings: only the instructor's view and Gradescope show them
                scan=view == "instructor" or bool(getattr(args, "gradescope", False)),
                executor=getattr(args, "executor", None),  # a check server's warm kernels
            ),
        )
        with timing.span("reports"):
            paths = write_reports(result, Path(args.out or "reports"), notebook.stem, view=view)
    return result, paths


def _cmd_grade(args: argparse.Namespace) -> int:
    worst = 0
    results = []
    for notebook in args.notebooks:
        path = Path(notebook)
        result, paths = _grade_one(args, path)
        results.append(result)
        status = result.execution.status
        print(
            f"{path.name}: {result.exercise} {result.score:g}/{result.max_score:g} "
            f"[{status.value}] -> {paths['json']}",
            file=sys.stderr if args.classroom else sys.stdout,
        )  # stdout: the base64 alone
        if status is ExecutionStatus.INVALID_NOTEBOOK:
            worst = 1
            print(f"  {result.execution.message}", file=sys.stderr)
    if args.classroom:  # GitHub Classroom: `result` step output (or the base64 on stdout)
        from grader.reporting.classroom import emit

        emit(results)
    if args.gradescope:
        from grader.reporting.gradescope import write_results

        write_results(results, Path(args.gradescope_out))
    return worst


def _release_root() -> Path | None:
    """The student release the course is, if it is one (then `check` runs its public examples)."""
    from grader.course import current

    try:
        course = current()
    except ConfigurationError:
        return None  # grading says which course is missing
    return course.root if course.kind == "release" else None


def _check_public(args: argparse.Namespace, path: Path, root: Path) -> int:
    from grader.release_check import check_public
    from grader.selfcheck.runtime import HIDDEN_NOTE

    exercise, result = check_public(
        path,
        root,
        exercise=args.exercise,
        profile=args.profile,
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.timeout,
        executor=getattr(args, "executor", None),  # a check server's warm kernels
    )
    if result is None:
        print(
            f"{exercise.id} has no public self-checks: its checks all need the grader "
            "(run your notebook in Jupyter to see it work)"
        )
        for name, why in exercise.unchecked.items():
            print(f"  {name}: {why}")
        return 0
    from grader.reporting import terminal, write_reports

    report = None
    if args.out:  # only when asked: named so that it cannot pass for a grade
        result.notes.insert(0, f"{HIDDEN_NOTE}: this is not a grade")
        report = write_reports(result, Path(args.out), f"{path.stem}.selfcheck")["html"]
    for line in terminal.render(
        result,
        public=HIDDEN_NOTE,
        unchecked=exercise.unchecked,
        report=report.resolve() if report else None,
    ):
        print(line)
    return terminal.exit_code(result)


def _cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.notebook)
    release = _release_root()
    if release is not None:
        return _check_public(args, path, release)
    result, paths = _grade_one(args, path)
    from grader.reporting import terminal

    with timing.span("terminal"):
        for line in terminal.render(result, report=paths["html"].resolve()):
            print(line)
    return terminal.exit_code(result)


def _cmd_check_server(args: argparse.Namespace) -> int:
    from grader.cli import check_client

    return check_client.command(args.action)


def _cmd_list(args: argparse.Namespace) -> int:
    from grader.exercises import available, get

    for eid in available():
        ex = get(eid)
        print(f"{eid}  {ex.title}  ({ex.max_score:g} points)")
        for c in ex.checks:
            print(f"    {c.id:<40} {c.points:g}  {c.title}")
    return 0


def _cmd_extras(args: argparse.Namespace) -> int:
    from grader.exercises import get

    print("keras" if get(args.exercise).needs_tensorflow else "")
    return 0


def _cmd_constraints(args: argparse.Namespace) -> int:
    """The bundle's constraints.txt where the course is a bundle that has one; else this
    environment's versions."""
    from grader.bundle import CONSTRAINTS, constraints_text
    from grader.course import COURSE_ENV, current

    text = None
    if getattr(args, "course", None) or os.environ.get(COURSE_ENV):
        course = current()
        shipped = course.root / CONSTRAINTS
        if course.kind == "bundle" and shipped.is_file():
            text = shipped.read_text(encoding="utf-8")
    sys.stdout.write(text if text is not None else constraints_text())
    return 0


def _cmd_catalogue(args: argparse.Namespace) -> int:
    from grader import catalogue
    from grader.checks.reference import load_reference
    from grader.exercises import available, get

    ids = args.exercises or [e for e in available() if get(e).wrong]
    seeds = tuple(range(args.seeds))
    holes = 0
    for eid in ids:
        ex = get(eid)
        entries = catalogue.survey(ex, load_reference(ex.solution_path), seeds)
        for line in catalogue.lines(ex, entries, len(seeds)):
            print(line)
        holes += sum(not e.ok for e in entries)
    print(
        f"{holes} catalogued mistake{'s' if holes != 1 else ''} not caught everywhere"
        if holes
        else "every catalogued mistake fails a graded check at every seed and a public example"
    )
    return 1 if holes else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `cnn-grader` parser."""
    p = sub.add_parser("grade", help="grade submissions into JSON and HTML reports")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    add_grading_options(p)
    p.add_argument(
        "--classroom",
        action="store_true",
        help="GitHub Classroom: the reporter's outputs `result` and `runners` to "
        "$GITHUB_OUTPUT (`result` printed when it is unset), one runner per "
        "check to $GITHUB_ENV, a Markdown table to $GITHUB_STEP_SUMMARY",
    )
    p.add_argument("--gradescope", action="store_true", help="also write Gradescope's results.json")
    p.add_argument(
        "--view",
        choices=["student", "instructor"],
        default="student",
        help="student (default): reports without the instructor's findings, as a "
        "student may receive them; instructor: with them",
    )
    p.add_argument(
        "--gradescope-out",
        default="/autograder/results/results.json",
        help="where --gradescope writes (default: /autograder/results/results.json)",
    )
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("check", help="grade your own notebook and print a short summary")
    p.add_argument("notebook", metavar="NOTEBOOK")
    add_grading_options(p)
    p.add_argument(
        "--no-server",
        action="store_true",
        help="run the check in this process, and leave no check server behind to serve the "
        "next one warm (also: CNN_GRADER_CHECK_SERVER=off)",
    )
    # With a release, reports only when --out is given (a course's check writes reports/).
    p.set_defaults(out=None)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "check-server",
        help="the servers that keep `check` warm between runs: status, or stop them",
    )
    p.add_argument("action", choices=["status", "stop"])
    p.set_defaults(func=_cmd_check_server)

    p = sub.add_parser("list", help="list the exercises and their checks with points")
    add_course_option(p)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser(
        "extras",
        help="the install extra an exercise needs ('keras' for one "
        "that trains, nothing for a NumPy exercise): pip install "
        '"cnn-grader[$(cnn-grader extras --exercise EX)]"',
    )
    p.add_argument("--exercise", required=True, metavar="ID")
    p.set_defaults(func=_cmd_extras)

    p = sub.add_parser(
        "constraints",
        help="print the pinned versions (a pip constraints file) "
        "of the course bundle, or of this environment without one",
    )
    add_course_option(p)
    p.set_defaults(func=_cmd_constraints)

    p = sub.add_parser(
        "catalogue",
        help="each exercise's catalogue of mistakes: the graded "
        "checks and public examples that catch each one",
    )
    p.add_argument(
        "--exercise",
        dest="exercises",
        action="append",
        default=[],
        metavar="ID",
        help="an exercise to survey (repeat; default: all with a catalogue)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=30,
        metavar="N",
        help="grading seeds to judge each check at (default: 30)",
    )
    add_course_option(p)
    p.set_defaults(func=_cmd_catalogue)
