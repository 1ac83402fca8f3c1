"""Fixtures shared by the whole suite.

Kept light on purpose: nothing here imports TensorFlow or starts a kernel at collection time,
so `pytest --co` stays instant and xdist workers start fast. Everything a test writes goes to
its own tmp_path, never to a fixed folder, so tests can run in parallel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import helpers
import pytest
from nbformat import NotebookNode

from grader import GradeResult

# The `cnn-grader check` commands the tests run leave no check server behind (each test that
# wants one says so: tests/execution/test_check_server.py).
os.environ.setdefault("CNN_GRADER_CHECK_SERVER", "off")


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """`make_notebook(["import numpy as np", "def f(): ..."], exercise="ex02_pooling")` writes a
    notebook of those code cells under tmp_path and returns its path. A NotebookNode is
    accepted as well; `name` picks the file name (the grader may infer the exercise from it)."""

    def make(
        cells: Sequence[str] | NotebookNode,
        exercise: str | None = None,
        *,
        name: str = "submission.ipynb",
    ) -> Path:
        return helpers.write_notebook(tmp_path, name, cells, exercise)

    return make


@pytest.fixture
def grade_nb() -> Callable[..., GradeResult]:
    """`grade_nb(path, exercise=None, seed=1234, **options)`: grade through the public API."""

    def run(
        path: Path, exercise: str | None = None, seed: int = helpers.SEED, **options: Any
    ) -> GradeResult:
        return helpers.grade_nb(path, exercise, seed, **options)

    return run
