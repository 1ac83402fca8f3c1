"""What outside code may rely on: the package's public names and the CLI's subcommands.

Everything else is private and may change; changing these needs a deliberate edit here (and a
note in CONTRACT.md where it names them).
"""

from __future__ import annotations

import inspect

import grader
from grader.cli import build_parser


def test_public_names_are_pinned() -> None:
    assert grader.__all__ == ["GradeResult", "Options", "__version__", "grade", "write_reports"]
    for name in grader.__all__:
        assert hasattr(grader, name), name
    assert isinstance(grader.__version__, str) and grader.__version__


def test_grade_takes_a_path_and_keyword_options() -> None:
    params = inspect.signature(grader.grade).parameters
    assert list(params) == ["path", "options"]
    assert params["options"].default is None
    options = grader.Options(seed=3)
    assert options.seed == 3 and options.exercise is None


def test_cli_subcommands_are_pinned() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    # The contract's commands must stay; new ones may be added.
    assert {"grade", "check", "list", "generate", "batch"} <= set(sub.choices)
    grade = sub.choices["grade"]
    options = {s for a in grade._actions for s in a.option_strings}
    assert {"--exercise", "--out", "--profile"} <= options
