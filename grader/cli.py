"""The `cnn-grader` command line (names fixed in CONTRACT.md §2).

Exit codes: 0 a report was written (whatever the score); 1 the file is not a usable notebook
(a report saying why is still written); 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader import __version__
from grader.errors import ConfigurationError
from grader.models import ExecutionStatus, GradeResult

# Exit codes (CONTRACT.md §2): 0 a report was written, 1 not a usable notebook, 2 a usage or
# configuration error, 3 a bug in the grader.
EXIT_BUG = 3


def _grading_course() -> None:
    """Fail before any kernel starts when no course that can grade is at hand (exit 2)."""
    from grader.course import current

    current().solutions_dir  # noqa: B018 - raises the message naming the three ways


def _warm_up() -> None:
    """What every grading needs and no notebook changes, started in a background thread
    before the grader's own imports: the sandbox's probe of this machine (a Python started to
    try each isolation step) and the HTML report's template engine. Measured on one
    `cnn-grader check` of ex01 (2 busy CPU cores): 0.1-0.5 s no longer waited for."""

    def work() -> None:
        try:
            from grader.execution.sandbox import machine

            machine.capabilities()
            import grader.reporting.html_report  # noqa: F401
        except Exception:  # noqa: BLE001 - grading does it again and says what went wrong
            pass

    import threading

    threading.Thread(target=work, daemon=True, name="cnn-grader-warm-up").start()


def _grade_one(args: argparse.Namespace, notebook: Path) -> tuple[GradeResult, dict[str, Path]]:
    _warm_up()
    from grader.api import Options, grade
    from grader.reporting import write_reports

    _grading_course()

    result = grade(
        notebook,
        Options(
            exercise=args.exercise,
            profile=args.profile,
            seed=args.seed,
            cell_timeout=args.cell_timeout,
            notebook_timeout=args.timeout,
        ),
    )
    return result, write_reports(
        result, Path(args.out or "reports"), notebook.stem, view=getattr(args, "view", "student")
    )


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
    from grader.release import check_public
    from grader.selfcheck.runtime import HIDDEN_NOTE

    exercise, result = check_public(
        path,
        root,
        exercise=args.exercise,
        profile=args.profile,
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.timeout,
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

    for line in terminal.render(result, report=paths["html"].resolve()):
        print(line)
    return terminal.exit_code(result)


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


def _cmd_generate(args: argparse.Namespace) -> int:
    from grader.course import exercises_dir, solutions_dir
    from grader.generate import drifted, generate_all

    if args.check:
        bad = drifted(solutions_dir(), exercises_dir())
        for name in bad:
            print(f"exercises/{name} differs from what solutions/{name} generates", file=sys.stderr)
        return 1 if bad else 0
    for path in generate_all(solutions_dir(), exercises_dir()):
        print(path)
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from grader.release import MANIFEST, build

    files = build(
        Path(args.out),
        args.exercises,
        selfcheck_url=args.selfcheck_url,
        allow_reveal=args.allow_reveal,
    )
    size = sum(f.stat().st_size for f in files)
    print(f"{Path(args.out) / MANIFEST}: {len(files)} files, {size / 1024:.0f} KiB")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from grader.batch import run_batch

    _grading_course()
    return run_batch(args)


def _open_gradebook(path: str) -> Any:
    from grader.batch.gradebook import Gradebook

    if not Path(path).is_file():
        raise ConfigurationError(
            f"no gradebook at {path} (cnn-grader batch writes one in its --out)"
        )
    return Gradebook(Path(path))


def _cmd_override(args: argparse.Namespace) -> int:
    import datetime as dt

    from grader.batch.gradebook import Override
    from grader.exercises import get

    exercise = get(args.exercise)  # an unknown id is a usage error
    if args.check and args.check not in {c.id for c in exercise.checks}:
        raise ConfigurationError(f"{args.exercise} has no check {args.check!r}")
    top = next((c.points for c in exercise.checks if c.id == args.check), exercise.max_score)
    if not 0 <= args.points <= top:
        raise ConfigurationError(f"--points {args.points:g}: between 0 and {top:g} here")
    with _open_gradebook(args.gradebook) as gb:
        at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        made = gb.override(
            Override(args.student, args.exercise, args.check, args.points, args.why, args.by, at)
        )
        entry = gb.get(args.student, args.exercise)
        mine = [
            o for o in gb.overrides() if (o.student, o.exercise) == (made.student, made.exercise)
        ]
    print(f"override: {args.student} {made.describe()}")
    result = entry.grade_result() if entry is not None and entry.report else None
    if entry is not None and entry.report and result is not None:  # the student's report says it
        from grader.batch.worker import write_both_views

        report = Path(args.gradebook).parent / entry.report
        result.notes = [*result.notes, *(o.for_student() for o in mine)]
        write_both_views(result, report.parent, report.stem)
        print(f"report: {report}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import datetime as dt

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
    term = term_io.load(Path(args.term)) if args.term else None

    def lateness(student: str, exercise: str) -> tuple[float, str]:
        found = submitted.get((student, exercise))
        if term is None or found is None:
            return 0.0, ""
        return term.lateness(student, exercise, dt.datetime.fromisoformat(found[0]))

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


def _cmd_gradescope_zip(args: argparse.Namespace) -> int:
    from grader.deploy.gradescope_zip import build_autograder_zip

    print(
        build_autograder_zip(
            args.exercise,
            Path(args.out),
            course=args.course,
            wheel=Path(args.wheel) if args.wheel else None,
            autograder_minutes=args.autograder_timeout,
        )
    )
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from grader import profiles
    from grader.calibrate import calibrate

    _grading_course()
    for line in calibrate(args.exercises, profiles.resolve(args.profile), refresh=args.force):
        print(line)
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    from grader import bundle
    from grader.course import current

    if args.new_key:
        print(bundle.new_key())
        return 0
    if not args.out:
        raise ConfigurationError("bundle: --out FILE is required (or --new-key)")
    course = current()
    solutions = course.solutions_dir
    from grader.keras_support.calibration import measured_for

    calibration = measured_for(sorted(solutions.glob("ex*.ipynb")))
    out = bundle.build(
        solutions.parent,
        Path(args.out),
        exercises=args.exercises,
        encrypt=args.encrypt,
        calibration=calibration,
    )
    opened = bundle.open_bundle(out)  # what was written opens and verifies
    print(
        f"{out}: {len(opened.exercises)} exercises, {out.stat().st_size} bytes"
        f"{', encrypted' if opened.encrypted else ''}"
        f"{f', {len(calibration)} calibrations' if calibration else ''}"
    )
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from grader import dataset_fetch
    from grader.datasets import registry

    names = list(args.names)
    if args.exercises:
        names += [d for d in dataset_fetch.needed_by(args.exercises) if d not in names]
    elif not names:
        names = list(registry.DATASETS)
    for name in names:
        try:
            registry.get(name)  # an unknown id is a usage error before anything is fetched
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    lines = dataset_fetch.fetch(names) if args.action == "fetch" else dataset_fetch.status(names)
    if not names:
        print("no dataset needed")
    for line in lines:
        print(line, flush=True)
    return 0


def _add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exercise", help="exercise id (wins over the notebook's metadata and name)")
    p.add_argument("--out", default="reports", help="folder for the reports (default: reports/)")
    p.add_argument(
        "--profile",
        choices=["full", "smoke"],
        help="training budget (default: full with a GPU, smoke without)",
    )
    p.add_argument("--seed", type=int, help="seed of the hidden inputs (default: random)")
    p.add_argument("--cell-timeout", type=float, help="seconds one cell may run")
    p.add_argument("--timeout", type=float, help="seconds the whole notebook may run")
    p.add_argument(
        "--datasets",
        metavar="DIR",
        help="folder with dataset files for the Keras "
        "exercises, e.g. mnist.npz (as the CNN_GRADER_DATASETS variable)",
    )
    _add_course_option(p)
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show what TensorFlow and other native libraries print (by default it "
        "goes to a log file in the grader's cache)",
    )


def _add_course_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--course",
        metavar="PATH",
        help="the course: a bundle file, a release folder or a course folder "
        "(default: $CNN_GRADER_COURSE, else the folder the grader was installed "
        "from)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-grader", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cnn-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade submissions into JSON and HTML reports")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    _add_grading_options(p)
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
    _add_grading_options(p)
    # With a release, reports only when --out is given (a course's check writes reports/).
    p.set_defaults(out=None)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("list", help="list the exercises and their checks with points")
    _add_course_option(p)
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
    _add_course_option(p)
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
    _add_course_option(p)
    p.set_defaults(func=_cmd_catalogue)

    p = sub.add_parser(
        "release",
        help="write what students receive: the starter notebooks "
        "and public self-checks (no solutions)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder to write (new or empty, or an earlier release, which is replaced)",
    )
    p.add_argument(
        "--exercise",
        dest="exercises",
        action="append",
        default=[],
        metavar="ID",
        help="an exercise to include (repeat; default: all)",
    )
    p.add_argument(
        "--selfcheck-url",
        metavar="SPEC",
        help="a pip requirement (a git URL with #subdirectory=, a wheel URL, a path) "
        "from which each starter's first cell, tagged `setup`, installs "
        "cnn_selfcheck when it cannot be imported (Colab opens a notebook alone)",
    )
    p.add_argument(
        "--allow-reveal",
        action="append",
        default=[],
        metavar="ID",
        help="an exercise whose solution code may appear in the release, e.g. given "
        "in a later exercise's starter once it is due (repeat)",
    )
    _add_course_option(p)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("generate", help="make exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report drift (exit 1 if any)")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("batch", help="grade a folder (or zip) of a class's submissions")
    p.add_argument("submissions", metavar="SUBMISSIONS")
    _add_grading_options(p)
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
    p.add_argument("student", metavar="STUDENT")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("check", metavar="CHECK", nargs="?", default="")
    p.add_argument("--points", type=float, required=True)
    p.add_argument("--why", required=True, help="the reason, kept with the override")
    p.add_argument("--by", default=os.environ.get("USER", "instructor"), help="who (default $USER)")
    p.add_argument("--gradebook", default="reports/gradebook.sqlite", metavar="FILE")
    p.set_defaults(func=_cmd_override)

    p = sub.add_parser("export", help="the gradebook's grades, after overrides, for an LMS import")
    p.add_argument("--format", choices=["canvas", "moodle", "csv"], default="csv")
    p.add_argument("--gradebook", default="reports/gradebook.sqlite", metavar="FILE")
    p.add_argument("--roster", metavar="CSV", help="the class list (default: the one batch kept)")
    p.add_argument(
        "--term",
        metavar="TOML",
        help="deadlines, extensions and the late policy (grader.batch.term): late points off",
    )
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("gradescope-zip", help="build Gradescope's autograder zip for an exercise")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("--out", default="autograder.zip", help="zip to write (default: autograder.zip)")
    p.add_argument(
        "--wheel",
        metavar="FILE",
        help="the cnn-grader wheel setup.sh installs (default: built now from this "
        "source checkout)",
    )
    p.add_argument(
        "--autograder-timeout",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help="the assignment's autograder timeout on Gradescope (default: 10, its "
        "default; at most 40): the notebook gets this less grading's share",
    )
    _add_course_option(p)
    p.set_defaults(func=_cmd_gradescope_zip)

    p = sub.add_parser(
        "calibrate",
        help="measure the reference accuracies behind the smoke "
        "profile's thresholds (cached; once per machine)",
    )
    p.add_argument(
        "exercises",
        nargs="*",
        metavar="EXERCISE",
        help="exercise ids (default: every exercise with an accuracy check)",
    )
    p.add_argument(
        "--profile",
        choices=["full", "smoke"],
        help="training budget (default: full with a GPU, smoke without)",
    )
    p.add_argument("--force", action="store_true", help="measure again even when cached")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show what TensorFlow prints (by default it goes to a log file)",
    )
    p.add_argument(
        "--datasets",
        metavar="DIR",
        help="folder with dataset files (as the CNN_GRADER_DATASETS variable)",
    )
    _add_course_option(p)
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser(
        "bundle",
        help="write the private grading bundle (solutions, course "
        "metadata, calibrations) as one file",
    )
    p.add_argument("--out", metavar="FILE", help="the bundle to write")
    p.add_argument(
        "--encrypt", action="store_true", help="encrypt it with the key in $CNN_GRADER_BUNDLE_KEY"
    )
    p.add_argument(
        "--exercise",
        dest="exercises",
        action="append",
        metavar="ID",
        help="only this exercise (repeatable; default: all)",
    )
    p.add_argument("--new-key", action="store_true", help="print a new key for --encrypt and exit")
    _add_course_option(p)
    p.set_defaults(func=_cmd_bundle)

    p = sub.add_parser(
        "datasets",
        help="fetch the Keras exercises' datasets ahead of grading (kernels have no network)",
    )
    dsub = p.add_subparsers(dest="action", required=True)
    for action, text in (
        ("fetch", "download what is missing through Keras' loaders"),
        ("list", "say where each dataset is found"),
    ):
        q = dsub.add_parser(action, help=text)
        q.add_argument(
            "names",
            nargs="*",
            metavar="NAME",
            help="dataset ids (default: every dataset the course uses)",
        )
        q.add_argument(
            "--exercise",
            dest="exercises",
            action="append",
            metavar="ID",
            help="the datasets this exercise loads (repeatable)",
        )
        q.add_argument(
            "--datasets",
            metavar="DIR",
            help="folder with dataset files (as the CNN_GRADER_DATASETS variable)",
        )
        q.set_defaults(func=_cmd_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "datasets", None):  # read by grader.datasets, here and in worker processes
        os.environ["CNN_GRADER_DATASETS"] = str(Path(args.datasets).resolve())
    from grader.course import COURSE_ENV

    before = os.environ.get(COURSE_ENV)
    undo: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if getattr(args, "course", None):  # read by grader.course, here and in worker processes
            from grader.course import resolve

            resolve(args.course)  # a bad --course is one clear message before any work
            os.environ[COURSE_ENV] = str(Path(args.course).expanduser().resolve())
        if hasattr(args, "verbose") and not args.verbose:
            from grader.console import divert_native_stderr

            undo = divert_native_stderr()  # TensorFlow's C++ and absl lines go to the log
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"cnn-grader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnn-grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cnn-grader list | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # noqa: BLE001 - a bug in the grader: its own exit code, never 1 (a notebook)
        import traceback

        traceback.print_exc()
        print(
            "cnn-grader: internal error, a bug in the grader (not a problem with the notebook or "
            "the setup); the traceback is above",
            file=sys.stderr,
        )
        return EXIT_BUG
    finally:  # main() called in-process (tests, scripts) leaves the environment as it was
        undo()
        if before is None:
            os.environ.pop(COURSE_ENV, None)
        else:
            os.environ[COURSE_ENV] = before


if __name__ == "__main__":
    raise SystemExit(main())
