"""Read a submission's code, never run it: integrity findings for the instructor.

`scan(nb)`, plain sentences that name the cell (`GradeResult.integrity`): code that imports the
grader, refers to the reference solutions or the grader's probe, reads files outside its own
folder, inspects the interpreter (gc.get_objects, stack frames), hooks into IPython's events,
patches NumPy, builtins or Keras' saving (assignment, setattr, `__dict__`), trains on test data
(fit/train_on_batch on what the test split's loader returned, or on something made from it, such
as training and test data joined), or sets the training budget again after the grader's injected
cell. They never change a score: the grading already cannot be fooled by these (the checks run
in the grader process, on test images the kernel never received, with Keras' saving kept from
before the notebook ran), and a false positive must not cost a student points. They tell the
instructor where to look.

Cells are read by `grader.code_cells` (parsed with `ast` after IPython's own syntax is blanked
out); a cell that still does not parse is searched with regular expressions instead. What the
notebook does with its training comes from `grader.training_scan`; the notes for the student
on how the notebook runs, from `grader.notebook_structure`.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from grader import training_scan
from grader.code_cells import cells_of
from grader.code_cells import dotted as _dotted
from grader.code_cells import short as _short

GRADER_MODULES = {"grader", "cnn_grader"}
PROBE_NAMES = (".cnn_grader_probe", "__cnn_grader_probe__", "cnn_grader_probe")
_SOLUTIONS = re.compile(r"(^|[/\\])solutions([/\\]|$)|^solutions$")
_OUTSIDE = re.compile(r"^(/[\w.\-]+|~[/\\]|\.\.([/\\]|$))")
_HARMLESS_PATHS = {"/dev/null", "/dev/stdout", "/dev/stderr"}
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
    out += training_scan.trains_on_test_data(cells)
    out += [
        f"{o.text()}: the notebook did not train with the injected budget"
        for o in training_scan.budget_overrides(nb)
    ]
    return out
