"""The hidden inputs of ex03 (grader.exercises.ex03_parameters): their makers, and the
exercise's inputs drawn from them on named streams.

Every mistake a check is about shows at every seed (see grader.checks.core): the 'same' size
checks get an n the stride does not divide and an odd total padding, the strided 'valid' check a
remainder that ceil and round() both get wrong, and each random stack has a strided 'valid' and a
strided 'same' convolution on sizes that show those roundings, a pooling of an odd size, a
BatchNormalization and a Dropout. The public examples' inputs (grader.selfcheck.public) are made
here too: a (kh, kw) kernel with kh ≠ kw, C_in ≥ 2, and a Dense layer on a 3-D feature map.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.checks.calls import Input
from grader.checks.core import Exercise

Stack = tuple[list[tuple[Any, ...]], tuple[int, int, int]]


# -- output sizes ------------------------------------------------------------------------------


def shows_roundings(n: int, k: int, s: int, padding: str) -> bool:
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


def _size_maker(
    strides: tuple[int, int], padding: str
) -> Callable[[np.random.Generator], tuple[int, int, int]]:
    def make(rng: np.random.Generator) -> tuple[int, int, int]:
        while True:
            n = int(rng.integers(9, 41))
            k = int(rng.integers(2, 8))
            s = int(rng.integers(strides[0], strides[1] + 1))
            if s == 1 and padding == "valid":  # nothing to round: n - k + 1, k > 1
                return n, k, s
            if shows_roundings(n, k, s, padding):
                return n, k, s

    return make


def size_inputs(
    ex: Exercise, stream: str, strides: tuple[int, int], padding: str
) -> tuple[Input, Input, Input]:
    """n, kernel_size and stride of a conv_output_size check, drawn together on `stream`."""
    make = _size_maker(strides, padding)

    def part(i: int) -> Callable[[np.random.Generator], int]:
        return lambda rng: make(rng)[i]

    n, kernel_size, stride = (
        ex.input(label, part(i), stream=stream)
        for i, label in enumerate(("n", "kernel_size", "stride"))
    )
    return n, kernel_size, stride


# -- layer stacks ------------------------------------------------------------------------------


def stack_shapes(
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


def shows_everything(layers: list[tuple[Any, ...]], shape: tuple[int, int, int]) -> bool:
    """A strided 'valid' and a strided 'same' convolution whose sizes show the rounding
    mistakes, a max pooling of an odd size, a BatchNormalization and a Dropout."""
    seen = set()
    for layer, (h, w, *_) in [(lay, s) for lay, s in stack_shapes(layers, shape) if len(s) == 3]:
        if layer[0] == "conv2d" and len(layer) > 3 and layer[3] > 1:
            if any(shows_roundings(n, layer[2], layer[3], layer[4]) for n in (h, w)):
                seen.add(layer[4])
            if min(h, w) < layer[2]:
                return False
        elif layer[0] == "maxpool2d" and (h % 2 or w % 2):
            seen.add("odd pooling")
    kinds = {layer[0] for layer in layers}
    return seen == {"valid", "same", "odd pooling"} and {"batchnorm", "dropout"} <= kinds


def random_stack(rng: np.random.Generator) -> Stack:
    """A random layer stack that Keras accepts, and the input shape it fits, holding everything
    the summarize checks are about (`shows_everything`)."""
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
        if shows_everything(layers, (h, w, c)) and all(
            min(s[:2]) >= 1 for _, s in stack_shapes(layers, (h, w, c)) if len(s) == 3
        ):
            return layers, (h, w, c)


def stack_inputs(
    ex: Exercise, stream: str, make: Callable[[np.random.Generator], Stack] = random_stack
) -> tuple[Input, Input]:
    """A stack `make` draws and the input shape it fits, drawn together on `stream`."""
    return (
        ex.input("layers", lambda rng: make(rng)[0], stream=stream),
        ex.input("input_shape", lambda rng: make(rng)[1], stream=stream),
    )


# -- parameter counts (public examples) --------------------------------------------------------


def _count_args(rng: np.random.Generator) -> tuple[Any, int, int]:
    kh, kw = (int(v) for v in rng.choice(np.arange(1, 8), size=2, replace=False))
    return (kh, kw), int(rng.integers(2, 65)), int(rng.integers(2, 129))


def count_inputs(
    ex: Exercise, stream: str, names: tuple[str, ...], square: bool = False
) -> list[Input]:
    """The arguments `names` of a conv2d_params call; `square`: an int kernel_size."""

    def pick(i: int) -> Callable[[np.random.Generator], Any]:
        def make(rng: np.random.Generator) -> Any:
            value: Any = _count_args(rng)[i]
            return value[0] if square and i == 0 else value

        return make

    return [ex.input(name, pick(i), stream=stream) for i, name in enumerate(names)]


def feature_map_stack(rng: np.random.Generator) -> Stack:
    """A stack with a Dense layer on a 3-D feature map (Keras applies it to the last axis)."""
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


def dense_inputs(ex: Exercise, stream: str) -> tuple[Input, Input]:
    return (
        ex.input("in_features", lambda rng: int(rng.integers(2, 4097)), stream=stream),
        ex.input("units", lambda rng: int(rng.integers(2, 257)), stream=stream + "_units"),
    )
