"""exercises/ is made from solutions/ by grader.generate and never edited by hand.

The drift test fails as soon as a student notebook differs from what its solution generates
(someone edited exercises/, or changed a solution without running `cnn-grader generate`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from grader.course import exercises_dir, solutions_dir
from grader.generate import MarkerError, drifted, generate_all, render, strip_solution

SOLUTIONS = sorted(p.name for p in solutions_dir().glob("ex*.ipynb"))


@pytest.mark.parametrize("name", SOLUTIONS)
def test_exercise_notebook_is_what_its_solution_generates(name: str) -> None:
    student = exercises_dir() / name
    assert student.is_file(), f"exercises/{name} is missing: run `cnn-grader generate`"
    assert student.read_text(encoding="utf-8") == render(solutions_dir() / name), (
        f"exercises/{name} differs from what solutions/{name} generates; edit the solution "
        "and run `cnn-grader generate` instead of editing exercises/ by hand"
    )


def test_drift_is_detected_and_repaired(tmp_path: Path) -> None:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    for name in ("ex01_convolution.ipynb", "ex02_pooling.ipynb"):
        shutil.copy(solutions_dir() / name, solutions / name)
    assert drifted(solutions, exercises) == ["ex01_convolution.ipynb", "ex02_pooling.ipynb"]
    generate_all(solutions, exercises)
    assert drifted(solutions, exercises) == []

    edited = exercises / "ex02_pooling.ipynb"
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("# YOUR CODE HERE", "# your code here"),
        encoding="utf-8",
    )
    assert drifted(solutions, exercises) == ["ex02_pooling.ipynb"]


def test_student_version_keeps_no_solution_and_no_outputs() -> None:
    for name in SOLUTIONS:
        nb = nbformat.reads(render(solutions_dir() / name), as_version=4)
        assert nb.metadata["cnn_grader"]["generated_from"] == f"solutions/{name}"
        for cell in nb.cells:
            assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


SOLVED = '''def f(x):
    """Doc."""
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION

### BEGIN SOLUTION
answer = 42
### END SOLUTION
print("kept")'''

STUBBED = '''def f(x):
    """Doc."""
    # YOUR CODE HERE
    raise NotImplementedError()

# YOUR CODE HERE
raise NotImplementedError()
print("kept")'''


def test_strip_solution_replaces_each_block_at_its_indentation() -> None:
    assert strip_solution(SOLVED) == STUBBED


def test_strip_solution_leaves_cells_without_markers_alone() -> None:
    assert strip_solution("import numpy as np\nx = 1") == "import numpy as np\nx = 1"
    assert strip_solution("") == ""


def test_markers_tolerate_trailing_spaces_and_tabs() -> None:
    assert strip_solution("\t### BEGIN SOLUTION  \n\tx = 1\n\t### END SOLUTION\t") == (
        "\t# YOUR CODE HERE\n\traise NotImplementedError()"
    )


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without BEGIN"),
        ("### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n### END SOLUTION", "nested"),
    ],
)
def test_unbalanced_markers_raise(source: str, words: str) -> None:
    with pytest.raises(MarkerError, match=words):
        strip_solution(source, where="ex99 cell 3")
    assert issubclass(MarkerError, ValueError)
