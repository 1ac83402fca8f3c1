"""Checks for ex08: confusion matrix, and per-class precision, recall and F1 (zero_division=0).

Pure NumPy on hidden labels, compared with the reference; the notebook also trains a small
model (for its plots), so it gets the smoke budget like the other Keras exercises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.core import Call, Context, Fail
from grader.checks.expect import expect_array, expect_match
from grader.keras_support.budget import SMOKE, Training

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE)
exercise = TRAINING.exercise("ex08_metrics", "Confusion matrix, precision, recall, F1")
ex = exercise


def _random_labels(k: int, n: int) -> Any:
    def make(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y_true = rng.integers(0, k, n)
        noisy = rng.random(n) < 0.35  # a model that is right about two times in three
        y_pred = np.where(noisy, rng.integers(0, k, n), y_true)
        return y_true, y_pred
    return make


def _never_predicted(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 3 is never predicted (precision 0/0) and class 5 never occurs (recall 0/0)."""
    y_true = rng.choice([0, 1, 2, 3, 4, 6], size=60)
    y_pred = np.where(rng.random(60) < 0.3, rng.choice([0, 1, 2, 4, 5, 6], size=60), y_true)
    y_pred[y_pred == 3] = 2
    return y_true, y_pred


def _pair(name: str, make: Any) -> tuple[Any, Any]:
    return (ex.input("y_true", lambda rng: make(rng)[0], stream=name),
            ex.input("y_pred", lambda rng: make(rng)[1], stream=name))


RANDOM = _pair("random", _random_labels(10, 200))
SPARSE = _pair("sparse", _never_predicted)
SMALL = ([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])

CM_HINT = ("matrix[i, j] counts examples with true class i and predicted class j: rows are the "
           "true class. np.add.at(matrix, (y_true, y_pred), 1) or a loop over pairs.")
PRF_HINT = ("precision = TP / (TP + FP) uses a column of the confusion matrix, recall = "
            "TP / (TP + FN) a row; F1 = 2PR / (P + R). Where a denominator is 0 the value is 0.0, "
            "not NaN (scikit-learn's zero_division=0).")

ex.compare("confusion_small", points=1, call=Call("confusion_matrix", *SMALL, 3), hint=CM_HINT,
           title="confusion_matrix on the notebook's small example")
ex.compare("confusion_random", points=2, call=Call("confusion_matrix", *RANDOM, 10),
           hint=CM_HINT, title="confusion_matrix, 10 classes, 200 hidden labels")
ex.compare("confusion_unused_classes", points=1, call=Call("confusion_matrix", *SPARSE, 8),
           hint=CM_HINT + " num_classes fixes the size even for classes that never occur.",
           title="confusion_matrix with classes that never occur (8 × 8)")


@ex.check(points=1, call=Call("confusion_matrix", *RANDOM, 10),
          title="confusion_matrix holds integer counts", hint="np.zeros((k, k), dtype=int)")
def confusion_integer_dtype(got: Any, ctx: Context) -> None:
    arr = expect_array(got, what=ctx.text)
    if arr.dtype.kind not in "iu":
        raise Fail(f"{ctx.text}: expected an integer array (counts), got dtype {arr.dtype}")


def _check_prf(got: Any, ctx: Context) -> None:
    want = ctx.expected
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Fail(f"{ctx.text}: expected a tuple (precision, recall, f1), got "
                   f"{type(got).__name__}" + (f" of {len(got)} items"
                                              if isinstance(got, (tuple, list)) else ""))
    for name, g, w in zip(("precision", "recall", "f1"), got, want):
        arr = expect_array(g, what=f"{ctx.text}: {name}")
        if arr.size == w.size and not np.all(np.isfinite(arr)):
            bad = [int(i) for i in np.flatnonzero(~np.isfinite(arr.ravel()))]
            raise Fail(f"{ctx.text}: {name} is NaN or infinite for class(es) {bad}; where the "
                       "denominator is 0 the value must be 0.0")
        expect_match(arr, w, what=f"{ctx.text}: {name}", atol=1e-6)


ex.check(points=2, call=Call("precision_recall_f1", *RANDOM, 10), hint=PRF_HINT,
         title="precision_recall_f1, 10 classes, 200 hidden labels",
         id="prf_random")(_check_prf)
ex.check(points=1.5, call=Call("precision_recall_f1", *SPARSE, 8), hint=PRF_HINT,
         title="precision_recall_f1: a class never predicted and classes that never occur "
               "give 0.0", id="prf_zero_division")(_check_prf)
ex.check(points=1.5, call=Call("precision_recall_f1", *SMALL, 3), hint=PRF_HINT,
         title="precision_recall_f1 on the notebook's small example",
         id="prf_small")(_check_prf)
