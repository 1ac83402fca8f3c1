"""One cell numbering everywhere: the number Jupyter shows after Restart & Run All."""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import nbformat

from grader.execution import cells
from grader.reporting import write_reports


def _nb() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    injected = nbformat.v4.new_code_cell("EPOCHS = 1")
    injected.metadata["tags"] = [cells.INJECTED_TAG]
    selfcheck = nbformat.v4.new_code_cell("")  # blanked for grading, numbered for the student
    selfcheck.metadata["tags"] = ["self-check"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Ex"),
        nbformat.v4.new_code_cell("import numpy as np"),  # [1]
        injected,  # grader's
        nbformat.v4.new_code_cell(
            "def zero_pad(x, pad):\n    y = 1\n    return x[None] + undefined_name\n"
        ),  # [2]
        selfcheck,  # [3]
        nbformat.v4.new_code_cell("   "),  # empty: none
        nbformat.v4.new_code_cell("zero_pad(np.zeros(3), 1)"),  # [4]
        nbformat.v4.new_code_cell("1/0"),
    ]  # [5]
    return nb


def test_numbers_skip_markdown_empty_and_grader_cells() -> None:
    assert cells.student_numbers(_nb()) == {1: 1, 3: 2, 4: 3, 6: 4, 7: 5}


def test_traceback_references_become_cell_and_line() -> None:
    nb = _nb()
    name = cells.murmur2(nb.cells[3].source)
    text = (
        f'Cell In[9], line 1\n  File "/tmp/cnn-grader-x/home/ipykernel_301/{name}.py", '
        f"line 3, in zero_pad\nFile /tmp/ipykernel_7/{name}.py:3, in zero_pad(x, pad)\n"
        'Cell In[2], line 4\n  File "/tmp/ipykernel_7/12345.py", line 1'
    )
    out = cells.student_frames(text, nb, {9: 6})
    assert out.splitlines()[:3] == [
        "cell 4, line 1",
        "  cell 2, line 3, in zero_pad",
        "cell 2, line 3, in zero_pad(x, pad)",
    ]
    assert "Cell In[2], line 4" in out and "12345.py" in out  # unknown: left as they are


def test_a_graded_notebook_numbers_cells_as_jupyter_does(tmp_path: Path) -> None:
    nb = _nb()
    del nb.cells[2]  # the grader injects its own cells; a student notebook has none
    path = tmp_path / "ex01.ipynb"
    nbformat.write(nb, path)
    result = helpers.grade_nb(path, "ex01_convolution", helpers.SEED)
    problems = {p.ename: p for p in result.execution.problems}
    assert problems["NameError"].cell == 4 and problems["ZeroDivisionError"].cell == 5
    assert "cell 4, line 1" in problems["NameError"].traceback
    assert "cell 2, line 3, in zero_pad" in problems["NameError"].traceback
    assert "ipykernel_" not in problems["NameError"].traceback
    message = helpers.by_id(result)["zero_pad_int_2d"].message
    assert "cell 2, line 3, in zero_pad" in message and "ipykernel_" not in message
    paths = write_reports(result, tmp_path / "out", "ex01")
    data = json.loads(paths["json"].read_text())
    assert {p["cell"] for p in data["execution"]["problems"]} == {4, 5}
    html = paths["html"].read_text()
    assert "cell 4" in html.lower() and "ipykernel_" not in html
