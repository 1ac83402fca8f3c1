"""A notebook's cells as the code analyses read them (grader.integrity, grader.training_scan,
grader.notebook_structure): each cell's number as Jupyter shows it, its source as plain Python
(IPython's special lines blanked, line numbers kept) and its syntax tree; and two small helpers
on trees and text."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

# Cell magics whose body is Python (the others, `%%bash` say, are not read as Python).
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_ASSIGN_SHELL = re.compile(r"^(\s*)([\w.\[\], ]+=\s*)[!%](.*)$")


@dataclass
class Cell:
    """One notebook cell as the analyses see it: its number for humans, its Python, its tree."""

    number: int  # 1-based position among all cells, as Jupyter shows them
    kind: str
    source: str
    python: str = ""
    specials: list[str] = field(default_factory=list)  # IPython lines: "!pip install x", "%%bash"
    cell_magic: str = ""
    tree: ast.Module | None = None


def python_source(source: str) -> tuple[str, list[str], str]:
    """(the cell as plain Python, the IPython special lines, the cell magic's name or "")."""
    lines = source.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    magic = ""
    specials: list[str] = []
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split(" ", 1)[0]
        specials.append(lines[first].strip())
        if magic not in PYTHON_CELL_MAGICS:
            return "", specials, magic
        lines = [""] * (first + 1) + lines[first + 1 :]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        m = _ASSIGN_SHELL.match(line)
        if stripped.startswith(("!", "%")):
            specials.append(stripped)
            out.append(indent + "pass")
        elif m and not stripped.startswith(("#",)) and "==" not in m.group(2):
            specials.append(stripped)
            out.append(f"{m.group(1)}{m.group(2)}None")
        elif stripped.endswith("?") and not stripped.startswith("#") and "=" not in stripped:
            out.append(indent + "pass")  # `np.convolve?`: IPython's help
        else:
            out.append(line)
    return "\n".join(out), specials, magic


def cells_of(nb: Any) -> list[Cell]:
    out = []
    for i, raw in enumerate(nb.get("cells", [])):
        source = raw.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cell = Cell(number=i + 1, kind=str(raw.get("cell_type", "")), source=source)
        if cell.kind == "code":
            cell.python, cell.specials, cell.cell_magic = python_source(source)
            try:
                cell.tree = ast.parse(cell.python)
            except (SyntaxError, ValueError):
                cell.tree = None
        out.append(cell)
    return out


def dotted(node: ast.AST) -> str:
    """`np.testing.assert_allclose` for an Attribute chain, "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call) and dotted(node.func) == "get_ipython":
        parts.append("get_ipython()")
        return ".".join(reversed(parts))
    return ""


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
