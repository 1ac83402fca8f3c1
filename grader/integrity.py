"""Read a submission's code, never run it: findings for the instructor, notes for the student.

Two kinds of output, both plain sentences that name the cell:

- `scan(nb)`: integrity findings for the instructor (`GradeResult.integrity`): code that
  imports the grader, refers to the reference solutions or the grader's probe, reads files
  outside its own folder, inspects the interpreter (gc.get_objects, stack frames), hooks into
  IPython's events, patches NumPy, builtins or Keras' saving (assignment, setattr,
  `__dict__`), trains on test data (fit/train_on_batch on what the test split's loader
  returned, or on something made from it, such as training and test data joined), or sets the
  training budget again after the grader's injected cell. They never change a score: the
  grading already cannot be fooled by these (the checks run in the grader process, on test
  images the kernel never received, with Keras' saving kept from before the notebook ran), and
  a false positive must not cost a student points. They tell the instructor where to look.
- `structure_notes(nb, names)`: how Jupyter runs this notebook, where it matters: a graded
  function defined twice, defined only in a markdown cell, used before the cell that defines
  it; duplicated cells; shell escapes and magics that behave differently during grading; a
  kernel other than python3.

Cells are parsed with `ast` after IPython's own syntax (`!cmd`, `%magic`, `%%cell`) is blanked
out; a cell that still does not parse is searched with regular expressions instead.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from grader.code_cells import PYTHON_CELL_MAGICS as PYTHON_CELL_MAGICS  # noqa: F401 - re-exported
from grader.code_cells import Cell, cells_of
from grader.code_cells import dotted as _dotted
from grader.code_cells import python_source as python_source  # noqa: F401 - re-exported
from grader.code_cells import short as _short

GRADER_MODULES = {"grader", "cnn_grader"}
PROBE_NAMES = (".cnn_grader_probe", "__cnn_grader_probe__", "cnn_grader_probe")
_SOLUTIONS = re.compile(r"(^|[/\\])solutions([/\\]|$)|^solutions$")
_OUTSIDE = re.compile(r"^(/[\w.\-]+|~[/\\]|\.\.([/\\]|$))")
_HARMLESS_PATHS = {"/dev/null", "/dev/stdout", "/dev/stderr"}
_INSTALL = re.compile(r"^\s*(!|%)\s*(pip|pip3|conda|mamba|apt|apt-get|uv)\b.*\binstall\b")
_REGEX_FINDINGS = (
    (re.compile(r"^\s*(import|from)\s+(grader|cnn_grader)\b", re.M), "imports the grader"),
    (re.compile(r"solutions[/\\]"), "refers to the reference solutions"),
    (re.compile(r"\.?_*cnn_grader_probe_*"), "refers to the grader's probe"),
    (re.compile(r"gc\.get_(objects|referrers)"), "inspects every object of the interpreter"),
    (re.compile(r"sys\.modules\s*\["), "reaches into sys.modules"),
    (re.compile(r"['\"]\.\.[/\\]"), "reads files outside its own folder"),
)
_FILE_READERS = {
    "open",
    "load",
    "loadtxt",
    "genfromtxt",
    "read_csv",
    "read_text",
    "read_bytes",
    "listdir",
    "scandir",
    "walk",
    "glob",
    "iglob",
    "Path",
    "copy",
    "copyfile",
    "exists",
    "isfile",
    "isdir",
    "fromfile",
    "imread",
    "load_model",
    "execfile",
}
_KERAS_MODULES = {"keras", "tensorflow", "tf", "tf_keras"}
# What decides what a saved model file holds: replacing one of these changes what is saved.
_SAVING = {
    "save",
    "save_model",
    "save_weights",
    "saving_lib",
    "saving_api",
    "_save_state",
    "save_own_variables",
    "serialize_keras_object",
    "get_config",
    "save_assets",
}
_KERAS_CLASSES = {"Model", "Sequential", "Functional", "Layer"}
_SAVING_NOTE = (
    "Keras' saving patched: the grader saved the notebook's model with Keras' own "
    "saving function, kept from before the notebook ran"
)


# -- integrity --------------------------------------------------------------------------
class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []
        self.module_aliases: dict[str, str] = {}

    def add(self, text: str) -> None:
        if text not in self.found:
            self.found.append(text)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            self.module_aliases[alias.asname or top] = alias.name if alias.asname else top
            if top in GRADER_MODULES:
                self.add(f"imports the grader (`import {alias.name}`)")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        top = (node.module or "").split(".")[0]
        if top in GRADER_MODULES and node.level == 0:
            self.add(f"imports the grader (`from {node.module} import …`)")
        if top in _KERAS_MODULES and node.level == 0:  # `from keras.src.saving import saving_lib`
            for alias in node.names:
                self.module_aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _keras_object(self, node: ast.AST) -> str:
        """The dotted name of `node` when it names something of Keras/TensorFlow (a module, a
        class such as keras.Model), else ""."""
        name = _dotted(node)
        if not name:
            return ""
        head = name.split(".", 1)[0]
        module = self.module_aliases.get(head, head)
        if module.split(".")[0] in _KERAS_MODULES or name.rsplit(".", 1)[-1] in _KERAS_CLASSES:
            return name
        return ""

    def _saving_patch(self, node: ast.Call, name: str) -> None:
        """setattr(keras.Model, "save", f), type.__setattr__(...), X.__dict__.update(...)."""
        args = node.args
        if name in ("setattr", "type.__setattr__", "object.__setattr__") and len(args) >= 2:
            target = self._keras_object(args[0])
            attr = args[1].value if isinstance(args[1], ast.Constant) else None
            if (target and (attr is None or attr in _SAVING)) or attr in _SAVING:
                shown = (
                    f"{_dotted(args[0]) or '…'}, {attr!r}"
                    if attr
                    else f"{_dotted(args[0]) or '…'}, …"
                )
                self.add(f"sets an attribute with `{name}({shown}, …)`: {_SAVING_NOTE}")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("update", "__setitem__", "setdefault"):
            owner = func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "__dict__":
                target = self._keras_object(owner.value)
                if target:
                    self.add(f"changes `{target}.__dict__`: {_SAVING_NOTE}")
            elif isinstance(owner, ast.Call) and _dotted(owner.func) == "vars" and owner.args:
                target = self._keras_object(owner.args[0])
                if target:
                    self.add(f"changes `vars({target})`: {_SAVING_NOTE}")

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        first = node.args[0] if node.args else None
        text = ""
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
        importer = name in ("__import__", "importlib.import_module")
        if importer and text.split(".")[0] in GRADER_MODULES:
            self.add(f"imports the grader (`{name}({text!r})`)")
        tail = name.rsplit(".", 1)[-1]
        if name in ("gc.get_objects", "gc.get_referrers", "gc.get_referents"):
            self.add(f"inspects every object of the interpreter (`{name}`)")
        if name in (
            "sys._getframe",
            "inspect.stack",
            "inspect.currentframe",
            "inspect.getouterframes",
            "traceback.extract_stack",
        ):
            self.add(f"inspects the call stack (`{name}`): the grader calls its functions")
        if name.endswith("events.register"):
            self.add(f"registers an IPython event hook (`{name}`) that runs during grading")
        if tail in _FILE_READERS and text and _outside(text):
            self.add(f"reads a path outside its own folder (`{tail}({_short(text)!r})`)")
        self._saving_patch(node, name)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            text = node.value
            if _SOLUTIONS.search(text):
                self.add(f"refers to the reference solutions ({_short(text)!r})")
            if any(p in text for p in PROBE_NAMES):
                self.add(f"refers to the grader's probe ({_short(text)!r})")
            if _outside(text) and ("/" in text[1:] or text.startswith("..")):
                self.add(f"refers to a path outside its own folder ({_short(text)!r})")

    def visit_Name(self, node: ast.Name) -> None:
        if any(p in node.id for p in PROBE_NAMES):
            self.add(f"refers to the grader's probe (`{node.id}`)")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _dotted(node.value) == "sys.modules":
            key = node.slice
            text = key.value if isinstance(key, ast.Constant) else ""
            if isinstance(text, str) and text.split(".")[0] in GRADER_MODULES:
                self.add(f"reaches the grader through sys.modules[{text!r}]")
        self.generic_visit(node)

    def _assigned(self, target: ast.AST) -> None:
        if isinstance(target, ast.Subscript):  # keras.Model.__dict__["save"] = f, vars(m)[...]
            owner = target.value
            inner = (
                owner.value
                if isinstance(owner, ast.Attribute) and owner.attr == "__dict__"
                else (
                    owner.args[0]
                    if isinstance(owner, ast.Call) and owner.args and _dotted(owner.func) == "vars"
                    else None
                )
            )
            if inner is not None and self._keras_object(inner):
                self.add(f"changes `{self._keras_object(inner)}.__dict__`: {_SAVING_NOTE}")
            return
        name = _dotted(target)
        if "." not in name:
            return
        head, attr = name.split(".", 1)[0], name.rsplit(".", 1)[-1]
        module = self.module_aliases.get(head, head)
        saving = attr in _SAVING or any(p in _SAVING for p in name.split(".")[1:-1])
        if module.split(".")[0] in _KERAS_MODULES and saving:
            self.add(f"replaces `{name}`: {_SAVING_NOTE}")
        elif module.split(".")[0] in ("numpy", "np", "builtins", *_KERAS_MODULES):
            self.add(
                f"replaces `{name}` (it only changes the notebook's own kernel: the checks "
                "run in the grader)"
            )
        elif attr in ("predict", "evaluate", "__call__", "call") and module != "self":
            self.add(f"overrides `{name}`")
        elif attr in ("save", "save_weights", "get_config") and module != "self":
            self.add(f"replaces `{name}`: {_SAVING_NOTE}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._assigned(t)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [_dotted(b) for b in node.bases]
        if any(b.rsplit(".", 1)[-1] in ("Model", "Sequential") for b in bases):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in ("predict", "evaluate"):
                    self.add(f"overrides {item.name}() in class {node.name}")
        self.generic_visit(node)


def _outside(text: str) -> bool:
    return bool(_OUTSIDE.match(text)) and text not in _HARMLESS_PATHS and "://" not in text


def scan(nb: Any) -> list[str]:
    """Integrity findings, one sentence each, for the instructor; never scored."""
    out: list[str] = []
    cells = cells_of(nb)
    aliases: dict[str, str] = {}  # imports stay in force in the cells after theirs
    for cell in cells:
        if cell.kind != "code":
            continue
        found: list[str] = []
        if cell.tree is not None:
            finder = _Finder()
            finder.module_aliases = aliases
            finder.visit(cell.tree)
            found = finder.found
        else:
            found = [what for pattern, what in _REGEX_FINDINGS if pattern.search(cell.source)]
        out += [f"cell {cell.number}: {text}" for text in found]
    from grader import training_scan  # it reads cells with this module's helpers

    out += training_scan.trains_on_test_data(cells)
    out += [
        f"{o.text()}: the notebook did not train with the injected budget"
        for o in training_scan.budget_overrides(nb)
    ]
    return out


# -- structure ------------------------------------------------------------------------------
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
