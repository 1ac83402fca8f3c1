"""What several commands share: the grading options, --course, and the checks and warm-up
that run before a grading starts."""

from __future__ import annotations

import argparse


def grading_course() -> None:
    """Fail before any kernel starts when no course that can grade is at hand (exit 2)."""
    from grader.course import current

    current().solutions_dir  # noqa: B018 - raises the message naming the three ways


def add_grading_options(p: argparse.ArgumentParser) -> None:
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
    add_course_option(p)
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show what TensorFlow and other native libraries print (by default it "
        "goes to a log file in the grader's cache)",
    )


def add_course_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--course",
        metavar="PATH",
        help="the course: a bundle file, a release folder or a course folder "
        "(default: $CNN_GRADER_COURSE, else the folder the grader was installed "
        "from)",
    )
