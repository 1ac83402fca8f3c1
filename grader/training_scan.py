"""What a notebook does with its training, read from its code (never run).

- `trains_on_test_data(cells)`: where it trains on test data (fit / train_on_batch on what the
  test split's loader returned, or on something made from it), or joins training and test data;
- `budget_overrides(nb)`: budget parameters set again after the grader's injected cell;
- `weight_sources(nb)`: where the code could bring weights in instead of training them.

The first two are findings for the instructor (`grader.integrity.scan`); the overrides are also
notes for the student (the smoke profile's `grader.keras_support.budget` adds them where it
injects the cell); the weight sources back a refused model's provenance (`grader.pipeline`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from grader.code_cells import Cell, cells_of
from grader.code_cells import dotted as _dotted
from grader.code_cells import short as _short
from grader.execution.notebook import INJECTED_TAG


def trains_on_test_data(cells: list[Cell]) -> list[str]:
    """One sentence per place the notebook trains on, or joins in, test data."""
    return _TestData().findings(cells)


# -- training on test data -----------------------------------------------------------------
_TRAINING_CALLS = {"fit", "train_on_batch", "fit_generator"}
_JOINING_CALLS = {
    "concatenate",
    "vstack",
    "hstack",
    "row_stack",
    "column_stack",
    "dstack",
    "stack",
    "append",
    "concat",
    "union",
}
_NOT_DATA = {"len", "int", "float", "range", "print", "str", "round", "min", "max"}


class _TestData:
    """Which names hold test data, cell after cell, and where the notebook trains on them.

    A name holds test data when it is bound to what a `load_data()` returns for the test split
    (`(x_train, y_train), (x_test, y_test) = ...load_data()`), when its own name says so
    (`x_test`, `test_images`; not a constant such as TEST_SAMPLES), or when it is bound to an
    expression that uses such a name (`x_test = preprocess(x_test_raw)`; indices, `len()` and
    shapes excepted). Training on one (`fit`'s data, not its `validation_data`) or joining one
    with training data is a finding; evaluating on it is what test data is for.
    """

    def __init__(self) -> None:
        self.test: set[str] = set()
        self.train: set[str] = set()
        self.found: list[str] = []

    def findings(self, cells: list[Cell]) -> list[str]:
        for cell in cells:
            if cell.kind != "code" or cell.tree is None:
                continue
            for node in ast.walk(cell.tree):
                if isinstance(node, ast.Name):
                    self._by_name(node.id)
            self._cell = cell.number
            for stmt in cell.tree.body:
                self._statement(stmt)
        return self.found

    def _by_name(self, name: str) -> None:
        """A first guess from the name, for names the data flow has not placed yet."""
        lower = name.lower()
        if name.isupper() or name in self.test or name in self.train:
            return
        if "test" in lower:
            self.test.add(name)
        elif "train" in lower:
            self.train.add(name)

    def _statement(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Call):
                self._call(child)
        for child in ast.walk(node):
            if (
                isinstance(child, (ast.Assign, ast.AnnAssign, ast.AugAssign))
                and child.value is not None
            ):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    self._bind(target, child.value)

    def _bind(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts, strict=False):
                    self._bind(t, v)
                return
            if (
                isinstance(value, ast.Call)
                and _dotted(value.func).endswith("load_data")
                and len(target.elts) == 2
            ):
                self._mark(target.elts[0], self.train)
                self._mark(target.elts[1], self.test)
                return
        names = self._data_names(value)
        if names & self.test:
            self._mark(target, self.test)
        elif names & self.train:
            self._mark(target, self.train)

    def _mark(self, target: ast.AST, into: set[str]) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                (self.train if into is self.test else self.test).discard(node.id)
                into.add(node.id)

    def _data_names(self, node: ast.AST) -> set[str]:
        """The names an expression takes data from (not its indices, lengths or shapes)."""
        out: set[str] = set()

        def walk(n: ast.AST) -> None:
            if isinstance(n, ast.Subscript):
                walk(n.value)
                return
            if isinstance(n, ast.Call) and _dotted(n.func) in _NOT_DATA:
                return
            if isinstance(n, ast.Attribute) and n.attr in ("shape", "size", "ndim", "dtype"):
                return
            if isinstance(n, (ast.Lambda, ast.FunctionDef)):
                return
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                out.add(n.id)
            for child in ast.iter_child_nodes(n):
                walk(child)

        walk(node)
        return out

    def _call(self, node: ast.Call) -> None:
        func = node.func
        tail = func.attr if isinstance(func, ast.Attribute) else _dotted(func)
        if tail in _TRAINING_CALLS and isinstance(func, ast.Attribute):
            data = list(node.args[:2]) + [k.value for k in node.keywords if k.arg in ("x", "y")]
            used = (
                sorted(set().union(*[self._data_names(d) for d in data]) & self.test)
                if data
                else []
            )
            if used:
                self._add(
                    f"trains on test data: `{_short(ast.unparse(node), 70)}` uses "
                    f"{', '.join(used)}, made from the test split"
                )
        elif tail in _JOINING_CALLS:
            names = set().union(*[self._data_names(a) for a in node.args]) if node.args else set()
            if names & self.test and names & self.train:
                self._add(f"joins training and test data: `{_short(ast.unparse(node), 70)}`")

    def _add(self, text: str) -> None:
        line = f"cell {self._cell}: {text}"
        if line not in self.found:
            self.found.append(line)


# -- the training budget -------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetOverride:
    """A budget parameter set again after the grader's injected cell."""

    cell: int  # 1-based, as Jupyter numbers the cells
    name: str
    value: str  # the assigned expression, as written
    injected_cell: int

    def text(self) -> str:
        return (
            f"cell {self.cell} sets {self.name} = {_short(self.value, 40)} after the "
            f"grader's injected budget (cell {self.injected_cell})"
        )


def budget_overrides(nb: Any) -> list[BudgetOverride]:
    """Assignments, after the `injected-parameters` cell, to the names that cell sets
    (EPOCHS, TRAIN_SAMPLES, ...): the notebook then trains with its own budget, not the
    grader's. `globals()["EPOCHS"] = ...` counts too; what runs inside a function only with
    `global EPOCHS`."""
    cells = cells_of(nb)
    tags = [c.get("metadata", {}).get("tags", []) for c in nb.get("cells", [])]
    injected = next(
        (i for i, t in enumerate(tags) if isinstance(t, list) and INJECTED_TAG in t), None
    )
    tree = cells[injected].tree if injected is not None else None
    if injected is None or tree is None:
        return []
    names = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    out: list[BudgetOverride] = []
    for cell in cells[injected + 1 :]:
        if cell.kind != "code" or cell.tree is None:
            continue
        for node, name in _assignments(cell.tree):
            if name in names:
                value = getattr(node, "value", None)
                text = ast.unparse(value) if value is not None else ast.unparse(node)
                out.append(BudgetOverride(cell.number, name, text, injected + 1))
    return out


def _assignments(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """(statement, name) for each global name a cell binds, in order."""
    out: list[tuple[ast.AST, str]] = []

    def walk(node: ast.AST, globals_: set[str], top: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            declared = {n for g in ast.walk(node) if isinstance(g, ast.Global) for n in g.names}
            for statement in node.body:
                walk(statement, declared, False)
            return
        if isinstance(node, (ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name) and (top or n.id in globals_):
                        out.append((node, n.id))
                    elif (
                        isinstance(n, ast.Subscript)
                        and isinstance(n.value, ast.Call)
                        and _dotted(n.value.func) == "globals"
                        and isinstance(n.slice, ast.Constant)
                        and isinstance(n.slice.value, str)
                    ):
                        out.append((node, n.slice.value))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            for n in ast.walk(node.target):
                if isinstance(n, ast.Name) and (top or n.id in globals_):
                    out.append((node, n.id))
        for child in ast.iter_child_nodes(node):
            walk(child, globals_, top)

    for stmt in tree.body:
        walk(stmt, set(), True)
    return out


# -- weights from elsewhere ------------------------------------------------------------
_WEIGHT_CALLS = ("set_weights", "load_weights", "load_model", "assign")
_LONG_LITERAL = 10_000  # characters: a model's weights pasted in as text are far longer


def weight_sources(nb: Any) -> list[str]:
    """Where the notebook's code could bring weights in: calls of set_weights, load_weights,
    load_model or a variable's assign, and very long literals (weights pasted as text). Not a
    finding by itself (ex06 loads its best checkpoint): supporting evidence beside the training
    record's (grader.keras_support.provenance)."""
    out: list[str] = []
    for c in cells_of(nb):
        if c.tree is None:
            continue
        for node in ast.walk(c.tree):
            if isinstance(node, ast.Call):
                name = (
                    node.func.attr
                    if isinstance(node.func, ast.Attribute)
                    else (node.func.id if isinstance(node.func, ast.Name) else "")
                )
                if name in _WEIGHT_CALLS:
                    out.append(f"cell {c.number} calls {name}()")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, (str, bytes))
                and len(node.value) > _LONG_LITERAL
            ):
                out.append(f"cell {c.number} holds a literal of {len(node.value):,} characters")
    return list(dict.fromkeys(out))
