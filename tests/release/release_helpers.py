"""Running the release's self-checks as a student's Python would: no grader, no TensorFlow."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BLOCKED = ("tensorflow", "keras", "grader")

# Runs under `python -I` (no PYTHONPATH, no user site): the release folder is put on sys.path by
# hand, and an import hook refuses the grader and TensorFlow even though the venv has them.
SCRIPT = """
import importlib.abc, json, sys

BLOCKED = {blocked!r}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked in this test: " + name)
        return None

sys.meta_path.insert(0, Block())
sys.path.insert(0, {release!r})
try:
    import grader
    print("GRADER IMPORTABLE")
except ImportError:
    pass
ns = {{}}
for statement in {statements!r}:
    try:
        exec(statement, ns)
    except (ImportError, NameError, AttributeError):
        pass  # a definition that needs Keras: not one the self-checks call
from cnn_selfcheck import check
check(*[ns[name] for name in {functions!r}])
print("IMPORTED", json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)))
"""


def statements(source: str) -> list[str]:
    """Top-level statements one by one, so that one needing Keras does not stop the others."""
    return [ast.unparse(node) for node in ast.parse(source).body]


def run_isolated(release: Path, source: str, functions: list[str], cwd: Path) -> str:
    """stdout of `check(*functions)` after running `source`, in an isolated interpreter."""
    script = SCRIPT.format(
        blocked=BLOCKED, release=str(release), statements=statements(source), functions=functions
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    assert "GRADER IMPORTABLE" not in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1] == "IMPORTED []", proc.stdout
    return proc.stdout


def cases(release: Path, exercise: str) -> list[dict[str, Any]]:
    doc = json.loads(
        (release / "cnn_selfcheck" / "cases" / f"{exercise}.json").read_text(encoding="utf-8")
    )
    return list(doc["cases"])


def failures(output: str) -> list[str]:
    """The failure messages a self-check printed (the text after ✘)."""
    return [line.strip()[2:] for line in output.splitlines() if line.strip().startswith("✘ ")]
