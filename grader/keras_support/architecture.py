"""A student's Keras model, loaded from the file the kernel saved it to.

Student models arrive as `.keras` files saved in the kernel and are loaded here with
`safe_mode=True`: no Lambda layer, custom class or other code from the file is executed, and the
archive is checked before Keras opens it (grader.keras_support.untrusted). Describing a model
and comparing it with the reference's are grader.selfcheck.description's and
grader.selfcheck.comparison's, which the student release ships too; this module loads.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from grader import backends
from grader.checks.core import Fail
from grader.keras_support import untrusted


def _first_line(text: str, limit: int = 300) -> str:
    """A loader's error message cut to its first line, at most `limit` characters."""
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- loading -------------------------------------------------------------------------------
def load(path: Path, *, what: str) -> Any:
    """The student's model, loaded safely, or Fail with a message the student can act on.

    The archive is checked before Keras opens it and the load runs under a memory cap
    (grader.keras_support.untrusted): the file is the kernel's, so it may be crafted."""
    untrusted.check_archive(path, what=what)
    keras = backends.import_keras()  # never TensorFlow under another backend

    errors: list[str] = []
    for compile_ in (True, False):
        try:
            with untrusted.memory_cap(what=what), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = keras.saving.load_model(path, safe_mode=True, compile=compile_)
            if not compile_:
                model._cnn_grader_compile_problem = _first_line(errors[0])
            return model
        except untrusted.ModelTooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - anything in the file is the student's
            errors.append(f"{type(exc).__name__}: {exc}")
    raise Fail(untrusted.unloadable_message(path, what, _first_line(errors[-1])))
