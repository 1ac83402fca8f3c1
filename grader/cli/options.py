"""What several commands share: the grading options, --course, and the checks and warm-up
that run before a grading starts."""

from __future__ import annotations

import argparse


def grading_course() -> None:
    """Fail before any kernel starts when no course that can grade is at hand (exit 2)."""
    from grader.course import current

    current().solutions_dir  # noqa: B018 - raises the message naming the three ways


def warm_up() -> None:
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
