"""The catalogue of known wrong answers of ex03 (grader.exercises.ex03_parameters): each
mistake in conv_output_size, conv2d_params, dense_params and summarize as a function of the
reference, and the checks that exist to catch it (grader.checks.variants)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.checks.variants import Wrong

# The summarize checks, two per stack: f"{stack}_shapes" and f"{stack}_params".
STACKS = (
    "summarize_course_cnn",
    "summarize_random_a",
    "summarize_random_b",
    "summarize_dense_on_feature_map",
)
RANDOM_STACKS = ("summarize_random_a", "summarize_random_b")


# -- conv_output_size --------------------------------------------------------------------------


def _size(ref: Any, n: int, kernel_size: int, stride: int = 1, padding: str = "valid") -> int:
    return int(ref.conv_output_size(n, kernel_size, stride, padding))


# A mistake in one padding's size (n, k, stride -> size), the reference's size for the other.
SizeRule = Callable[[int, int, int], int]


def _same_only(f: SizeRule) -> Callable[..., int]:
    return lambda ref, n, k, stride=1, padding="valid": (
        f(n, k, stride) if padding == "same" else _size(ref, n, k, stride, padding)
    )


def _valid_only(f: SizeRule) -> Callable[..., int]:
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


# -- conv2d_params and dense_params ------------------------------------------------------------


def _conv_params(f: Callable[[int, int, int, int, bool], int]) -> Callable[..., int]:
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


# -- summarize ---------------------------------------------------------------------------------


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
    rows: list[Any] = ref.summarize(layers, input_shape)
    for i, layer in enumerate(layers):
        before = rows[i - 1][0] if i else tuple(input_shape)
        if layer[0] == "flatten" and len(before) == 3:
            return _rows_after(ref, rows, i, layers, (before[0] * before[1],), 0)
    return rows


def _dense_flattens(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    rows: list[Any] = ref.summarize(layers, input_shape)
    for i, layer in enumerate(layers):
        before = rows[i - 1][0] if i else tuple(input_shape)
        if layer[0] == "dense" and len(before) == 3:
            units = int(layer[1])
            return _rows_after(
                ref, rows, i, layers, (units,), ref.dense_params(int(np.prod(before)), units)
            )
    return rows


def _conv_valid_stride_1(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
    rows: list[Any] = ref.summarize(
        [tuple(la[:3]) if la[0] == "conv2d" else la for la in layers], input_shape
    )
    return rows


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


# A layer's parameters counted another way: (reference, layer, its input shape, right count).
Recount = Callable[[Any, Any, tuple[int, ...], int], int]
Summary = Callable[[Any, list[Any], Any], list[Any]]


def _recount(f: Recount) -> Summary:
    """The reference's shapes with the parameters of some layers counted another way."""

    def make(ref: Any, layers: list[Any], input_shape: Any) -> list[Any]:
        rows = ref.summarize(layers, input_shape)
        ins = [tuple(input_shape)] + [s for s, _ in rows[:-1]]
        return [
            (s, f(ref, la, shape_in, p))
            for la, (s, p), shape_in in zip(layers, rows, ins, strict=False)
        ]

    return make


def _conv_only(f: Callable[[Any, Any, tuple[int, ...]], int]) -> Summary:
    return _recount(lambda ref, la, shape_in, p: f(ref, la, shape_in) if la[0] == "conv2d" else p)


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
