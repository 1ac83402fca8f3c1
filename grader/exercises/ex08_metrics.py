"""Checks for ex08: confusion matrix, and per-class precision, recall and F1 (zero_division=0).

Pure NumPy on hidden labels, compared with the reference; the notebook also trains a small
model (for its plots), so it gets the smoke budget like the other Keras exercises.

precision_recall_f1 usually calls confusion_matrix: it is run twice in the kernel, as written
and with the grader's confusion matrix (np.add.at, as the hint says) in place of the student's,
and passes when either answer is right, so a wrong confusion matrix costs the confusion checks
only. The hidden labels show every catalogued mistake at every seed (grader.checks.core): 200
labels over 10 classes, each class occurring and predicted, with a matrix that is not symmetric,
and a fixed pattern of classes never predicted or never present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.calls import Call, Driver
from grader.checks.core import Context, Fail
from grader.checks.expect import expect_array, expect_match
from grader.checks.variants import Wrong, explain
from grader.keras_support.budget import SMOKE, Training

TRAINING = Training(datasets=("fashion_mnist",), smoke=SMOKE)
exercise = TRAINING.exercise("ex08_metrics", "Confusion matrix, precision, recall, F1")
ex = exercise


def _random_labels(k: int, n: int) -> Any:
    """Labels of a model that is right about two times in three, in which every class occurs and
    is predicted and the confusion matrix is not symmetric (so a transposed matrix, or precision
    and recall swapped, always show)."""

    def make(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        while True:
            y_true = rng.integers(0, k, n)
            noisy = rng.random(n) < 0.35
            y_pred = np.where(noisy, rng.integers(0, k, n), y_true)
            matrix = np.zeros((k, k), dtype=int)
            np.add.at(matrix, (y_true, y_pred), 1)
            if matrix.sum(axis=0).all() and matrix.sum(axis=1).all() and (matrix != matrix.T).any():
                return y_true, y_pred

    return make


def _never_predicted(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 3 is never predicted (precision 0/0) and class 5 never occurs (recall 0/0)."""
    y_true = rng.choice([0, 1, 2, 3, 4, 6], size=60)
    y_pred = np.where(rng.random(60) < 0.3, rng.choice([0, 1, 2, 4, 5, 6], size=60), y_true)
    y_pred[y_pred == 3] = 2
    return y_true, y_pred


def _pair(name: str, make: Any) -> tuple[Any, Any]:
    return (
        ex.input("y_true", lambda rng: make(rng)[0], stream=name),
        ex.input("y_pred", lambda rng: make(rng)[1], stream=name),
    )


RANDOM = _pair("random", _random_labels(10, 200))
SPARSE = _pair("sparse", _never_predicted)
SMALL = ([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])

CM_HINT = (
    "matrix[i, j] counts examples with true class i and predicted class j: rows are the "
    "true class. Add 1 at [true, predicted] for every example: a loop over the pairs, "
    "or NumPy's unbuffered np.add.at, which counts repeated pairs."
)
PRF_HINT = (
    "precision = TP / (TP + FP) uses a column of the confusion matrix, recall = "
    "TP / (TP + FN) a row; F1 = 2PR / (P + R). Where a denominator is 0 the value is 0.0, "
    "not NaN (scikit-learn's zero_division=0)."
)

ex.compare(
    "confusion_small",
    points=1,
    call=Call("confusion_matrix", *SMALL, 3),
    hint=CM_HINT,
    title="confusion_matrix on the notebook's small example",
)
ex.compare(
    "confusion_random",
    points=2,
    call=Call("confusion_matrix", *RANDOM, 10),
    hint=CM_HINT,
    title="confusion_matrix, 10 classes, 200 hidden labels",
)
ex.compare(
    "confusion_unused_classes",
    points=1,
    call=Call("confusion_matrix", *SPARSE, 8),
    hint=CM_HINT + " num_classes fixes the size even for classes that never occur.",
    title="confusion_matrix with classes that never occur (8 × 8)",
)


@ex.check(
    points=1,
    call=Call("confusion_matrix", *RANDOM, 10),
    title="confusion_matrix holds integer counts",
    hint="np.zeros((k, k), dtype=int)",
)
def confusion_integer_dtype(got: Any, ctx: Context) -> None:
    arr = expect_array(got, what=ctx.text)
    if arr.dtype.kind not in "iu":
        raise Fail(f"{ctx.text}: expected an integer array (counts), got dtype {arr.dtype}")


PRF_DRIVER = Driver.from_file(
    Path(__file__).with_name("helper_drivers.py"), "drive_precision_recall_f1"
)
HELPER_NOTE = (
    " (precision_recall_f1 ran with the grader's confusion_matrix in place of yours, "
    "so that a mistake in that counts in the confusion checks only)"
)


def _judge_prf(got: Any, ctx: Context, want: Any) -> None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Fail(
            f"{ctx.text}: expected a tuple (precision, recall, f1), got "
            f"{type(got).__name__}"
            + (f" of {len(got)} items" if isinstance(got, (tuple, list)) else "")
        )
    arrays = [
        expect_array(g, what=f"{ctx.text}: {name}")
        for name, g in zip(("precision", "recall", "f1"), got, strict=False)
    ]
    for name, arr, w in zip(("precision", "recall", "f1"), arrays, want, strict=False):
        if arr.size == w.size and not np.all(np.isfinite(arr)):
            bad = [int(i) for i in np.flatnonzero(~np.isfinite(arr.ravel()))]
            raise Fail(
                f"{ctx.text}: {name} is NaN or infinite for class(es) {bad}; where the "
                "denominator is 0 the value must be 0.0"
            )
        expect_match(arr, w, what=f"{ctx.text}: {name}", atol=1e-6)


def _check_prf(got: Any, ctx: Context) -> None:
    if not isinstance(got, dict):
        raise Fail(f"{ctx.text}: the grader could not read the result (got {type(got).__name__})")
    want = ctx.expected["own"]
    runs = [(k, got[k]) for k in ("with_reference", "own") if got.get(k) is not None]
    if not runs:
        raise Fail(f"{ctx.text}: precision_recall_f1 returned None")
    failures = []
    for _, value in runs:
        try:
            _judge_prf(value, ctx, want)
            return
        except Fail as exc:
            failures.append(str(exc))
    key, value = runs[0]
    note = (
        HELPER_NOTE
        if key == "with_reference" and len(runs) > 1 and failures[0] != failures[1]
        else ""
    )
    why = explain(
        list(value) if isinstance(value, (tuple, list)) else value,
        ctx,
        ex.wrong,
        atol=1e-6,
        part=list,
        expected=list(want),
    )
    raise Fail(f"{failures[0]}{why}{note}")


ex.check(
    points=2,
    call=Call.driver(PRF_DRIVER, "precision_recall_f1", *RANDOM, 10),
    hint=PRF_HINT,
    title="precision_recall_f1, 10 classes, 200 hidden labels",
    id="prf_random",
)(_check_prf)
ex.check(
    points=1.5,
    call=Call.driver(PRF_DRIVER, "precision_recall_f1", *SPARSE, 8),
    hint=PRF_HINT,
    title="precision_recall_f1: a class never predicted and classes that never occur give 0.0",
    id="prf_zero_division",
)(_check_prf)
ex.check(
    points=1.5,
    call=Call.driver(PRF_DRIVER, "precision_recall_f1", *SMALL, 3),
    hint=PRF_HINT,
    title="precision_recall_f1 on the notebook's small example",
    id="prf_small",
)(_check_prf)


# Public examples of precision_recall_f1 (its graded checks use a driver that also runs the
# grader's confusion_matrix): the plain call, each of the three arrays compared on its own.
for _name, (_labels, _k) in (("random", (RANDOM, 10)), ("zero_division", (SPARSE, 8))):
    ex.example(
        f"prf_{_name}_example",
        call=Call("precision_recall_f1", *_labels, _k),
        hint=PRF_HINT,
        title=f"precision_recall_f1, {_k} classes",
        atol=1e-6,
        parts=("precision", "recall", "f1"),
    )


# -- known wrong answers (the mutant catalogue, tests/mutants/ex08_metrics) --------------------


def _prf(ref: Any, y_true: Any, y_pred: Any, k: int, *, nan: bool = False) -> tuple[Any, ...]:
    m = np.asarray(ref.confusion_matrix(y_true, y_pred, k), dtype=float)
    tp, predicted, actual = np.diag(m), m.sum(axis=0), m.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p, r = tp / predicted, tp / actual
        f1 = 2 * p * r / (p + r)
    if not nan:
        p, r, f1 = (np.nan_to_num(v, nan=0.0) for v in (p, r, f1))
    return p, r, f1


def _swapped(ref: Any, *args: Any) -> list[Any]:
    p, r, f1 = ref.precision_recall_f1(*args)
    return [r, p, f1]


def _f1_mean(ref: Any, *args: Any) -> list[Any]:
    p, r, _ = ref.precision_recall_f1(*args)
    return [p, r, (np.asarray(p) + np.asarray(r)) / 2]


CONFUSION = ("confusion_small", "confusion_random", "confusion_unused_classes")
PRF = ("prf_random", "prf_zero_division", "prf_small")
ex.wrong += [
    Wrong(
        "confusion_matrix",
        "transposed",
        "transposed: rows must be the true class and columns the predicted class",
        lambda ref, *args: np.asarray(ref.confusion_matrix(*args)).T,
        caught_by=CONFUSION,
    ),
    Wrong(
        "confusion_matrix",
        "size_from_labels",
        "sized by the largest label + 1 instead of num_classes",
        lambda ref, y_true, y_pred, k: np.asarray(ref.confusion_matrix(y_true, y_pred, k))[
            : int(max(np.max(y_true), np.max(y_pred))) + 1,
            : int(max(np.max(y_true), np.max(y_pred))) + 1,
        ],
        caught_by=("confusion_unused_classes",),
    ),
    Wrong(
        "precision_recall_f1",
        "precision_recall_swapped",
        "with precision and recall swapped: precision divides by a column sum (how often the "
        "class is predicted), recall by a row sum (how often it is true)",
        _swapped,
        caught_by=PRF,
    ),
    Wrong(
        "precision_recall_f1",
        "f1_arithmetic_mean",
        "with F1 as the mean (P + R) / 2; F1 is the harmonic mean 2PR / (P + R)",
        _f1_mean,
        caught_by=PRF,
    ),
    Wrong(
        "precision_recall_f1",
        "nan_zero_division",
        "with NaN where a denominator is 0; scikit-learn's zero_division=0 gives 0.0",
        lambda ref, *args: list(_prf(ref, *args, nan=True)),
        caught_by=("prf_zero_division",),
    ),
]
