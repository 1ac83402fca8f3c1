"""How Jupyter runs a submission, read from its code (never run): notes for the student.

`structure_notes(nb, names)`, plain sentences that name the cell, where it matters: a graded
function defined twice, defined only in a markdown cell, used before the cell that defines it;
duplicated cells; shell escapes and magics that behave differently during grading; a kernel
other than python3. Cells are read by `grader.code_cells`.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from grader.code_cells import PYTHON_CELL_MAGICS, Cell, cells_of
from grader.code_cells import short as _short

_INSTALL = re.compile(r"^\s*(!|%)\s*(pip|pip3|conda|mamba|apt|apt-get|uv)\b.*\binstall\b")


def _top_level_defs(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
    return names


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name a cell binds at top level (defs, classes, imports, assignments)."""
    names: set[str] = set(_top_level_defs(tree))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _loaded_at_run_time(tree: ast.Module) -> list[str]:
    """Names a cell reads while it runs (not inside function bodies, which run later)."""
    out: list[str] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            out.append(node.id)
        for child in ast.iter_child_nodes(node):
            walk(child)

    for stmt in tree.body:
        walk(stmt)
    return out


def _cells_list(numbers: Sequence[int]) -> str:
    text = [str(n) for n in numbers]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def structure_notes(nb: Any, graded: Iterable[str] = ()) -> list[str]:
    """Notes for the report on how the notebook runs, where it differs from what a student
    probably expects. `graded` are the names the checks call."""
    graded = set(graded)
    cells = cells_of(nb)
    code = [c for c in cells if c.kind == "code" and c.source.strip()]
    notes: list[str] = []

    kernelspec = nb.get("metadata", {}).get("kernelspec", {}) or {}
    kname = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    if kname and kname not in ("python3", "python", "python3.10", "python3.11", "python3.12"):
        notes.append(
            f"the notebook asks for the kernel {str(kname)[:40]!r}; it was run with "
            "Python 3 (python3), as every submission is"
        )
    if not code:
        notes.append("the notebook has no code cells")

    defined_in: dict[str, list[int]] = defaultdict(list)
    for c in code:
        if c.tree is not None:
            for name in _top_level_defs(c.tree):
                defined_in[name].append(c.number)
    for name in sorted(graded):
        where = defined_in.get(name, [])
        if len(where) > 1:
            notes.append(
                f"the function {name} is defined {len(where)} times (cells "
                f"{_cells_list(where)}); the last definition that ran (cell {where[-1]}) "
                "was graded"
            )

    for c in cells:
        if c.kind in ("markdown", "raw"):
            for name in sorted(graded):
                if re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", c.source, re.M):
                    extra = "" if defined_in.get(name) else " (no code cell defines it)"
                    notes.append(
                        f"cell {c.number} is a {c.kind} cell but holds the definition "
                        f"of {name}: it was not run{extra}; change it back to a code cell"
                    )

    earlier: set[str] = set(dir(builtins))
    reported: set[str] = set()
    for c in code:
        if c.tree is None:
            continue
        for name in _loaded_at_run_time(c.tree):
            later = [n for n in defined_in.get(name, []) if n > c.number]
            if name not in earlier and later and name not in reported:
                reported.add(name)
                notes.append(
                    f"cell {c.number} uses {name} before it is defined (cell "
                    f"{later[0]}): Jupyter runs the cells from top to bottom, and so "
                    "does the grader"
                )
        earlier |= _bound_names(c.tree)

    seen: dict[str, int] = {}
    for c in code:
        key = c.source.strip()
        if key in seen and ("\n" in key or key.startswith(("def ", "class "))):
            notes.append(f"cells {seen[key]} and {c.number} hold the same code: it ran twice")
        seen.setdefault(key, c.number)

    for c in code:
        notes += _special_notes(c)
    return notes


def _special_notes(c: Cell) -> list[str]:
    out = []
    installs = [s for s in c.specials if _INSTALL.match(s)]
    if installs:
        out.append(
            f"cell {c.number} installs packages ({_short(installs[0])}); there is no "
            "network during grading, so installs fail: use only the course's packages"
        )
    shell = [s for s in c.specials if s.startswith("!") and s not in installs]
    if shell or c.cell_magic in ("bash", "sh", "script", "system"):
        what = shell[0] if shell else f"%%{c.cell_magic}"
        out.append(
            f"cell {c.number} runs shell commands ({_short(what)}); they run inside the "
            "grader's sandbox, without network"
        )
    if c.cell_magic == "timeit":
        out.append(
            f"cell {c.number} starts with %%timeit: IPython runs it in a timing loop and "
            "keeps none of its definitions"
        )
    elif c.cell_magic == "writefile":
        out.append(f"cell {c.number} starts with %%writefile: it writes a file and runs nothing")
    elif c.cell_magic and c.cell_magic not in PYTHON_CELL_MAGICS | {
        "bash",
        "sh",
        "script",
        "system",
        "html",
        "markdown",
        "latex",
        "javascript",
        "js",
        "svg",
    }:
        out.append(
            f"cell {c.number} starts with the cell magic %%{c.cell_magic}: its body is "
            "not run as Python"
        )
    for s in c.specials:
        m = re.match(r"^%(run|load|reset|cd|load_ext)\b", s)
        if m:
            what = {
                "run": "runs another file, which is not part of the submission",
                "load": "loads another file, which is not part of the submission",
                "reset": "deletes every variable defined before it",
                "cd": "changes the working folder",
                "load_ext": "loads an IPython extension",
            }[m.group(1)]
            out.append(f"cell {c.number} uses %{m.group(1)} ({_short(s)}): it {what}")
    return out
