"""The commands that build and ship the course: generate, release, bundle, calibrate,
datasets and gradescope-zip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli.options import add_course_option, grading_course
from grader.errors import ConfigurationError


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
    from grader.course import RELEASE_MANIFEST
    from grader.release import build

    files = build(
        Path(args.out),
        args.exercises,
        selfcheck_url=args.selfcheck_url,
        allow_reveal=args.allow_reveal,
    )
    size = sum(f.stat().st_size for f in files)
    print(f"{Path(args.out) / RELEASE_MANIFEST}: {len(files)} files, {size / 1024:.0f} KiB")
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
            term=Path(args.term) if args.term else None,
        )
    )
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from grader import profiles
    from grader.calibrate import calibrate

    grading_course()
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `cnn-grader` parser."""
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
    add_course_option(p)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("generate", help="make exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report drift (exit 1 if any)")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("gradescope-zip", help="build Gradescope's autograder zip for an exercise")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument(
        "--term",
        metavar="TOML",
        help="the course's term file: its late policy applies to Gradescope's own due dates",
    )
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
    add_course_option(p)
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
    add_course_option(p)
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
    add_course_option(p)
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
