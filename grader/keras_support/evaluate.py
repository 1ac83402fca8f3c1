"""Test accuracy of a trained model, measured by the grader in a clean process.

The notebook's own numbers are never used: a kernel can override `predict()`, monkeypatch
`keras.Model.evaluate` or print anything. The model file the probe saved is loaded here, in a
fresh `python -m grader.keras_support.evaluate` process that no student code ever ran in, with
`safe_mode=True`, so that nothing but built-in Keras layers is rebuilt (a subclass that overrides
`predict` cannot even be loaded). Predictions are the model's plain forward pass,
`model(x, training=False)`, in batches; the comparison with the labels happens here too. The
images are the held-out half of the test split, read from the located dataset source: the
kernel's Keras home never had them (`grader.datasets`), so training on the notebook's `x_test`
buys nothing here.

The evaluating process is the grading process's warm judge (grader.keras_support.judge): started
while the notebook runs, TensorFlow already imported when the model comes, replaced after
anything unusual, never sent student code. `python -m grader.keras_support.evaluate` still
evaluates one request (a JSON request on stdin; one line `CNN_GRADER_EVAL {json}` on stdout),
as the fresh process did. Either runs on the CPU, so it never competes with training kernels
for GPU memory.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.checks.core import Fail
from grader.errors import InternalError

MARKER = "CNN_GRADER_EVAL "
BATCH = 500
NUM_CLASSES = 10


@dataclass(frozen=True)
class Evaluation:
    correct: int
    total: int
    first: int = 0  # index in the test split of the first image evaluated

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def evaluate_model(
    model_path: Path, found: Any, samples: int | None, *, what: str, timeout: float = 300.0
) -> Evaluation:
    """Accuracy of the saved model on the first `samples` held-out test images of `found`
    (a `grader.datasets.sources.Located`; None: all of them). Fail: the student's model cannot be
    used; InternalError: the evaluation itself broke."""
    from grader.keras_support.untrusted import check_archive

    check_archive(Path(model_path), what=what)
    request = {
        "model": str(model_path),
        "dataset": found.dataset.id,
        "origin": found.origin,
        "files": {k: str(v) for k, v in found.paths.items()},
        "samples": samples,
    }
    from grader.keras_support import judge

    try:
        reply = judge.shared().ask(request, timeout=timeout)
    except judge.JudgeTimeout:
        raise Fail(
            f"{what}: evaluating the model on the test set took more than "
            f"{timeout:.0f}s; the course models take a few seconds"
        ) from None
    except judge.JudgeDied as exc:
        raise InternalError(str(exc)) from None
    status = reply.get("status")
    if status == "ok":
        return Evaluation(int(reply["correct"]), int(reply["total"]), int(reply.get("first", 0)))
    if status in ("unloadable", "bad_output", "forward_failed"):
        raise Fail(f"{what}: {reply.get('message')}")
    raise InternalError(f"the evaluation failed: {reply.get('message')}")


# -- the clean process ---------------------------------------------------------------------
def _emit(reply: dict[str, Any]) -> int:
    sys.stdout.write(MARKER + json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


def _run(request: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from grader.datasets import registry, sources
    from grader.datasets.held_out import load_held_out

    found = sources.Located(
        registry.get(request["dataset"]),
        {k: Path(v) for k, v in request["files"].items()},
        str(request.get("origin", "")),
    )
    held_out = load_held_out(found, request.get("samples"))
    x, y = held_out.x, held_out.y

    import warnings

    from grader import backends

    keras = backends.import_keras()  # never TensorFlow under another backend
    from grader.keras_support.untrusted import ModelTooLarge, memory_cap, unloadable_message

    try:
        with memory_cap(what="the model"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.saving.load_model(request["model"], safe_mode=True, compile=False)
    except ModelTooLarge as exc:
        return {"status": "unloadable", "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the file is the student's
        line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return {
            "status": "unloadable",
            "message": unloadable_message(
                Path(request["model"]), "the model", f"{type(exc).__name__}: {line}"
            ),
        }
    inputs = x.astype("float32")[..., np.newaxis] if x.ndim == 3 else x.astype("float32")
    if not (found.dataset.rescaling_allowed and _rescales(model)):
        inputs = inputs / 255.0  # as the notebook scaled them before fit()
    try:
        with memory_cap(what="running the model"):
            return {**_predict(model, inputs, y, keras, np), "first": held_out.first}
    except ModelTooLarge as exc:
        return {"status": "forward_failed", "message": str(exc)}


def _rescales(model: Any) -> bool:
    """Whether the model scales pixels itself (a Rescaling layer, nested models included): it
    is then given pixels in [0, 255], as the notebook gave them to fit(), else in [0, 1]."""
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if type(layer).__name__ == "Rescaling":
            return True
        stack.extend(getattr(layer, "layers", []) or [])
    return False


def _predict(model: Any, inputs: Any, y: Any, keras: Any, np: Any) -> dict[str, Any]:
    from grader.keras_support.untrusted import is_out_of_memory

    predictions = []
    try:
        for start in range(0, len(inputs), BATCH):
            out = model(inputs[start : start + BATCH], training=False)
            if isinstance(out, (list, tuple, dict)):
                return {
                    "status": "bad_output",
                    "message": "the model has several outputs; "
                    "it should have one, the 10 class probabilities",
                }
            probs = np.asarray(keras.ops.convert_to_numpy(out))
            if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
                return {
                    "status": "bad_output",
                    "message": f"the model outputs shape {tuple(probs.shape)} for "
                    f"{len(inputs[start : start + BATCH])} images; expected "
                    f"(batch, {NUM_CLASSES}), one score per class",
                }
            if not np.all(np.isfinite(probs)):
                return {
                    "status": "bad_output",
                    "message": "the model outputs NaN or infinity (did training diverge?)",
                }
            predictions.append(probs.argmax(axis=1))
    except Exception as exc:  # noqa: BLE001 - a model that does not accept the images
        if is_out_of_memory(exc):
            raise  # memory_cap says it in words
        return {
            "status": "forward_failed",
            "message": f"the model could not be applied to test images of shape "
            f"(N, {', '.join(map(str, inputs.shape[1:]))}): "
            f"{type(exc).__name__}: {str(exc)[:300]}",
        }
    predicted = np.concatenate(predictions) if predictions else np.zeros(0, dtype=int)
    return {"status": "ok", "correct": int((predicted == y).sum()), "total": int(len(y))}


def serve() -> int:
    """The warm judge's loop (grader.keras_support.judge): Keras and its backend imported once
    (never TensorFlow under another backend: grader.backends), then one
    request per line, each evaluated as `main` would, until stdin closes."""
    import gc
    import os
    import warnings

    warnings.simplefilter("ignore")
    from grader import backends

    backends.block_tensorflow_unless_used()  # under JAX or PyTorch: Keras never loads it
    # The protocol keeps the pipe to itself: whatever a library prints goes to the log.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    import keras  # the point of the judge: imported once, before the first request
    import numpy  # noqa: F401 - imported for its cost, before the first request

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = _run(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - reported to the grader as its own failure
            reply = {"status": "internal", "message": f"{type(exc).__name__}: {exc}"}
        if reply.get("status") != "ok":
            reply["recycle"] = True  # whatever went wrong stays with this process
        out.write(MARKER + json.dumps(reply) + "\n")
        out.flush()
        keras.backend.clear_session()
        gc.collect()
    return 0


def main() -> int:
    if sys.argv[1:] == ["--serve"]:
        return serve()
    from grader import backends

    try:
        backends.block_tensorflow_unless_used()
        request = json.loads(sys.stdin.read())
        return _emit(_run(request))
    except Exception as exc:  # noqa: BLE001 - reported to the grader as its own failure
        return _emit({"status": "internal", "message": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    raise SystemExit(main())
