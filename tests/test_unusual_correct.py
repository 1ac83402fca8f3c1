"""Correct in unusual ways: answers a careful instructor accepts must get full marks.

Each notebook keeps the reference definitions and then wraps or replaces one function with a
variant that differs in form, not in substance (another algorithm, another container or number
type, a generator instead of a list)."""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest

EX1, EX2, EX3 = "ex01_convolution", "ex02_pooling", "ex03_parameters"

SLIDING_WINDOWS = """
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    flat = x.ndim == 2
    if flat:
        x, kernel = x[..., None], kernel[..., None, None]
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    kh, kw = kernel.shape[:2]
    h, w = x.shape[:2]
    if padding == "same":
        ph = max((-(-h // sh) - 1) * sh + kh - h, 0)
        pw = max((-(-w // sw) - 1) * sw + kw - w, 0)
        x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    windows = sliding_window_view(x, (kh, kw), axis=(0, 1))[::sh, ::sw]
    out = np.einsum("hwcij,ijco->hwo", windows, kernel)
    if bias is not None:
        out = out + np.asarray(bias)
    return out[..., 0] if flat else out
"""

VARIANTS: dict[str, tuple[str, str]] = {
    # another algorithm: windows as a strided view, one einsum
    "conv2d_by_sliding_windows": (EX1, SLIDING_WINDOWS),
    # float32 results (the tolerance is the contract's 1e-5, relative to the values)
    "conv2d_float32": (
        EX1,
        "import numpy as np\n_conv = conv2d\n"
        "def conv2d(*a, **k):\n    return _conv(*a, **k).astype(np.float32)",
    ),
    # a plain list of C numbers for global pooling
    "global_pool_as_list": (
        EX2,
        "_gap = global_avg_pool\ndef global_avg_pool(x):\n    return [float(v) for v in _gap(x)]",
    ),
    # NumPy integers for counts; 30.0 for an output size
    "numpy_integers": (
        EX3,
        "import numpy as np\n_p, _d = conv2d_params, dense_params\n"
        "def conv2d_params(*a, **k):\n    return np.int64(_p(*a, **k))\n"
        "def dense_params(*a, **k):\n    return np.int32(_d(*a, **k))",
    ),
    "float_output_size": (
        EX3,
        "_c = conv_output_size\ndef conv_output_size(*a, **k):\n    return float(_c(*a, **k))",
    ),
    # lists where the contract says tuples; a generator or zip where it says "one per layer"
    "summary_as_lists": (
        EX3,
        "_s = summarize\ndef summarize(layers, input_shape):\n"
        "    return [[list(shape), p] for shape, p in _s(layers, input_shape)]",
    ),
    "summary_as_generator": (
        EX3,
        "_s = summarize\ndef summarize(layers, input_shape):\n"
        "    for shape, p in _s(layers, input_shape):\n"
        "        yield shape, p",
    ),
    "summary_as_zip": (
        EX3,
        "_s = summarize\ndef summarize(layers, input_shape):\n"
        "    rows = _s(layers, input_shape)\n"
        "    return zip([r[0] for r in rows], [r[1] for r in rows])",
    ),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_an_unusual_but_correct_answer_gets_full_marks(name: str, tmp_path: Path) -> None:
    exercise, cell = VARIANTS[name]
    path = helpers.write_notebook(
        tmp_path, f"{name}.ipynb", [helpers.solution_definitions(exercise), cell], exercise
    )
    result = helpers.grade_nb(path, exercise)
    assert result.score == result.max_score, helpers.describe(result)


def test_an_endless_generator_is_cut_off_not_followed(tmp_path: Path) -> None:
    """`yield` without end: the probe reads a bounded number of items, and the check fails."""
    cell = (
        "import itertools\ndef summarize(layers, input_shape):\n"
        "    return (((1, 1, 1), 0) for _ in itertools.count())"
    )
    path = helpers.write_notebook(
        tmp_path, "endless.ipynb", [helpers.solution_definitions(EX3), cell], EX3
    )
    result = helpers.grade_nb(path, EX3)
    summaries = [c for c in result.checks if c.id.startswith("summarize")]
    assert summaries and all(c.status.value == "failed" for c in summaries), helpers.describe(
        result
    )
    assert "longer than the grader reads" in summaries[0].message
