"""The reference solution, taken from the solution notebook itself (one source of truth).

Only the definitions are executed, in the grader process: top-level imports, functions and
classes of every code cell. Imports that no definition uses are skipped, so plotting or
training code in the notebook costs nothing here. The notebook is instructor-owned and trusted.
"""

from __future__ import annotations

import ast
import functools
import types
from pathlib import Path

import nbformat

from grader import nbformat_typed
from grader.errors import ConfigurationError


def _used_names(defs: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in defs:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def _bound_names(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def definitions_source(nb: nbformat.NotebookNode) -> str:
    """Python source with the notebook's imports and definitions, and nothing else."""
    imports: list[ast.stmt] = []
    defs: list[ast.stmt] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # magics; a solution notebook should not need them for definitions
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs.append(node)
    used = _used_names(defs)
    keep = [n for n in imports if _bound_names(n) & used]  # type: ignore[arg-type]  # imports holds only Import/ImportFrom
    module = ast.Module(body=keep + defs, type_ignores=[])
    return ast.unparse(module)


@functools.lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> types.ModuleType:
    nb = nbformat_typed.read(path)
    module = types.ModuleType(f"reference_{Path(path).stem}")
    module.__file__ = path
    code = compile(definitions_source(nb), f"<reference {Path(path).name}>", "exec")
    exec(code, module.__dict__)  # noqa: S102 - instructor-owned solution notebook
    return module


def load_reference(path: Path) -> types.ModuleType:
    """The reference functions of a solution notebook, as a module (cached per file version)."""
    if not path.is_file():
        raise ConfigurationError(f"solution notebook {path} is missing")
    return _load(str(path), path.stat().st_mtime)
