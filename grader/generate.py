"""Make the student notebooks from the reference solutions, as nbgrader's `generate_assignment`.

In a solution notebook, the code between a `### BEGIN SOLUTION` line and an `### END SOLUTION`
line (at any indentation) is the answer. The student version replaces it with a stub that raises
NotImplementedError at the same indentation, and drops all outputs. exercises/ is never edited
by hand: a test fails if it drifts from what this module makes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

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


def student_version(solution: NotebookNode, *, name: str = "") -> NotebookNode:
    nb = copy.deepcopy(solution)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, where=f"{name} cell {i + 1}")
            cell.outputs = []
            cell.execution_count = None
    meta = nb.metadata.setdefault("cnn_grader", {})
    meta["generated_from"] = f"solutions/{name}" if name else "solutions"
    return nb


def render(solution_path: Path) -> str:
    """The student notebook's exact text for a solution notebook."""
    solution = nbformat.read(solution_path, as_version=4)
    return nbformat.writes(student_version(solution, name=solution_path.name)) + "\n"


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
