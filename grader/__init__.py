"""cnn-grader: grade notebooks of a course on convolutional neural networks.

Public surface: `grade`, `Options`, `GradeResult`, `write_reports`. Everything else is private
to the package and may change.

The names are loaded on first use (PEP 562): `import grader`, and any `grader.<module>` that a
subprocess imports (the Keras evaluation, a batch worker), loads neither the kernel machinery
(nbclient, jupyter_client, the sandbox) nor TensorFlow. tests/test_layers.py holds it to that.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.version import __version__

if TYPE_CHECKING:
    from grader.api import grade
    from grader.models import GradeResult
    from grader.options import Options

# public name -> the module that defines it
_LAZY = {"grade": "grader.api", "Options": "grader.options", "GradeResult": "grader.models"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:  # AttributeError lets `from grader import <submodule>` import it
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def write_reports(
    result: GradeResult, out_dir: str | Path, stem: str, *, view: str = "student"
) -> dict[str, Path]:
    """Write `<stem>.json` and `<stem>.html` under `out_dir`; returns their paths. `view`:
    "student" (without the instructor's findings) or "instructor"."""
    from grader.reporting import write_reports as _write

    return _write(result, out_dir, stem, view=view)


__all__ = ["GradeResult", "Options", "__version__", "grade", "write_reports"]
