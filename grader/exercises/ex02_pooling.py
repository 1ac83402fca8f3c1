"""Checks for ex02: max and average pooling (TF semantics) and global average pooling.

The shapes of the hidden inputs are fixed and chosen so that every mistake a check is about
shows at every seed (grader.checks.core): the pool-2 'same' cases pad an odd total on each axis
(so a split the wrong way round shifts windows) and have an edge window with padded cells; the
one of max_pool_same always has a window whose real cells are all negative (so a padded 0 would
win); the pool-3 'same' cases (max_pool_same_wide, avg_pool_same) pad a total of 2 on the rows
(so all the padding after the image, as Keras' NumPy test oracles put it, shifts the windows:
for max pooling the third row is made the largest, so the first window's maximum changes) and an
odd total on the columns. The catalogue of mistakes below, ours and other courses' and
libraries' conventions, names the mistake in a failed check's message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.calls import Call, standard_normal
from grader.checks.core import Exercise
from grader.checks.variants import Wrong
from grader.models import Limits

exercise = Exercise(
    "ex02_pooling",
    title="Pooling by hand",
    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10),
)
ex = exercise


IMG_8 = ex.input("image", standard_normal(8, 8))
X_6x6x3 = ex.input("x", standard_normal(6, 6, 3))
X_7x7x2 = ex.input("x", standard_normal(7, 7, 2))
X_9x8x3 = ex.input("x", standard_normal(9, 8, 3))
NEG_5x5x2 = ex.input("x", lambda rng: -rng.uniform(1.0, 2.0, (5, 5, 2)))
X_5x7x4 = ex.input("x", standard_normal(5, 7, 4))


def _negative_corner(rng: np.random.Generator) -> np.ndarray:
    """7×7: pool 2, stride 2, 'same' pads 1 after; the bottom-right window holds one real cell,
    made negative in every channel, so padding with 0 instead of -inf always shows."""
    x = rng.standard_normal((7, 7, 2))
    x[-1, -1] = -np.abs(x[-1, -1]) - 0.1
    return x


X_SAME_MAX = ex.input("x", _negative_corner)


def _third_row_largest(rng: np.random.Generator) -> np.ndarray:
    """9×10: pool 3, stride 2, 'same' pads 1 and 1 on the rows (all after: 0 and 2), 0 and 1 on
    the columns. Row 2 holds the largest values, so it wins the first output row's windows when
    they start at row 0 (all after) and not when they start at row -1 (TensorFlow). Every value
    is negative, so a padded 0 wins every window with padding in it (padding with zeros always
    shows too, at every seed, rather than at some)."""
    x = -rng.uniform(1.0, 2.0, (9, 10, 2))
    x[2] = -rng.uniform(0.1, 0.5, (10, 2))
    return x


X_WIDE_MAX = ex.input("x", _third_row_largest)
# pool 3, stride 2, 'same': a total of 2 on the rows (all after differs from TF's 1 and 1), 1 on
# the columns (a split the wrong way round differs); padded cells in the edge windows
X_9x10x2 = ex.input("x", standard_normal(9, 10, 2))

NON_OVERLAP = "With stride None the window moves by pool_size: windows do not overlap."
OVERLAP = "When stride < pool_size the windows overlap; output size is floor((n - k) / s) + 1."
SAME_MAX = (
    "With padding='same' the output size is ceil(n / stride) and the padded cells must "
    "never win the max (pad with -inf, or only look at real cells)."
)
SAME_SPLIT = (
    "TensorFlow splits the total 'same' padding: the smaller half on the top/left, "
    "the rest on the bottom/right (not all of it after the image)."
)
SAME_AVG = (
    "With padding='same', TensorFlow divides by the number of real cells in the window, "
    "not by pool_size²: padded cells do not count in the mean."
)

ex.compare(
    "max_pool_2d_default",
    points=1,
    call=Call("max_pool2d", IMG_8),
    hint=NON_OVERLAP,
    title="max_pool2d, 2-D input, defaults",
)
ex.compare(
    "max_pool_3d_pool3",
    points=1,
    call=Call("max_pool2d", X_6x6x3, pool_size=3),
    hint=NON_OVERLAP,
    title="max_pool2d, pool 3, per channel",
)
ex.compare(
    "max_pool_valid_uneven",
    points=1,
    call=Call("max_pool2d", X_7x7x2, pool_size=2),
    hint="With padding='valid' a window that would hang over the edge is dropped: "
    "floor((n - k) / s) + 1 windows per axis.",
    title="max_pool2d, valid, window does not fit evenly (7×7, pool 2)",
)
ex.compare(
    "max_pool_overlap",
    points=1,
    call=Call("max_pool2d", X_7x7x2, pool_size=3, stride=2),
    hint=OVERLAP,
    title="max_pool2d, overlapping windows (pool 3, stride 2)",
)
ex.compare(
    "max_pool_same",
    points=0.5,
    call=Call("max_pool2d", X_SAME_MAX, pool_size=2, stride=2, padding="same"),
    hint=SAME_MAX,
    title="max_pool2d, padding='same'",
)
ex.compare(
    "max_pool_same_wide",
    points=0.5,
    call=Call("max_pool2d", X_WIDE_MAX, pool_size=3, stride=2, padding="same"),
    hint=SAME_MAX + " " + SAME_SPLIT,
    title="max_pool2d, padding='same', pool 3 (padding split top/bottom)",
)
ex.compare(
    "max_pool_same_negative",
    points=0.5,
    call=Call("max_pool2d", NEG_5x5x2, pool_size=2, padding="same"),
    hint=SAME_MAX,
    title="max_pool2d, padding='same' on all-negative values",
)
ex.compare(
    "max_pool_pair",
    points=0.5,
    call=Call("max_pool2d", X_9x8x3, pool_size=(3, 2), stride=(2, 1)),
    hint=OVERLAP,
    title="max_pool2d, pool (3, 2), stride (2, 1)",
)
ex.compare(
    "avg_pool_default",
    points=1,
    call=Call("avg_pool2d", X_6x6x3),
    hint=NON_OVERLAP,
    title="avg_pool2d, defaults",
)
ex.compare(
    "avg_pool_overlap",
    points=1,
    call=Call("avg_pool2d", X_7x7x2, pool_size=3, stride=2),
    hint=OVERLAP,
    title="avg_pool2d, overlapping windows",
)
ex.compare(
    "avg_pool_same",
    points=1,
    call=Call("avg_pool2d", X_9x10x2, pool_size=3, stride=2, padding="same"),
    hint=SAME_AVG + " " + SAME_SPLIT,
    title="avg_pool2d, padding='same' (padded cells not counted, padding split)",
)
ex.compare(
    "global_avg_pool",
    points=1,
    call=Call("global_avg_pool", X_5x7x4),
    hint="Average over the two spatial axes: (H, W, C) → (C,).",
    title="global_avg_pool",
)


# -- known wrong answers (the mutant catalogue, tests/mutants/ex02_pooling) --------------------


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _padded(
    x: Any,
    pool_size: Any,
    stride: Any,
    *,
    split: str,
    rounding: str = "same",
    fill: float = -np.inf,
) -> np.ndarray:
    """x padded as a mistake pads it: the 'same' total split another way, or a 'valid' input
    padded after so that ceil((n - k) / s) + 1 windows fit (the one hanging over kept)."""
    x = np.asarray(x, dtype=float)
    widths = []
    for n, k, s in zip(
        x.shape[:2], _pair(pool_size), _pair(pool_size if stride is None else stride), strict=False
    ):
        if rounding == "same":
            total = max((-(-n // s) - 1) * s + k - n, 0)
        else:
            total = max(-(-(n - k) // s) * s + k - n, 0)
        before = {"tf": total // 2, "reversed": total - total // 2, "none": 0, "after": 0}[split]
        widths.append((before, total - before))
    return np.pad(x, widths + [(0, 0)] * (x.ndim - 2), constant_values=fill)


def _max_padded(split: str, fill: float = -np.inf, rounding: str = "same") -> Any:
    def make(
        ref: Any, x: Any, pool_size: Any = 2, stride: Any = None, padding: str = "valid"
    ) -> Any:
        if padding != rounding:  # this mistake is about the other padding
            return ref.max_pool2d(x, pool_size, stride, padding)
        xp = _padded(x, pool_size, stride, split=split, rounding=rounding, fill=fill)
        return ref.max_pool2d(xp, pool_size, stride, "valid")

    return make


def _avg_split(split: str) -> Any:
    """avg_pool2d with the 'same' padding split another way, padded cells not counted."""

    def make(
        ref: Any, x: Any, pool_size: Any = 2, stride: Any = None, padding: str = "valid"
    ) -> Any:
        if padding != "same":
            return ref.avg_pool2d(x, pool_size, stride, padding)
        sums = ref.avg_pool2d(
            _padded(x, pool_size, stride, split=split, fill=0.0), pool_size, stride, "valid"
        )
        ones = np.ones(np.shape(x)[:2] + (1,) * (np.ndim(x) - 2))
        counts = ref.avg_pool2d(
            _padded(ones, pool_size, stride, split=split, fill=0.0), pool_size, stride, "valid"
        )
        return sums / counts

    return make


def _avg_by_area(
    ref: Any, x: Any, pool_size: Any = 2, stride: Any = None, padding: str = "valid"
) -> Any:
    if padding != "same":
        return ref.avg_pool2d(x, pool_size, stride, padding)
    return ref.avg_pool2d(
        _padded(x, pool_size, stride, split="tf", fill=0.0), pool_size, stride, "valid"
    )


def _stride_is_pool(func: str) -> Any:
    return lambda ref, x, pool_size=2, stride=None, padding="valid": getattr(ref, func)(
        x, pool_size, pool_size, padding
    )


def _max_over_channels(ref: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
    out = ref.max_pool2d(x, *args, **kwargs)
    return np.broadcast_to(out.max(axis=-1, keepdims=True), out.shape) if out.ndim == 3 else out


MAX_SAME = ("max_pool_same", "max_pool_same_negative")
ALL_AFTER = (
    "with all of the 'same' padding after the image (bottom/right), as Keras' NumPy test "
    "oracles pad; TensorFlow splits it: the smaller half on the top/left, the rest on "
    "the bottom/right"
)
KERAS_ORACLE = "Keras' NumPy test oracles (np_maxpool2d, np_avgpool2d)"
ex.wrong += [
    Wrong(
        "max_pool2d",
        "zero_padding",
        "with 'same' padding of zeros, so a padded 0 beats negative values; padded cells "
        "must never win (pad with -inf)",
        _max_padded("tf", fill=0.0),
        caught_by=(*MAX_SAME, "max_pool_same_wide"),
        source="np.pad's default (zeros)",
    ),
    Wrong(
        "max_pool2d",
        "reversed_same_split",
        "with the odd extra 'same' padding row or column on the top/left; TensorFlow puts "
        "the smaller half first and the extra one on the bottom/right",
        _max_padded("reversed"),
        caught_by=MAX_SAME,
    ),
    Wrong(
        "max_pool2d",
        "same_all_after",
        ALL_AFTER,
        _max_padded("after"),
        caught_by=("max_pool_same_wide",),
        source=KERAS_ORACLE,
    ),
    Wrong(
        "max_pool2d",
        "valid_rounds_up",
        "with ceil((n - k) / s) + 1 windows for 'valid', keeping the window that hangs over "
        "the edge (PyTorch's ceil_mode=True)",
        _max_padded("none", rounding="valid"),
        caught_by=("max_pool_valid_uneven",),
        source="PyTorch MaxPool2d(ceil_mode=True)",
    ),
    Wrong(
        "max_pool2d",
        "stride_ignored",
        "with the stride ignored (it steps by pool_size)",
        _stride_is_pool("max_pool2d"),
        caught_by=("max_pool_overlap", "max_pool_pair"),
    ),
    Wrong(
        "max_pool2d",
        "default_stride_one",
        "with stride=None read as 1; None means the stride is pool_size",
        lambda ref, x, pool_size=2, stride=None, padding="valid": ref.max_pool2d(
            x, pool_size, 1 if stride is None else stride, padding
        ),
        caught_by=(
            "max_pool_2d_default",
            "max_pool_3d_pool3",
            "max_pool_valid_uneven",
            "max_pool_same_negative",
        ),
    ),
    Wrong(
        "max_pool2d",
        "max_over_channels",
        "with the maximum taken over the channels too; each channel is pooled on its own",
        _max_over_channels,
        caught_by=(
            "max_pool_3d_pool3",
            "max_pool_valid_uneven",
            "max_pool_overlap",
            "max_pool_same",
            "max_pool_same_negative",
            "max_pool_pair",
        ),
    ),
    Wrong(
        "avg_pool2d",
        "divides_by_area",
        "dividing every window by pool_size²; TensorFlow divides by the number of real "
        "cells: padded cells do not count (PyTorch's count_include_pad=True)",
        _avg_by_area,
        caught_by=("avg_pool_same",),
        source="PyTorch AvgPool2d(count_include_pad=True)",
    ),
    Wrong(
        "avg_pool2d",
        "reversed_same_split",
        "with the odd extra 'same' padding row or column on the top/left; TensorFlow puts "
        "the smaller half first and the extra one on the bottom/right",
        _avg_split("reversed"),
        caught_by=("avg_pool_same",),
    ),
    Wrong(
        "avg_pool2d",
        "same_all_after",
        ALL_AFTER,
        _avg_split("after"),
        caught_by=("avg_pool_same",),
        source=KERAS_ORACLE,
    ),
    Wrong(
        "avg_pool2d",
        "stride_ignored",
        "with the stride ignored (it steps by pool_size)",
        _stride_is_pool("avg_pool2d"),
        caught_by=("avg_pool_overlap", "avg_pool_same"),
    ),
    Wrong(
        "global_avg_pool",
        "keepdims",
        "with keepdims=True: shape (1, 1, C) instead of (C,)",
        lambda ref, x: np.asarray(ref.global_avg_pool(x))[None, None, :],
        caught_by=("global_avg_pool",),
    ),
    Wrong(
        "global_avg_pool",
        "over_channels",
        "averaged over the channel axis instead of the two spatial axes",
        lambda ref, x: np.asarray(x, dtype=float).mean(axis=-1),
        caught_by=("global_avg_pool",),
    ),
]
