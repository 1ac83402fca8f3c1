"""Checks for ex02: max and average pooling (TF semantics) and global average pooling."""

from __future__ import annotations

from grader.checks.core import Call, Exercise, standard_normal
from grader.execution.kernel import Limits

exercise = Exercise("ex02_pooling", title="Pooling by hand",
                    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10))
ex = exercise


IMG_8 = ex.input("image", standard_normal(8, 8))
X_6x6x3 = ex.input("x", standard_normal(6, 6, 3))
X_7x7x2 = ex.input("x", standard_normal(7, 7, 2))
X_9x8x3 = ex.input("x", standard_normal(9, 8, 3))
NEG_5x5x2 = ex.input("x", lambda rng: -rng.uniform(1.0, 2.0, (5, 5, 2)))
X_5x7x4 = ex.input("x", standard_normal(5, 7, 4))

NON_OVERLAP = "With stride None the window moves by pool_size: windows do not overlap."
OVERLAP = "When stride < pool_size the windows overlap; output size is floor((n - k) / s) + 1."
SAME_MAX = ("With padding='same' the output size is ceil(n / stride) and the padded cells must "
            "never win the max (pad with -inf, or only look at real cells).")
SAME_AVG = ("With padding='same', TensorFlow divides by the number of real cells in the window, "
            "not by pool_size²: padded cells do not count in the mean.")

ex.compare("max_pool_2d_default", points=1, call=Call("max_pool2d", IMG_8), hint=NON_OVERLAP,
           title="max_pool2d, 2-D input, defaults")
ex.compare("max_pool_3d_pool3", points=1, call=Call("max_pool2d", X_6x6x3, pool_size=3),
           hint=NON_OVERLAP, title="max_pool2d, pool 3, per channel")
ex.compare("max_pool_valid_uneven", points=1, call=Call("max_pool2d", X_7x7x2, pool_size=2),
           hint="With padding='valid' a window that would hang over the edge is dropped: "
                "floor((n - k) / s) + 1 windows per axis.",
           title="max_pool2d, valid, window does not fit evenly (7×7, pool 2)")
ex.compare("max_pool_overlap", points=1,
           call=Call("max_pool2d", X_7x7x2, pool_size=3, stride=2), hint=OVERLAP,
           title="max_pool2d, overlapping windows (pool 3, stride 2)")
ex.compare("max_pool_same", points=1,
           call=Call("max_pool2d", X_7x7x2, pool_size=2, stride=2, padding="same"),
           hint=SAME_MAX, title="max_pool2d, padding='same'")
ex.compare("max_pool_same_negative", points=0.5,
           call=Call("max_pool2d", NEG_5x5x2, pool_size=2, padding="same"), hint=SAME_MAX,
           title="max_pool2d, padding='same' on all-negative values")
ex.compare("max_pool_pair", points=0.5,
           call=Call("max_pool2d", X_9x8x3, pool_size=(3, 2), stride=(2, 1)), hint=OVERLAP,
           title="max_pool2d, pool (3, 2), stride (2, 1)")
ex.compare("avg_pool_default", points=1, call=Call("avg_pool2d", X_6x6x3), hint=NON_OVERLAP,
           title="avg_pool2d, defaults")
ex.compare("avg_pool_overlap", points=1,
           call=Call("avg_pool2d", X_7x7x2, pool_size=3, stride=2), hint=OVERLAP,
           title="avg_pool2d, overlapping windows")
ex.compare("avg_pool_same", points=1,
           call=Call("avg_pool2d", X_7x7x2, pool_size=3, stride=2, padding="same"),
           hint=SAME_AVG, title="avg_pool2d, padding='same' (padded cells not counted)")
ex.compare("global_avg_pool", points=1, call=Call("global_avg_pool", X_5x7x4),
           hint="Average over the two spatial axes: (H, W, C) → (C,).",
           title="global_avg_pool")
