"""Checks for ex03: output sizes, parameter counts and a Keras-like summary of a layer stack.

This module declares the exercise: its checks, public examples and catalogue. Its parts are
modules of their own: the hidden inputs (grader.exercises._ex03_inputs, drawn so that every
mistake a check is about shows at every seed), the known wrong answers
(grader.exercises._ex03_mistakes) and the judge of summarize's rows
(grader.exercises._ex03_summary).

summarize is judged twice per stack, output shapes and parameter counts, each with the
grader's conv_output_size, conv2d_params and dense_params in place of the student's (a helper's
mistake is charged by the helper's checks), and the parameters of a layer against the shape the
student's own summary gives its input (error carried forward: a wrong Flatten costs the shapes
check, not the Dense parameters after it too). See docs/grading.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.checks.calls import Call, Driver
from grader.checks.core import Exercise
from grader.exercises._ex03_inputs import (
    count_inputs,
    dense_inputs,
    feature_map_stack,
    size_inputs,
    stack_inputs,
)
from grader.exercises._ex03_mistakes import COUNT_WRONG, SIZE_WRONG, SUMMARY_WRONG
from grader.exercises._ex03_summary import summary_check
from grader.models import Limits

exercise = Exercise(
    "ex03_parameters",
    title="Output sizes and parameter counts",
    limits=Limits(cell_timeout=30, notebook_timeout=300),
)
ex = exercise

SUMMARIZE_DRIVER = Driver.from_file(
    Path(__file__).with_name("helper_drivers.py"), "drive_summarize"
)
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
    n, k, s = size_inputs(ex, f"size_{case}", strides, padding)
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

COUNT_NAMES = ("kernel_size", "in_channels", "filters")
ex.example(
    "conv2d_params_example",
    call=Call("conv2d_params", *count_inputs(ex, "public_conv_params", COUNT_NAMES)),
    hint=CONV_HINT + " kernel_size may be a pair (kh, kw).",
    title="conv2d_params with a (kh, kw) kernel",
)
ex.example(
    "conv2d_params_no_bias_example",
    call=Call(
        "conv2d_params",
        *count_inputs(ex, "public_conv_params_no_bias", COUNT_NAMES, square=True),
        use_bias=False,
    ),
    hint=CONV_HINT,
    title="conv2d_params without bias",
)


ex.example(
    "dense_params_example",
    call=Call("dense_params", *dense_inputs(ex, "public_dense_params")),
    hint=DENSE_HINT,
    title="dense_params",
)
ex.example(
    "dense_params_no_bias_example",
    call=Call("dense_params", *dense_inputs(ex, "public_dense_params_no_bias"), use_bias=False),
    hint=DENSE_HINT,
    title="dense_params without bias",
)
ex.example(
    "summarize_random_example",
    call=Call("summarize", *stack_inputs(ex, "public_stack")),
    hint=SUMMARY_HINT,
    title="summarize a random stack",
)
ex.example(
    "summarize_dense_on_feature_map_example",
    call=Call("summarize", *stack_inputs(ex, "public_fm", feature_map_stack)),
    hint=SUMMARY_HINT,
    title="summarize: dense on a 3-D input acts on the last axis",
)


def _summarize(stack: Any, shape: Any, name: str, points: float, title: str) -> None:
    call = Call.driver(SUMMARIZE_DRIVER, "summarize", stack, shape)
    ex.check(
        points=points,
        call=call,
        hint=SUMMARY_HINT,
        title=f"{title}: output shapes",
        id=f"{name}_shapes",
    )(summary_check("shapes", ex))
    ex.check(
        points=points,
        call=call,
        hint=SUMMARY_HINT + " Parameters are judged against the "
        "input shape your own summary gives each layer.",
        title=f"{title}: parameter counts",
        id=f"{name}_params",
    )(summary_check("params", ex))


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
    stack, shape = stack_inputs(ex, f"stack_{name}")
    _summarize(stack, shape, f"summarize_random_{name}", 0.75, f"summarize a random stack ({name})")
_summarize(
    [("conv2d", 8, 3, 1, "same"), ("batchnorm",), ("dense", 4), ("dropout", 0.2)],
    (10, 12, 3),
    "summarize_dense_on_feature_map",
    0.25,
    "summarize: dense on a 3-D input acts on the last axis",
)
