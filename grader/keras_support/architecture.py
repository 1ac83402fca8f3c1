"""A student's Keras model against the reference model, layer by layer.

Both models are first reduced to plain descriptions (`ModelInfo`): per layer its type, the
settings that matter, its output shape and parameter count; plus the input shape and the
compile settings. Nested models (an augmentation `Sequential` used as a layer) are flattened and
a separate `Activation("relu")` is folded into the layer before it, since that is the same model.

The layer lists are then *aligned* (difflib over layer types) rather than zipped, so that a
missing, extra or moved layer is named as such ("missing MaxPooling2D(2) after Conv2D #2"),
layers after it are still compared with their real counterparts, and a missing last layer
cannot go unnoticed. The side-by-side table goes to the report.

Student models arrive as `.keras` files saved in the kernel and are loaded here with
`safe_mode=True`: no Lambda layer, custom class or other code from the file is executed.
Describing and comparing are grader.selfcheck.architecture's, which the student release ships
too; this module loads.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from grader.checks.core import Fail
from grader.keras_support import untrusted
from grader.keras_support.untrusted import MAX_MODEL_BYTES  # noqa: F401 - re-exported
from grader.selfcheck.architecture import (  # noqa: F401 - the grader's names for them
    SETTINGS,
    Comparison,
    CompileInfo,
    LayerInfo,
    ModelInfo,
    _first_line,
    compare_compile,
    compare_layers,
    compared,
    describe,
    from_data,
    listing,
    to_data,
)


# -- loading -------------------------------------------------------------------------------
def load(path: Path, *, what: str) -> Any:
    """The student's model, loaded safely, or Fail with a message the student can act on.

    The archive is checked before Keras opens it and the load runs under a memory cap
    (grader.keras_support.untrusted): the file is the kernel's, so it may be crafted."""
    untrusted.check_archive(path, what=what)
    import keras

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
