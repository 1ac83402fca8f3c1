"""Building and grading small notebooks for the tests, without touching the course folders.

Tests describe a submission as a list of code-cell sources; these helpers turn it into a
notebook file in the test's own tmp_path (so tests can run in parallel) and grade it through
the public API, with a fixed seed so that a failing test can be replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader import GradeResult, Options, grade
from grader.checks.reference import definitions_source
from grader.course import exercises_dir, solutions_dir
from grader.exercises import available, get

SEED = 1234


def _numpy_exercises() -> tuple[str, ...]:
    """Every discovered exercise that needs no TensorFlow: a new one is pinned by the contract
    tests (solution full marks, starter all not_attempted) as soon as its module exists."""
    return tuple(e for e in available() if not get(e).needs_tensorflow)


# The NumPy exercises, found from grader/exercises/exNN_*.py (never a hand-kept list).
NUMPY_EXERCISES = _numpy_exercises()


def build_notebook(sources: Iterable[str], exercise: str | None = None) -> NotebookNode:
    """A notebook of code cells; `exercise` goes into the metadata the grader reads first."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if exercise is not None:
        nb.metadata["cnn_grader"] = {"exercise": exercise}
    return nb


def write_notebook(
    directory: Path, name: str, nb: NotebookNode | Sequence[str], exercise: str | None = None
) -> Path:
    """Write `nb` (a notebook, or a list of code-cell sources) as `directory/name`."""
    if not isinstance(nb, NotebookNode):
        nb = build_notebook(nb, exercise)
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def solution_path(exercise: str) -> Path:
    return solutions_dir() / f"{exercise}.ipynb"


def starter_path(exercise: str) -> Path:
    return exercises_dir() / f"{exercise}.ipynb"


def solution_notebook(exercise: str) -> NotebookNode:
    return nbformat.read(solution_path(exercise), as_version=4)


def with_cells(nb: NotebookNode, *sources: str) -> NotebookNode:
    """A copy of `nb` with code cells appended: their definitions win over the earlier ones."""
    out = nbformat.reads(nbformat.writes(nb), as_version=4)
    out.cells.extend(nbformat.v4.new_code_cell(s) for s in sources)
    return out


def solution_definitions(exercise: str) -> str:
    """Only the imports and definitions of a solution notebook: a correct submission that runs
    in a fraction of a second (no plots, no worked examples)."""
    return definitions_source(solution_notebook(exercise))


def grade_nb(
    path: Path, exercise: str | None = None, seed: int = SEED, **options: Any
) -> GradeResult:
    """Grade through the public API with a fixed seed; extra keywords go to `Options`."""
    return grade(Path(path), Options(exercise=exercise, seed=seed, **options))


def statuses(result: GradeResult) -> dict[str, str]:
    return {c.id: c.status.value for c in result.checks}


def not_passed(result: GradeResult) -> set[str]:
    return {c.id for c in result.checks if c.status.value != "passed"}


def by_id(result: GradeResult) -> dict[str, Any]:
    return {c.id: c for c in result.checks}


def describe(result: GradeResult) -> str:
    """A compact view for assertion messages: execution, then every check that did not pass."""
    ex = result.execution
    lines = [f"execution {ex.status.value}: {ex.message}"]
    lines += [f"  cell {p.cell_index}: {p.kind} {p.ename}: {p.evalue}" for p in ex.problems]
    lines += [
        f"  {c.id}: {c.status.value}: {c.message[:300]}"
        for c in result.checks
        if c.status.value != "passed"
    ]
    return "\n".join(lines)
