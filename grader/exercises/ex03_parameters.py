"""Checks for ex03: output sizes, parameter counts and a Keras-like summary of a layer stack."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.core import Call, Context, Exercise, Fail, Input
from grader.execution.kernel import Limits
from grader.checks.expect import expect_int, expect_match

exercise = Exercise("ex03_parameters", title="Output sizes and parameter counts",
                    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10))
ex = exercise

Stack = tuple[list[tuple[Any, ...]], tuple[int, int, int]]


def random_stack(rng: np.random.Generator) -> Stack:
    """A random layer stack that Keras accepts, and the input shape it fits."""
    h, w, c = int(rng.integers(16, 33)), int(rng.integers(16, 33)), int(rng.choice([1, 3]))
    shape = (h, w, c)
    layers: list[tuple[Any, ...]] = []
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.choice([1, 2, 3, 5]))
        if min(h, w) < k + 1:
            break
        filters = int(rng.choice([4, 8, 16, 32]))
        form = int(rng.integers(0, 3))
        if form == 0:
            layers.append(("conv2d", filters, k))
            h, w = h - k + 1, w - k + 1
        else:
            s = int(rng.choice([1, 2]))
            pad = "same" if form == 2 else "valid"
            layers.append(("conv2d", filters, k, s, pad))
            h, w = ((-(-h // s), -(-w // s)) if pad == "same"
                    else ((h - k) // s + 1, (w - k) // s + 1))
        if rng.random() < 0.4:
            layers.append(("batchnorm",))
        if min(h, w) >= 4 and rng.random() < 0.7:
            layers.append(("maxpool2d", 2))
            h, w = h // 2, w // 2
    if rng.random() < 0.5:
        layers.append(("dropout", 0.25))
    layers.append(("flatten",))
    layers.append(("dense", int(rng.choice([16, 32, 64, 128]))))
    if rng.random() < 0.5:
        layers.append(("dropout", 0.5))
    layers.append(("dense", 10))
    return layers, shape


def _stack_inputs(stream: str) -> tuple[Input, Input]:
    return (ex.input("layers", lambda rng: random_stack(rng)[0], stream=stream),
            ex.input("input_shape", lambda rng: random_stack(rng)[1], stream=stream))


def _size_inputs(stream: str, strides: tuple[int, int]) -> tuple[Input, Input, Input]:
    def make(rng: np.random.Generator) -> tuple[int, int, int]:
        return (int(rng.integers(9, 41)), int(rng.integers(1, 8)),
                int(rng.integers(strides[0], strides[1] + 1)))
    return tuple(ex.input(label, (lambda i: lambda rng: make(rng)[i])(i), stream=stream)
                 for i, label in enumerate(("n", "kernel_size", "stride")))  # type: ignore[return-value]


SIZE_HINT = ("'valid': floor((n - k) / s) + 1, which is the course formula "
             "floor((n + 2p - k) / s) + 1 with p = 0. 'same' (TF): ceil(n / s), whatever k is.")
CONV_HINT = ("A Conv2D layer has one kh×kw×C_in kernel per filter plus one bias per filter: "
             "(kh * kw * C_in + 1) * filters; without bias drop the +1.")
DENSE_HINT = "A Dense layer has in_features × units weights and one bias per unit."
SUMMARY_HINT = ("Walk the stack keeping the current shape: conv changes H, W (by the output-size "
                "rule) and C (to filters); max pooling divides H and W (floor); flatten multiplies "
                "everything; dense acts on the last axis; batchnorm has 4 × C parameters (gamma, "
                "beta, moving mean and variance); dropout changes nothing.")

for case, strides, padding, points in (("valid", (1, 1), "valid", 0.5),
                                       ("valid_strided", (2, 3), "valid", 0.5),
                                       ("same", (1, 1), "same", 0.5),
                                       ("same_strided", (2, 3), "same", 0.5)):
    n, k, s = _size_inputs(f"size_{case}", strides)
    ex.compare(f"conv_output_size_{case}", points=points,
               call=Call("conv_output_size", n, k, stride=s, padding=padding), hint=SIZE_HINT,
               title=f"conv_output_size, padding='{padding}'"
                     + (", stride 2–3" if strides[0] > 1 else ""))

ex.compare("conv_output_size_fixed", points=0.5,
           call=Call("conv_output_size", 11, 3, stride=3, padding="valid"), hint=SIZE_HINT,
           title="conv_output_size(11, 3, stride=3): the last window does not fit")
ex.compare("conv2d_params_int", points=0.5, call=Call("conv2d_params", 3, 32, 64),
           hint=CONV_HINT, title="conv2d_params(3, 32, 64)")
ex.compare("conv2d_params_pair", points=0.5, call=Call("conv2d_params", (5, 3), 3, 16),
           hint=CONV_HINT + " kernel_size may be a pair (kh, kw).",
           title="conv2d_params with a (5, 3) kernel")
ex.compare("conv2d_params_no_bias", points=0.5,
           call=Call("conv2d_params", 3, 16, 8, use_bias=False), hint=CONV_HINT,
           title="conv2d_params without bias")
ex.compare("dense_params", points=0.5, call=Call("dense_params", 1600, 128), hint=DENSE_HINT,
           title="dense_params(1600, 128)")
ex.compare("dense_params_no_bias", points=0.5,
           call=Call("dense_params", 128, 10, use_bias=False), hint=DENSE_HINT,
           title="dense_params without bias")


def _layer_text(layer: Any) -> str:
    return repr(tuple(layer)) if isinstance(layer, (list, tuple)) else repr(layer)


def check_summary(got: Any, ctx: Context) -> None:
    """Compare layer by layer, naming the first layer that is off and showing both rows."""
    want = ctx.expected
    layers = ctx.args[0]
    if not isinstance(got, (list, tuple)):
        raise Fail(f"{ctx.text}: expected a list of (output_shape, params) pairs, got "
                   f"{type(got).__name__}")
    rows = [["#", "layer", "expected shape", "expected params", "your shape", "your params"]]
    first_bad = ""
    for i, w in enumerate(want):
        g = got[i] if i < len(got) else None
        ok = True
        try:
            if not isinstance(g, (list, tuple)) or len(g) != 2:
                raise Fail("not an (output_shape, params) pair")
            expect_match(g[0], w[0], what="output_shape")
            expect_int(g[1], w[1], what="params")
        except Fail as exc:
            ok = False
            if not first_bad:
                first_bad = (f"layer {i + 1} {_layer_text(layers[i])}: expected "
                             f"({w[0]}, {w[1]}), got {g!r:.120} ({exc})")
        shown = g if isinstance(g, (list, tuple)) and len(g) == 2 else (g, "")
        rows.append([str(i + 1), _layer_text(layers[i]), str(w[0]), str(w[1]),
                     {"text": str(shown[0]), "status": "ok" if ok else "bad"},
                     {"text": str(shown[1]), "status": "ok" if ok else "bad"}])
    ctx.extras["table"] = rows
    if len(got) != len(want):
        raise Fail(f"{ctx.text}: expected one entry per layer ({len(want)}), got {len(got)}")
    if first_bad:
        raise Fail(f"{ctx.text}: {first_bad}")


COURSE_CNN = [("conv2d", 64, 3), ("maxpool2d", 2), ("conv2d", 64, 3), ("maxpool2d", 2),
              ("flatten",), ("dense", 128), ("dense", 10)]
ex.check(points=1.5, call=Call("summarize", COURSE_CNN, (28, 28, 1)), hint=SUMMARY_HINT,
         title="summarize the course CNN (243,786 parameters)",
         id="summarize_course_cnn")(check_summary)
for name in ("a", "b"):
    stack, shape = _stack_inputs(f"stack_{name}")
    ex.check(points=1.5, call=Call("summarize", stack, shape), hint=SUMMARY_HINT,
             title=f"summarize a random stack ({name})", id=f"summarize_random_{name}")(check_summary)
ex.check(points=0.5, call=Call("summarize", [("conv2d", 8, 3, 1, "same"), ("batchnorm",),
                                          ("dense", 4), ("dropout", 0.2)], (10, 12, 3)),
         hint=SUMMARY_HINT, title="summarize: dense on a 3-D input acts on the last axis",
         id="summarize_dense_on_feature_map")(check_summary)
