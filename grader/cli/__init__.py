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

from grader import timing

timing.mark("cli")  # where the grader's own code starts (the process's start comes before)

from grader import __version__  # noqa: E402 - after the mark, which times the imports too
from grader.errors import ConfigurationError  # noqa: E402 - as above

# Exit codes (CONTRACT.md §2): 0 a report was written, 1 not a usable notebook, 2 a usage or
# configuration error, 3 a bug in the grader.
EXIT_BUG = 3


def build_parser() -> argparse.ArgumentParser:
    from grader.cli import authoring, grading, term

    parser = argparse.ArgumentParser(prog="cnn-grader", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cnn-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    grading.register(sub)
    authoring.register(sub)
    term.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command: `argv` None reads sys.argv (the `cnn-grader` script, `python -m
    grader.cli`), and the process exits next."""
    if argv is None:  # the command itself: a check may be served warm (grader.cli.check_server)
        from grader.cli import check_client

        served = check_client.client(sys.argv[1:])
        if served is not None:
            return served
    code = _main(argv)
    if argv is None:
        check_client.spawn(sys.argv[1:])  # for the next check, when it is one and none serves
        _about_to_exit()
    return code


def _about_to_exit() -> None:
    """The process ends next, and its memory with it: the interpreter's last collections need
    not walk the objects of every module a grading loaded (NumPy, nbclient, jupyter_client, some
    60,000): frozen, they are left to the exit. Measured on `cnn-grader check` of ex01 (2 busy
    cores): 0.15-0.6 s between the summary printed and the process gone, 0.03-0.08 s frozen.
    atexit handlers and the standard streams' flushing still run as ever."""
    import gc

    gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    with timing.span("cli.parse"):
        parser = build_parser()
        args = parser.parse_args(argv)
    return run_parsed(args)


def run_parsed(args: argparse.Namespace) -> int:
    """A parsed command line, run: its exit code, every error said as the command says it.
    `args.executor`, where set, runs its notebooks (a check server's warm kernels)."""
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
