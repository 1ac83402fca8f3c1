"""Checks for ex03: output sizes, parameter counts and a Keras-like summary of a layer stack.

Hidden inputs are drawn so that every mistake a check is about shows at every seed (see
grader.checks.core): the 'same' size checks get an n the stride does not divide and an odd total
padding, the strided 'valid' check a remainder that ceil and round() both get wrong, and each
random stack has a strided 'valid' and a strided 'same' convolution on sizes that show those
roundings, a pooling of an odd size, a BatchNormalization and a Dropout.

summarize is judged twice per stack, output shapes and parameter counts, each with the
grader's conv_output_size, conv2d_params and dense_params in place of the student's (a helper's
mistake is charged by the helper's checks), and the parameters of a layer against the shape the
student's own summary gives its input (error carried forward: a wrong Flatten costs the shapes
check, not the Dense parameters after it too). See docs/grading.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.calls import Call, Driver, Input
from grader.checks.core import Context, Exercise, Fail
from grader.checks.expect import expect_int, expect_match
from grader.checks.variants import Wrong, explain
from grader.models import Limits

exercise = Exercise(
    "ex03_parameters",
    title="Output sizes and parameter counts",
    limits=Limits(cell_timeout=30, notebook_timeout=300),
)
ex = exercise

Stack = tuple[list[tuple[Any, ...]], tuple[int, int, int]]
SUMMARIZE_DRIVER = Driver.from_file(
    Path(__file__).with_name("helper_drivers.py"), "drive_summarize"
)


# -- hidden inputs -----------------------------------------------------------------------------


def _shows_roundings(n: int, k: int, s: int, padding: str) -> bool:
    """Whether (n, k, s) tells the right size from every rounding mistake of its padding:
    ceil and round() for 'valid'; floor, an even split of the padding and the course formula
    with p = (k - 1) // 2 for 'same' (all one too small or too large)."""
    if padding == "valid":
        q = (n - k) / s
        return n >= k and math.floor(q) != math.ceil(q) and math.floor(q) != round(q)
    out = -(-n // s)
    total = (out - 1) * s + k - n
    return (
        (n % s != 0 or s == 1)
        and total > 0
        and total % 2 == 1
        and (n + 2 * ((k - 1) // 2) - k) // s + 1 != out
    )


def _size_maker(strides: tuple[int, int], padding: str) -> Any:
    def make(rng: np.random.Generator) -> tuple[int, int, int]:
        while True:
            n = int(rng.integers(9, 41))
            k = int(rng.integers(2, 8))
            s = int(rng.integers(strides[0], strides[1] + 1))
            if s == 1 and padding == "valid":  # nothing to round: n - k + 1, k > 1
                return n, k, s
            if _shows_roundings(n, k, s, padding):
                return n, k, s

    return make


def _size_inputs(stream: str, strides: tuple[int, int], padding: str) -> tuple[Input, Input, Input]:
    make = _size_maker(strides, padding)

    def part(i: int) -> Any:
        return lambda rng: make(rng)[i]

    n, kernel_size, stride = (
        ex.input(label, part(i), stream=stream)
        for i, label in enumerate(("n", "kernel_size", "stride"))
    )
    return n, kernel_size, stride


def _stack_shapes(
    layers: list[tuple[Any, ...]], shape: tuple[int, ...]
) -> list[tuple[tuple[Any, ...], tuple[int, ...]]]:
    """(layer, its input shape) along a stack of the kinds random_stack makes."""
    out = []
    for layer in layers:
        out.append((layer, shape))
        if layer[0] == "conv2d":
            k, s, pad = (
                layer[2],
                layer[3] if len(layer) > 3 else 1,
                layer[4] if len(layer) > 4 else "valid",
            )
            rows, cols = (
                (-(-shape[0] // s), -(-shape[1] // s))
                if pad == "same"
                else ((shape[0] - k) // s + 1, (shape[1] - k) // s + 1)
            )
            shape = (rows, cols, layer[1])
        elif layer[0] == "maxpool2d":
            shape = (shape[0] // layer[1], shape[1] // layer[1], shape[2])
        elif layer[0] == "flatten":
            shape = (int(np.prod(shape)),)
        elif layer[0] == "dense":
            shape = shape[:-1] + (layer[1],)
    return out


def _shows_everything(layers: list[tuple[Any, ...]], shape: tuple[int, int, int]) -> bool:
    """A strided 'valid' and a strided 'same' convolution whose sizes show the rounding
    mistakes, a max pooling of an odd size, a BatchNormalization and a Dropout."""
    seen = set()
    for layer, (h, w, *_) in [(lay, s) for lay, s in _stack_shapes(layers, shape) if len(s) == 3]:
        if layer[0] == "conv2d" and len(layer) > 3 and layer[3] > 1:
            if any(_shows_roundings(n, layer[2], layer[3], layer[4]) for n in (h, w)):
                seen.add(layer[4])
            if min(h, w) < layer[2]:
                return False
        elif layer[0] == "maxpool2d" and (h % 2 or w % 2):
            seen.add("odd pooling")
    kinds = {layer[0] for layer in layers}
    return seen == {"valid", "same", "odd pooling"} and {"batchnorm", "dropout"} <= kinds


def random_stack(rng: np.random.Generator) -> Stack:
    """A random layer stack that Keras accepts, and the input shape it fits, holding everything
    the summarize checks are about (`_shows_everything`)."""
    while True:
        h, w, c = int(rng.integers(17, 41)), int(rng.integers(17, 41)), int(rng.choice([1, 3]))
        convs = [("valid", int(rng.choice([2, 3, 5]))), ("same", int(rng.choice([2, 4])))]
        if rng.random() < 0.5:
            convs.reverse()
        layers: list[tuple[Any, ...]] = []
        if rng.random() < 0.4:
            layers.append(("conv2d", int(rng.choice([4, 8])), int(rng.choice([1, 3]))))
        for padding, k in convs:
            layers.append(("conv2d", int(rng.choice([4, 8, 16, 32])), k, 2, padding))
            if rng.random() < 0.5:
                layers.append(("batchnorm",))
            if rng.random() < 0.8:
                layers.append(("maxpool2d", 2))
        if rng.random() < 0.5:
            layers.append(("dropout", 0.25))
        layers.append(("flatten",))
        layers.append(("dense", int(rng.choice([16, 32, 64, 128]))))
        if rng.random() < 0.5:
            layers.append(("dropout", 0.5))
        if rng.random() < 0.3:
            layers.append(("batchnorm",))
        layers.append(("dense", 10))
        if _shows_everything(layers, (h, w, c)) and all(
            min(s[:2]) >= 1 for _, s in _stack_shapes(layers, (h, w, c)) if len(s) == 3
        ):
            return layers, (h, w, c)


def _stack_inputs(stream: str) -> tuple[Input, Input]:
    return (
        ex.input("layers", lambda rng: random_stack(rng)[0], stream=stream),
        ex.input("input_shape", lambda rng: random_stack(rng)[1], stream=stream),
    )


# -- known wrong answers -----------------------------------------------------------------------


def _size(ref: Any, n: int, kernel_size: int, stride: int = 1, padding: str = "valid") -> int:
    return int(ref.conv_output_size(n, kernel_size, stride, padding))


def _same_only(f: Any) -> Any:
    return lambda ref, n, k, stride=1, padding="valid": (
        f(n, k, stride) if padding == "same" else _size(ref, n, k, stride, padding)
    )


def _valid_only(f: Any) -> Any:
    return lambda ref, n, k, stride=1, padding="valid": (
        f(n, k, stride) if padding == "valid" else _size(ref, n, k, stride, padding)
    )


def _pad_total(n: int, k: int, s: int) -> int:
    return max((-(-n // s) - 1) * s + k - n, 0)


SIZES_SAME = ("conv_output_size_same", "conv_output_size_same_strided")
SIZES_STRIDED = ("conv_output_size_valid_strided", "conv_output_size_fixed")
SIZE_WRONG = [
    Wrong(
        "conv_output_size",
        "same_floor",
        "with floor(n / stride) for 'same'; 'same' rounds up: ceil(n / stride)",
        _same_only(lambda n, k, s: n // s),
        caught_by=("conv_output_size_same_strided",),
    ),
    Wrong(
        "conv_output_size",
        "same_symmetric_padding",
        "with the 'same' padding split evenly (total // 2 on each side), which loses a pixel "
        "when the total is odd; the output size is ceil(n / stride) whatever the split",
        _same_only(lambda n, k, s: (n + 2 * (_pad_total(n, k, s) // 2) - k) // s + 1),
        caught_by=SIZES_SAME,
    ),
    Wrong(
        "conv_output_size",
        "same_course_formula",
        "with the formula floor((n + 2p - k) / s) + 1 and p = (k - 1) // 2 for 'same', which "
        "is off for even kernels; 'same' is ceil(n / stride) whatever k is",
        _same_only(lambda n, k, s: (n + 2 * ((k - 1) // 2) - k) // s + 1),
        caught_by=SIZES_SAME,
    ),
    Wrong(
        "conv_output_size",
        "same_as_valid",
        "with the 'valid' formula for 'same'",
        _same_only(lambda n, k, s: (n - k) // s + 1),
        caught_by=SIZES_SAME,
    ),
    Wrong(
        "conv_output_size",
        "valid_ceil",
        "with ceil instead of floor for 'valid': a window hanging over the edge is counted",
        _valid_only(lambda n, k, s: -(-(n - k) // s) + 1),
        caught_by=SIZES_STRIDED,
    ),
    Wrong(
        "conv_output_size",
        "valid_round",
        "with round() instead of floor for 'valid': a window hanging over the edge is counted",
        _valid_only(lambda n, k, s: round((n - k) / s) + 1),
        caught_by=SIZES_STRIDED,
    ),
    Wrong(
        "conv_output_size",
        "valid_no_plus_one",
        "without the + 1 of the 'valid' formula",
        _valid_only(lambda n, k, s: (n - k) // s),
        caught_by=(
            "conv_output_size_valid",
            "conv_output_size_valid_strided",
            "conv_output_size_fixed",
        ),
    ),
    Wrong(
        "conv_output_size",
        "stride_ignored",
        "with the stride ignored",
        lambda ref, n, k, stride=1, padding="valid": _size(ref, n, k, 1, padding),
        caught_by=(
            "conv_output_size_valid_strided",
            "conv_output_size_same_strided",
            "conv_output_size_fixed",
        ),
    ),
    Wrong(
        "conv_output_size",
        "padding_ignored",
        "with the padding ignored ('valid' always)",
        lambda ref, n, k, stride=1, padding="valid": _size(ref, n, k, stride, "valid"),
        caught_by=SIZES_SAME,
    ),
]


def _conv_params(f: Any) -> Any:
    def make(
        ref: Any, kernel_size: Any, in_channels: int, filters: int, use_bias: bool = True
    ) -> int:
        kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else tuple(kernel_size)
        return int(f(int(kh), int(kw), int(in_channels), int(filters), use_bias))

    return make


COUNT_WRONG = [
    Wrong(
        "conv2d_params",
        "no_bias",
        "without the bias of each filter",
        _conv_params(lambda kh, kw, c, f, b: kh * kw * c * f),
        caught_by=("conv2d_params_int", "conv2d_params_pair"),
    ),
    Wrong(
        "conv2d_params",
        "no_in_channels",
        "without the input channels: each filter spans all C_in of them",
        _conv_params(lambda kh, kw, c, f, b: (kh * kw + b) * f),
        caught_by=("conv2d_params_int", "conv2d_params_pair", "conv2d_params_no_bias"),
    ),
    Wrong(
        "conv2d_params",
        "square_kernel",
        "with a (kh, kw) kernel read as kh × kh",
        _conv_params(lambda kh, kw, c, f, b: (kh * kh * c + b) * f),
        caught_by=("conv2d_params_pair",),
    ),
    Wrong(
        "conv2d_params",
        "bias_always",
        "with a bias even when use_bias=False",
        _conv_params(lambda kh, kw, c, f, b: (kh * kw * c + 1) * f),
        caught_by=("conv2d_params_no_bias",),
    ),
    Wrong(
        "dense_params",
        "no_bias",
        "without the bias of each unit",
        lambda ref, n, u, use_bias=True: int(n) * int(u),
        caught_by=("dense_params",),
    ),
    Wrong(
        "dense_params",
        "bias_always",
        "with a bias even when use_bias=False",
        lambda ref, n, u, use_bias=True: (int(n) + 1) * int(u),
        caught_by=("dense_params_no_bias",),
    ),
]


def _rows_after(
    ref: Any, rows: list[Any], i: int, layers: list[Any], shape: tuple[int, ...], params: int
) -> list[Any]:
    """The reference's rows up to layer i, then layer i with `shape` and `params`, then the
    rest of the stack as the reference walks it from that shape (1-D shapes: features)."""
    rest = ref.summarize(layers[i + 1 :], (1, 1, shape[-1]) if len(shape) == 1 else shape)
    if len(shape) == 1:
        rest = [(tuple(s[2:]), p) for s, p in rest]
    return list(rows[:i]) + [(tuple(shape), params)] + [(tuple(s), p) for s, p in rest]


def _flatten_drops_channels(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    rows = ref.summarize(layers, input_shape)
    for i, layer in enumerate(layers):
        before = rows[i - 1][0] if i else tuple(input_shape)
        if layer[0] == "flatten" and len(before) == 3:
            return _rows_after(ref, rows, i, layers, (before[0] * before[1],), 0)
    return rows


def _dense_flattens(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    rows = ref.summarize(layers, input_shape)
    for i, layer in enumerate(layers):
        before = rows[i - 1][0] if i else tuple(input_shape)
        if layer[0] == "dense" and len(before) == 3:
            units = int(layer[1])
            return _rows_after(
                ref, rows, i, layers, (units,), ref.dense_params(int(np.prod(before)), units)
            )
    return rows


def _conv_valid_stride_1(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    return ref.summarize([tuple(la[:3]) if la[0] == "conv2d" else la for la in layers], input_shape)


def _pool_rounds_up(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    rows = ref.summarize(layers, input_shape)
    swapped = [
        ("conv2d", (rows[i - 1][0] if i else tuple(input_shape))[-1], la[1], la[1], "same")
        if la[0] == "maxpool2d"
        else la
        for i, la in enumerate(layers)
    ]
    return [
        (s, 0 if la[0] == "maxpool2d" else p)
        for la, (s, p) in zip(layers, ref.summarize(swapped, input_shape), strict=False)
    ]


def _recount(f: Any) -> Any:
    """The reference's shapes with the parameters of some layers counted another way."""

    def make(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
        rows = ref.summarize(layers, input_shape)
        ins = [tuple(input_shape)] + [s for s, _ in rows[:-1]]
        return [
            (s, f(ref, la, shape_in, p))
            for la, (s, p), shape_in in zip(layers, rows, ins, strict=False)
        ]

    return make


def _conv_only(f: Any) -> Any:
    return _recount(lambda ref, la, shape_in, p: f(ref, la, shape_in) if la[0] == "conv2d" else p)


def _shapes(rows: Any) -> list[Any]:
    return [r[0] for r in rows]


def _params(rows: Any) -> list[Any]:
    return [r[1] for r in rows]


STACKS = (
    "summarize_course_cnn",
    "summarize_random_a",
    "summarize_random_b",
    "summarize_dense_on_feature_map",
)
RANDOM_STACKS = ("summarize_random_a", "summarize_random_b")
SUMMARY_WRONG = [
    Wrong(
        "summarize",
        "batchnorm_two_per_channel",
        "with 2 parameters per channel for BatchNormalization (gamma and beta); Keras also "
        "counts the moving mean and variance: 4 × C",
        _recount(lambda ref, la, shape_in, p: p // 2 if la[0] == "batchnorm" else p),
        caught_by=tuple(f"{s}_params" for s in RANDOM_STACKS)
        + ("summarize_dense_on_feature_map_params",),
    ),
    Wrong(
        "summarize",
        "flatten_drops_channels",
        "with Flatten giving H × W features, without the channels",
        _flatten_drops_channels,
        caught_by=tuple(f"{s}_shapes" for s in STACKS[:3]),
    ),
    Wrong(
        "summarize",
        "dense_flattens_input",
        "with Dense flattening its input first; Keras applies Dense to the last axis",
        _dense_flattens,
        caught_by=(
            "summarize_dense_on_feature_map_shapes",
            "summarize_dense_on_feature_map_params",
        ),
    ),
    Wrong(
        "summarize",
        "conv_stride_padding_ignored",
        "with every Conv2D taken as stride 1, 'valid': the stride and padding are not read",
        _conv_valid_stride_1,
        caught_by=tuple(f"{s}_shapes" for s in STACKS[1:]),
    ),
    Wrong(
        "summarize",
        "pool_rounds_up",
        "with max pooling rounding up (ceil(n / pool)); MaxPooling2D keeps only whole "
        "windows: floor",
        _pool_rounds_up,
        caught_by=tuple(f"{s}_shapes" for s in STACKS[:3]),
    ),
    Wrong(
        "summarize",
        "conv_in_channels_are_filters",
        "with a Conv2D's parameters counted from its own filters instead of its input's "
        "channels (the shape updated before the count?)",
        _conv_only(lambda ref, la, shape_in: ref.conv2d_params(la[2], la[1], la[1])),
        caught_by=tuple(f"{s}_params" for s in STACKS),
    ),
    Wrong(
        "summarize",
        "conv_no_bias",
        "with Conv2D counted without its biases",
        _conv_only(
            lambda ref, la, shape_in: ref.conv2d_params(la[2], shape_in[-1], la[1], use_bias=False)
        ),
        caught_by=tuple(f"{s}_params" for s in STACKS),
    ),
]
ex.wrong += SIZE_WRONG + COUNT_WRONG + SUMMARY_WRONG


# -- checks ------------------------------------------------------------------------------------

SIZE_HINT = (
    "'valid': floor((n - k) / s) + 1, which is the course formula "
    "floor((n + 2p - k) / s) + 1 with p = 0. 'same' (TF): ceil(n / s), whatever k is."
)
CONV_HINT = (
    "A Conv2D layer has one kh×kw×C_in kernel per filter plus one bias per filter: "
    "(kh * kw * C_in + 1) * filters; without bias drop the +1."
)
DENSE_HINT = "A Dense layer has in_features × units weights and one bias per unit."
SUMMARY_HINT = (
    "Walk the stack keeping the current shape: conv changes H, W (by the output-size "
    "rule) and C (to filters); max pooling divides H and W (floor); flatten multiplies "
    "everything; dense acts on the last axis; batchnorm has 4 × C parameters (gamma, "
    "beta, moving mean and variance); dropout changes nothing."
)

for case, strides, padding, points in (
    ("valid", (1, 1), "valid", 0.5),
    ("valid_strided", (2, 3), "valid", 0.5),
    ("same", (1, 1), "same", 0.5),
    ("same_strided", (2, 3), "same", 0.5),
):
    n, k, s = _size_inputs(f"size_{case}", strides, padding)
    ex.compare(
        f"conv_output_size_{case}",
        points=points,
        call=Call("conv_output_size", n, k, stride=s, padding=padding),
        hint=SIZE_HINT,
        title=f"conv_output_size, padding='{padding}'" + (", stride 2–3" if strides[0] > 1 else ""),
    )

ex.compare(
    "conv_output_size_fixed",
    points=0.5,
    call=Call("conv_output_size", 11, 3, stride=3, padding="valid"),
    hint=SIZE_HINT,
    title="conv_output_size(11, 3, stride=3): the last window does not fit",
)
ex.compare(
    "conv2d_params_int",
    points=0.5,
    call=Call("conv2d_params", 3, 32, 64),
    hint=CONV_HINT,
    title="conv2d_params(3, 32, 64)",
)
ex.compare(
    "conv2d_params_pair",
    points=0.5,
    call=Call("conv2d_params", (5, 3), 3, 16),
    hint=CONV_HINT + " kernel_size may be a pair (kh, kw).",
    title="conv2d_params with a (5, 3) kernel",
)
ex.compare(
    "conv2d_params_no_bias",
    points=0.5,
    call=Call("conv2d_params", 3, 16, 8, use_bias=False),
    hint=CONV_HINT,
    title="conv2d_params without bias",
)
ex.compare(
    "dense_params",
    points=0.5,
    call=Call("dense_params", 1600, 128),
    hint=DENSE_HINT,
    title="dense_params(1600, 128)",
)
ex.compare(
    "dense_params_no_bias",
    points=0.5,
    call=Call("dense_params", 128, 10, use_bias=False),
    hint=DENSE_HINT,
    title="dense_params without bias",
)


# -- public examples (grader.selfcheck.public) -------------------------------------------------
# The graded parameter counts use fixed arguments, and summarize's checks a driver that also runs
# the grader's helpers: the release gets calls of its own, drawn on public streams, chosen so that
# every catalogued mistake shows on one of them (a (kh, kw) kernel with kh ≠ kw, C_in ≥ 2, each
# use_bias; random stacks holding everything summarize's checks are about).


def _count_args(rng: np.random.Generator) -> tuple[Any, int, int]:
    kh, kw = (int(v) for v in rng.choice(np.arange(1, 8), size=2, replace=False))
    return (kh, kw), int(rng.integers(2, 65)), int(rng.integers(2, 129))


def _count_inputs(stream: str, names: tuple[str, ...], square: bool = False) -> list[Input]:
    def pick(i: int) -> Any:
        def make(rng: np.random.Generator) -> Any:
            value: Any = _count_args(rng)[i]
            return value[0] if square and i == 0 else value

        return make

    return [ex.input(name, pick(i), stream=stream) for i, name in enumerate(names)]


def _feature_map_stack(rng: np.random.Generator) -> Stack:
    h, w, c = (int(v) for v in rng.integers(5, 17, size=3))
    return (
        [
            ("conv2d", int(rng.choice([4, 8, 16])), int(rng.choice([2, 3])), 1, "same"),
            ("batchnorm",),
            ("dense", int(rng.integers(2, 33))),
            ("dropout", 0.2),
        ],
        (h, w, c),
    )


COUNT_NAMES = ("kernel_size", "in_channels", "filters")
ex.example(
    "conv2d_params_example",
    call=Call("conv2d_params", *_count_inputs("public_conv_params", COUNT_NAMES)),
    hint=CONV_HINT + " kernel_size may be a pair (kh, kw).",
    title="conv2d_params with a (kh, kw) kernel",
)
ex.example(
    "conv2d_params_no_bias_example",
    call=Call(
        "conv2d_params",
        *_count_inputs("public_conv_params_no_bias", COUNT_NAMES, square=True),
        use_bias=False,
    ),
    hint=CONV_HINT,
    title="conv2d_params without bias",
)


def _dense_inputs(stream: str) -> tuple[Input, Input]:
    return (
        ex.input("in_features", lambda rng: int(rng.integers(2, 4097)), stream=stream),
        ex.input("units", lambda rng: int(rng.integers(2, 257)), stream=stream + "_units"),
    )


ex.example(
    "dense_params_example",
    call=Call("dense_params", *_dense_inputs("public_dense_params")),
    hint=DENSE_HINT,
    title="dense_params",
)
ex.example(
    "dense_params_no_bias_example",
    call=Call("dense_params", *_dense_inputs("public_dense_params_no_bias"), use_bias=False),
    hint=DENSE_HINT,
    title="dense_params without bias",
)
ex.example(
    "summarize_random_example",
    call=Call("summarize", *_stack_inputs("public_stack")),
    hint=SUMMARY_HINT,
    title="summarize a random stack",
)
ex.example(
    "summarize_dense_on_feature_map_example",
    call=Call(
        "summarize",
        ex.input("layers", lambda rng: _feature_map_stack(rng)[0], stream="public_fm"),
        ex.input("input_shape", lambda rng: _feature_map_stack(rng)[1], stream="public_fm"),
    ),
    hint=SUMMARY_HINT,
    title="summarize: dense on a 3-D input acts on the last axis",
)


def _layer_text(layer: Any) -> str:
    return repr(tuple(layer)) if isinstance(layer, (list, tuple)) else repr(layer)


HELPERS_NOTE = (
    " (summarize ran with the grader's conv_output_size, conv2d_params and "
    "dense_params in place of yours, so that a mistake in those counts in their own "
    "checks only)"
)


def _runs(got: Any, ctx: Context) -> list[tuple[str, Any]]:
    """The student's answers worth judging: with the grader's helpers first, then as written."""
    if not isinstance(got, dict):
        raise Fail(
            f"{ctx.text}: the grader could not read the result of summarize "
            f"(got {type(got).__name__})"
        )
    runs = [
        (key, got[key]) for key in ("with_reference", "own") if key in got and got[key] is not None
    ]
    if not runs:
        raise Fail(f"{ctx.text}: summarize returned None")
    return runs


def _rows(value: Any, ctx: Context, want: list[Any]) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise Fail(
            f"{ctx.text}: expected a list of (output_shape, params) pairs, got "
            f"{type(value).__name__}"
        )
    if len(value) != len(want):
        raise Fail(f"{ctx.text}: expected one entry per layer ({len(want)}), got {len(value)}")
    return [r if isinstance(r, (list, tuple)) and len(r) == 2 else (r, None) for r in value]


def _well_formed(shape: Any) -> bool:
    return (
        isinstance(shape, (list, tuple))
        and 1 <= len(shape) <= 3
        and all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
        )
    )


def _layer_params(ref: Any, layer: Any, shape_in: tuple[int, ...], fallback: int) -> int:
    """What the layer's parameters are when its input has `shape_in` (they depend only on its
    last axis): the reference's count for the layer alone on (64, 64, C)."""
    try:
        return int(ref.summarize([layer], (64, 64, int(shape_in[-1])))[0][1])
    except Exception:  # noqa: BLE001 - a shape the reference cannot take: no credit carried
        return fallback


def _carried_forward(
    ref: Any, layers: list[Any], input_shape: Any, rows: list[Any], want: list[Any]
) -> list[tuple[tuple[int, ...], int]]:
    """(input shape, expected params) per layer, the input shape being what the student's own
    previous row says when that is a usable shape, else the reference's."""
    out = []
    shape_in = tuple(int(d) for d in input_shape)
    for i, layer in enumerate(layers):
        out.append((shape_in, _layer_params(ref, layer, shape_in, int(want[i][1]))))
        mine = rows[i][0]
        shape_in = (
            tuple(int(d) for d in mine) if _well_formed(mine) else tuple(int(d) for d in want[i][0])
        )
    return out


def _judge(value: Any, ctx: Context, what: str) -> tuple[str, list[list[Any]]]:
    """'' when `value` (one run's rows) is right in `what` ('shapes' or 'params'), else the
    message; and the report's table either way."""
    want = ctx.expected["own"]
    layers, input_shape = ctx.args
    rows = _rows(value, ctx, want)
    first_bad = ""
    table: list[list[Any]]
    if what == "shapes":
        table = [["#", "layer", "expected shape", "your shape"]]
        for i, (w, g) in enumerate(zip(want, rows, strict=False)):
            try:
                expect_match(g[0], w[0], what="output_shape")
                ok = True
            except Fail as exc:
                ok = False
                first_bad = first_bad or (
                    f"layer {i + 1} {_layer_text(layers[i])}: expected "
                    f"output shape {w[0]}, got {g[0]!r:.120} ({exc})"
                )
            table.append(
                [
                    str(i + 1),
                    _layer_text(layers[i]),
                    str(w[0]),
                    {"text": str(g[0]), "status": "ok" if ok else "bad"},
                ]
            )
        return first_bad, table
    carried = _carried_forward(ctx.reference, layers, input_shape, rows, want)
    table = [["#", "layer", "input shape (yours)", "expected params", "your params"]]
    for i, ((shape_in, p), g) in enumerate(zip(carried, rows, strict=False)):
        try:
            expect_int(g[1], p, what="params")
            ok = True
        except Fail as exc:
            ok = False
            first_bad = first_bad or (
                f"layer {i + 1} {_layer_text(layers[i])} on an input of shape {shape_in}: {exc}"
            )
        table.append(
            [
                str(i + 1),
                _layer_text(layers[i]),
                str(shape_in),
                str(p),
                {"text": str(g[1]), "status": "ok" if ok else "bad"},
            ]
        )
    return first_bad, table


def _summary_check(what: str) -> Any:
    def check(got: Any, ctx: Context) -> None:
        runs = _runs(got, ctx)
        verdicts = []
        for _, value in runs:
            try:
                verdicts.append(_judge(value, ctx, what))
            except Fail as exc:
                verdicts.append((str(exc).removeprefix(f"{ctx.text}: "), []))
        if any(not bad for bad, _ in verdicts):
            return
        bad, table = verdicts[0]
        if table:
            ctx.extras["table"] = table
        value = runs[0][1]
        note = (
            HELPERS_NOTE
            if runs[0][0] == "with_reference"
            and len(runs) > 1
            and not _same(runs[0][1], runs[1][1])
            else ""
        )
        why = ""
        if table:  # the rows were readable: which known mistake gives them?
            want = ctx.expected["own"]
            rows = _rows(value, ctx, want)
            pick = _shapes if what == "shapes" else _params
            expected = (
                _shapes(want)
                if what == "shapes"
                else [
                    p
                    for _, p in _carried_forward(
                        ctx.reference, ctx.args[0], ctx.args[1], rows, want
                    )
                ]
            )
            why = explain(pick(rows), ctx, ex.wrong, part=pick, expected=expected)
        raise Fail(f"{ctx.text}: {bad}{why}{note}")

    return check


def _same(a: Any, b: Any) -> bool:
    try:
        expect_match(a, b, what="")
    except Exception:  # noqa: BLE001
        return False
    return True


def _summarize(stack: Any, shape: Any, name: str, points: float, title: str) -> None:
    call = Call.driver(SUMMARIZE_DRIVER, "summarize", stack, shape)
    ex.check(
        points=points,
        call=call,
        hint=SUMMARY_HINT,
        title=f"{title}: output shapes",
        id=f"{name}_shapes",
    )(_summary_check("shapes"))
    ex.check(
        points=points,
        call=call,
        hint=SUMMARY_HINT + " Parameters are judged against the "
        "input shape your own summary gives each layer.",
        title=f"{title}: parameter counts",
        id=f"{name}_params",
    )(_summary_check("params"))


COURSE_CNN = [
    ("conv2d", 64, 3),
    ("maxpool2d", 2),
    ("conv2d", 64, 3),
    ("maxpool2d", 2),
    ("flatten",),
    ("dense", 128),
    ("dense", 10),
]
_summarize(
    COURSE_CNN,
    (28, 28, 1),
    "summarize_course_cnn",
    0.75,
    "summarize the course CNN (243,786 parameters)",
)
for name in ("a", "b"):
    stack, shape = _stack_inputs(f"stack_{name}")
    _summarize(stack, shape, f"summarize_random_{name}", 0.75, f"summarize a random stack ({name})")
_summarize(
    [("conv2d", 8, 3, 1, "same"), ("batchnorm",), ("dense", 4), ("dropout", 0.2)],
    (10, 12, 3),
    "summarize_dense_on_feature_map",
    0.25,
    "summarize: dense on a 3-D input acts on the last axis",
)
