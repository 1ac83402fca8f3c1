"""Make the student notebooks from the reference solutions, as nbgrader's `generate_assignment`.

In a solution notebook, the code between a `### BEGIN SOLUTION` line and an `### END SOLUTION`
line (at any indentation) is the answer. The student version replaces it with a stub that raises
NotImplementedError at the same indentation, and drops all outputs. exercises/ is never edited
by hand: a test fails if it drifts from what this module makes.

After each cell that defines a function with public examples (grader.selfcheck.public), the
student version gets a cell tagged `self-check` that runs them (`check(conv2d)`, from the
release's `cnn_selfcheck`). Grading blanks those cells: they are never a grade.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

from nbformat import NotebookNode

from grader import nbformat_typed
from grader.execution.notebook import SELF_CHECK_TAG

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")


class MarkerError(ValueError):
    """A solution notebook has unbalanced or nested solution markers."""


def strip_solution(source: str, *, where: str = "") -> str:
    out: list[str] = []
    indent: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if indent is not None:
                raise MarkerError(f"{where} line {number}: nested ### BEGIN SOLUTION")
            indent = begin.group(1)
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError()")
            continue
        if END.match(line):
            if indent is None:
                raise MarkerError(f"{where} line {number}: ### END SOLUTION without BEGIN")
            indent = None
            continue
        if indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: ### BEGIN SOLUTION is never closed")
    return "\n".join(out)


def solution_blocks(solution: NotebookNode) -> list[list[str]]:
    """The stripped, non-blank lines of each solution block (between the markers), per block."""
    blocks: list[list[str]] = []
    for cell in solution.cells:
        inside = False
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            if BEGIN.match(line):
                inside = True
                blocks.append([])
            elif END.match(line):
                inside = False
            elif inside and line.strip():
                blocks[-1].append(line.strip())
    return blocks


def student_version(solution: NotebookNode, *, name: str = "") -> NotebookNode:
    nb = copy.deepcopy(solution)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, where=f"{name} cell {i + 1}")
            cell.outputs = []
            cell.execution_count = None
    _add_self_checks(nb, _public_functions(Path(name).stem))
    meta = nb.metadata.setdefault("cnn_grader", {})
    meta["generated_from"] = f"solutions/{name}" if name else "solutions"
    return nb


def _public_functions(exercise_id: str) -> set[str]:
    from grader.exercises import available, get
    from grader.selfcheck.public import public_functions

    return set(public_functions(get(exercise_id))) if exercise_id in available() else set()


def _add_self_checks(nb: NotebookNode, functions: set[str]) -> None:
    """Insert a `self-check` cell after each code cell defining functions with public examples."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:
            tree = None
        names = [
            n.name
            for n in (tree.body if tree else [])
            if isinstance(n, ast.FunctionDef) and n.name in functions
        ]
        if names:
            check = nbformat_typed.new_code_cell(
                f"from cnn_selfcheck import check\ncheck({', '.join(names)})"
            )
            check.metadata["tags"] = [SELF_CHECK_TAG]
            if "id" in cell:  # ids must be stable, or the drift test would see a new one each time
                check["id"] = f"{cell['id'][:58]}-check"
            else:
                check.pop("id", None)
            cells.append(check)
    nb.cells = cells


def render(solution_path: Path) -> str:
    """The student notebook's exact text for a solution notebook."""
    solution = nbformat_typed.read(solution_path)
    return nbformat_typed.writes(student_version(solution, name=solution_path.name)) + "\n"


def generate_all(solutions: Path, exercises: Path) -> list[Path]:
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(solutions.glob("ex*.ipynb")):
        dst = exercises / src.name
        text = render(src)
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
        written.append(dst)
    return written


def drifted(solutions: Path, exercises: Path) -> list[str]:
    """Names of exercise notebooks that differ from what `generate_all` would write."""
    out = []
    for src in sorted(solutions.glob("ex*.ipynb")):
        dst = exercises / src.name
        if not dst.exists() or dst.read_text(encoding="utf-8") != render(src):
            out.append(src.name)
    return out
