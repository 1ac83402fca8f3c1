"""Layers point one way: cli → api → calibrate → pipeline → {execution, checks, reporting} →
models. Held here on the import graph of the grader's own modules, read from their source
(imports inside functions included: a deferred import is still a dependency), and on what a
fresh interpreter loads for `import grader`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"
HEAVY = ("nbclient", "jupyter_client", "grader.execution.sandbox", "tensorflow")


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=1)
def graph() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """module → (grader modules it imports at module level, those it imports in functions).
    Imports under `if TYPE_CHECKING:` are not dependencies."""
    paths = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    out = {}
    for name, path in paths.items():
        top: set[str] = set()
        deferred: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(
            node: ast.AST,
            in_function: bool,
            deferred: set[str] = deferred,
            top: set[str] = top,
            package: str = package,
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                found = deferred if inner else top
                if isinstance(child, ast.Import):
                    found.update(a.name for a in child.names if a.name.startswith("grader"))
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        up = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join(up + ([base] if base else []))
                    if base.startswith("grader"):
                        found.update(
                            f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                            for a in child.names
                        )
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
        out[name] = (frozenset(top & paths.keys()), frozenset(deferred & paths.keys()))
    # The registry imports its exercise modules by name (importlib), on first use.
    registry = "grader.exercises"
    out[registry] = (
        out[registry][0],
        out[registry][1] | {m for m in paths if m.startswith(registry + ".ex")},
    )
    return out


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for nxt in set().union(*graph()[stack.pop()]):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def cycles(*, deferred: bool) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    g = {m: (top | low) if deferred else top for m, (top, low) in graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            strong(v)
    return sorted(out)


def test_the_graph_is_read() -> None:
    assert "grader.models" in graph()["grader.checks.core"][0]
    assert "grader.checks.outcomes" in graph()["grader.checks.expect"][0]  # a relative import
    assert "grader.pipeline" in reachable("grader.calibrate")


def test_no_import_cycles() -> None:
    """None at all, deferred imports included: two modules that need each other split into a
    third that both use (grader.code_cells, grader.checks.values)."""
    assert cycles(deferred=False) == []
    assert cycles(deferred=True) == []


@pytest.mark.parametrize(
    "package, forbidden",
    [
        # a check is a function of evidence and context: it starts no grading, no calibration
        (
            "grader.keras_support",
            (
                "grader.api",
                "grader.pipeline",
                "grader.calibrate",
                "grader.exercises",
                "grader.batch",
                "grader.cli",
            ),
        ),
        (
            "grader.checks",
            (
                "grader.execution",
                "grader.api",
                "grader.pipeline",
                "grader.calibrate",
                "grader.keras_support",
                "grader.exercises",
            ),
        ),
        ("grader.models", ("grader.",)),
        ("grader.options", ("grader.api", "grader.pipeline", "grader.calibrate")),
        ("grader.pipeline", ("grader.api", "grader.calibrate", "grader.exercises")),
    ],
)
def test_layers_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    for module in sorted(m for m in graph() if m == package or m.startswith(package + ".")):
        bad = sorted(
            m for m in reachable(module) if m.startswith(forbidden) and not m.startswith(package)
        )
        assert not bad, f"{module} imports {bad}"


def _loaded_by(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [
        m
        for m in json.loads(out.splitlines()[-1])
        if any(m == h or m.startswith(h + ".") for h in HEAVY)
    ]


@pytest.mark.parametrize(
    "code",
    [
        "import grader",
        "from grader import GradeResult, Options, __version__",
        "import grader.keras_support.evaluate",  # what the Keras evaluation subprocess imports
    ],
)
def test_importing_grader_loads_no_kernel_machinery(code: str) -> None:
    assert _loaded_by(code) == []


def test_the_public_names_still_load_on_use() -> None:
    # grading's machinery (nbclient itself loads with the first kernel: grader.execution.kernel)
    assert "grader.execution.sandbox" in _loaded_by("import grader\ngrader.grade")
