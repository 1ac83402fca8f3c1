"""Flag pairs of submissions whose code is near-identical once names, comments and layout are
set aside: for an instructor to look at, never a verdict.

Each notebook's code cells are parsed (never run) and normalised: docstrings and comments go,
the code is re-printed by `ast.unparse` (so layout does not count), a function's local names
become v0, v1, ... in order of first use and other non-builtin names a single placeholder (so
renaming does not count). The token stream is cut into 5-grams and two submissions compare by
the Jaccard index of their 5-gram sets.

What the starter notebook already contains is removed first (whole cells, then every 5-gram of
it): otherwise the template's demo cells and signatures make every pair of students look alike.
A pair is only compared when both have written enough code of their own.
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import json
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SHINGLE = 5
THRESHOLD = 0.9
MIN_SHINGLES = 20
_MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
_MAX_CELL_CHARS = 200_000
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class SimilarPair:
    exercise: str
    student_a: str
    student_b: str
    score: float  # Jaccard index of the normalised code's 5-grams, in [0, 1]


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[tuple[str, ...]]


def code_cells(path: Path) -> list[str]:
    """The sources of a notebook's code cells; [] for a file that is not a readable notebook."""
    try:
        if path.stat().st_size > _MAX_NOTEBOOK_BYTES:
            return []
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return []
    cells = raw.get("cells") if isinstance(raw, dict) else None
    out = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            if isinstance(src, str):
                out.append(src[:_MAX_CELL_CHARS])
    return out


def normalise(source: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """The cell as a token stream with layout, comments, docstrings and chosen names removed.

    `keep` names stay as written (the functions the exercise asks for), as do builtins,
    attributes and keyword-argument names, which are the API a solution uses, not its naming.
    """
    return list(_normalised(source, keep))


@functools.lru_cache(maxsize=8192)
def _normalised(source: str, keep: frozenset[str]) -> tuple[str, ...]:
    """`normalise`, once per distinct cell: a class's notebooks share most cells (the starter's,
    its worked examples), and every student's fingerprint removes the starter's. Measured on
    benchmarks/batch_throughput.py's 20-notebook class (whose notebooks differ little): 1.19 s
    of similarity before, 0.10 s."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    text = "\n".join(lines)
    try:
        tree = ast.parse(text)
        tree = _Canon(keep | _BUILTINS).visit(_strip_docstrings(tree))
        text = ast.unparse(ast.fix_missing_locations(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return tuple(_tokens(text, rename=True))
    return tuple(_tokens(text, rename=False))


def fingerprint(cells: Sequence[str], starter: Sequence[str] = ()) -> Fingerprint:
    """The 5-grams of what this student wrote beyond the starter notebook."""
    keep = _defined_names(starter)
    starter_cells = [tuple(normalise(c, keep)) for c in starter]
    starter_grams = (
        set().union(*(_grams(list(c)) for c in starter_cells)) if starter_cells else set()
    )
    seen = set(starter_cells)
    stream: list[str] = []
    for cell in cells:
        tokens = normalise(cell, keep)
        if tokens and tuple(tokens) not in seen:
            stream += tokens + ["<cell>"]
    return Fingerprint(frozenset(_grams(stream) - starter_grams))


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    if not a.shingles or not b.shingles:
        return 0.0
    return len(a.shingles & b.shingles) / len(a.shingles | b.shingles)


def similar_pairs(
    exercise: str,
    notebooks: Mapping[str, Path],
    *,
    starter: Path | None = None,
    threshold: float = THRESHOLD,
    min_shingles: int = MIN_SHINGLES,
) -> list[SimilarPair]:
    """Pairs of students (of one exercise) at or above `threshold`, most similar first."""
    starter_cells = code_cells(starter) if starter is not None and starter.is_file() else []
    prints = {s: fingerprint(code_cells(p), starter_cells) for s, p in notebooks.items()}
    students = sorted(s for s, f in prints.items() if len(f.shingles) >= min_shingles)
    pairs = []
    for i, a in enumerate(students):
        fa = prints[a].shingles
        for b in students[i + 1 :]:
            fb = prints[b].shingles
            small, large = sorted((len(fa), len(fb)))
            if small < threshold * large:  # Jaccard <= |small| / |large|: cannot reach it
                continue
            score = similarity(prints[a], prints[b])
            if score >= threshold:
                pairs.append(SimilarPair(exercise, a, b, round(score, 3)))
    return sorted(pairs, key=lambda p: (-p.score, p.student_a, p.student_b))


def _grams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + SHINGLE]) for i in range(max(0, len(tokens) - SHINGLE + 1))}


def _defined_names(cells: Sequence[str]) -> frozenset[str]:
    """Top-level functions and classes of the starter: the names the exercise fixes."""
    names: set[str] = set()
    for cell in cells:
        try:
            tree = ast.parse(cell)
        except (SyntaxError, ValueError, RecursionError):
            continue
        names |= {
            n.name
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
    return frozenset(names)


def _tokens(text: str, *, rename: bool) -> list[str]:
    """Python tokens without layout; `rename` for code that did not parse (names become `g`)."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.ENCODING,
                tokenize.ENDMARKER,
            ):
                continue
            if tok.type == tokenize.INDENT:
                out.append("<in>")
            elif tok.type == tokenize.DEDENT:
                out.append("<de>")
            elif (
                rename
                and tok.type == tokenize.NAME
                and tok.string not in _BUILTINS
                and not _is_keyword(tok.string)
            ):
                out.append("g")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return out or text.split()  # the tokens read before the error still say something
    return out


def _is_keyword(word: str) -> bool:
    import keyword

    return keyword.iskeyword(word) or keyword.issoftkeyword(word)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [
            s
            for s in body
            if not (
                isinstance(s, ast.Expr)
                and isinstance(s.value, ast.Constant)
                and isinstance(s.value.value, str)
            )
        ]
        if len(kept) != len(body):
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]  # node has a body (checked by the walk)
    return tree


_Scope = dict[str, str]
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


class _Canon(ast.NodeTransformer):
    """Rename a function's locals to v0, v1, ... by first use; other names to `g`."""

    def __init__(self, keep: frozenset[str]) -> None:
        self.keep = keep
        self.scopes: list[tuple[set[str], _Scope]] = []

    def _name(self, name: str) -> str:
        for local, mapping in reversed(self.scopes):
            if name in local:
                if name not in mapping:
                    mapping[name] = f"v{len(mapping)}"
                return mapping[name]
        return name if name in self.keep else "g"

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> ast.AST:
        if not isinstance(node, ast.Lambda):
            node.name = self._name(node.name)
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args = self.visit(node.args)  # defaults belong to the enclosing scope...
        self.scopes.append((_locals(node), {}))
        for arg in [
            *node.args.posonlyargs,
            *node.args.args,
            *node.args.kwonlyargs,
            node.args.vararg,
            node.args.kwarg,
        ]:
            if arg is not None:  # ...the parameters to this one, numbered first
                arg.arg = self._name(arg.arg)
        if isinstance(node, ast.Lambda):
            node.body = self.visit(node.body)
        else:
            node.body = [self.visit(s) for s in node.body]
            node.returns = None
        self.scopes.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._function(node)

    def visit_arguments(self, node: ast.arguments) -> ast.arguments:
        node.defaults = [self.visit(d) for d in node.defaults]
        node.kw_defaults = [self.visit(d) if d is not None else None for d in node.kw_defaults]
        for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
            if arg is not None:
                arg.annotation = None
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self._name(node.name)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._name(node.id)
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        node.names = [self._name(n) for n in node.names]
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        node.names = [self._name(n) for n in node.names]
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        if node.asname:
            node.asname = self._name(node.asname)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self._name(node.name)
        return self.generic_visit(node)


def _locals(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Parameters and names bound in the function's own body (not in nested functions)."""
    a = func.args
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
    stack: list[ast.AST] = [func.body] if isinstance(func, ast.Lambda) else list(func.body)
    declared_global: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global |= set(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack += getattr(node, "decorator_list", [])
            continue
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        stack.extend(ast.iter_child_nodes(node))
    return names - declared_global
