"""One mistake, one deduction: a function that calls other graded functions is judged apart
from them (docs/grading.md).

summarize and precision_recall_f1 run twice in the kernel (grader/exercises/helper_drivers.py):
as written, and with the grader's own helpers in place of the student's; either answer right
passes. summarize's parameters are judged against the shapes its own rows give each layer.
"""

from __future__ import annotations

from typing import Any

import helpers
import inprocess
import numpy as np
import pytest

from grader.checks.core import Context
from grader.checks.reference import load_reference
from grader.checks.runner import run_check
from grader.exercises import ex03_parameters, get
from grader.probe.evidence import Evidence

EX3 = "ex03_parameters"
SUMMARIZE = [c.id for c in get(EX3).checks if c.id.startswith("summarize")]
CONV_PARAMS = {"conv2d_params_int", "conv2d_params_pair"}


def grade(exercise: str, *cells: str, seed: int = helpers.SEED) -> dict[str, Any]:
    return {r.id: r for r in inprocess.grade(exercise, seed, *cells)}


def test_a_missing_plus_one_in_conv2d_params_costs_its_own_checks_only() -> None:
    """The issue's example: it cost 6.5 of 10 when summarize's four checks inherited it."""
    cell = (
        "def conv2d_params(kernel_size, in_channels, filters, use_bias=True):\n"
        "    kh, kw = (kernel_size,) * 2 if np.ndim(kernel_size) == 0 else kernel_size\n"
        "    return (kh * kw * in_channels + (0 if use_bias else 0)) * filters\n"
    )
    for seed in (helpers.SEED, 1, 2):
        results = grade(EX3, cell, seed=seed)
        assert {r.id for r in results.values() if r.status.value != "passed"} == CONV_PARAMS
        assert sum(r.score for r in results.values()) == 9.0


def test_summarize_is_judged_with_the_graders_helpers_when_they_are_stubs() -> None:
    stubs = "".join(
        f"def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"
        for name in ("conv_output_size", "conv2d_params", "dense_params")
    )
    results = grade(EX3, stubs)
    assert {results[c].status.value for c in SUMMARIZE} == {"passed"}
    assert {r.status.value for i, r in results.items() if i not in SUMMARIZE} == {"not_attempted"}


def test_a_summarize_that_is_right_as_written_passes_even_if_it_leans_on_its_helpers() -> None:
    """Two mistakes that cancel: the helper forgets the bias, summarize adds it back. The
    summary is right as written, so it passes (the helper's checks still fail)."""
    cell = (
        "def conv2d_params(kernel_size, in_channels, filters, use_bias=True):\n"
        "    kh, kw = (kernel_size,) * 2 if np.ndim(kernel_size) == 0 else kernel_size\n"
        "    return kh * kw * in_channels * filters\n"
        "_s = summarize\n"
        "def summarize(layers, input_shape):\n"
        "    return [(shape, params + (layer[1] if layer[0] == 'conv2d' else 0))\n"
        "            for layer, (shape, params) in zip(layers, _s(layers, input_shape))]\n"
    )
    results = grade(EX3, cell)
    assert {results[c].status.value for c in SUMMARIZE} == {"passed"}
    assert results["conv2d_params_int"].status.value == "failed"


def test_a_stub_summarize_is_not_attempted() -> None:
    results = grade(EX3, "def summarize(layers, input_shape):\n    raise NotImplementedError()\n")
    assert {results[c].status.value for c in SUMMARIZE} == {"not_attempted"}


def test_summarize_failing_on_its_own_says_it_ran_with_the_graders_helpers() -> None:
    cell = (
        "def dense_params(in_features, units, use_bias=True):\n"
        "    return in_features * units\n"
        "_s = summarize\n"
        "def summarize(layers, input_shape):\n"
        "    return [(shape, p // 2 if layer[0] == 'batchnorm' else p)\n"
        "            for layer, (shape, p) in zip(layers, _s(layers, input_shape))]\n"
    )
    check = grade(EX3, cell)["summarize_random_a_params"]
    assert check.status.value == "failed"
    assert (
        "grader's conv_output_size, conv2d_params and dense_params in place of yours"
        in check.message
    )
    assert "4 × C" in check.message  # and names the mistake: batchnorm with 2 per channel
    table = check.details["table"]
    assert table[0] == ["#", "layer", "input shape (yours)", "expected params", "your params"]


def test_parameters_are_judged_against_the_summarys_own_shapes() -> None:
    """A Flatten that forgets the channels: the Dense after it is counted from the features
    the summary says it gets, so only the shapes check fails."""
    cell = (
        "_s = summarize\n"
        "def summarize(layers, input_shape):\n"
        "    rows, shape = [], tuple(input_shape)\n"
        "    for layer in layers:\n"
        "        if layer[0] == 'flatten':\n"
        "            shape = (shape[0] * shape[1],)\n"
        "            rows.append((shape, 0))\n"
        "        elif layer[0] == 'dense' and len(shape) == 1:\n"
        "            shape = (layer[1],)\n"
        "            rows.append((shape, dense_params(rows[-1][0][0], layer[1])))\n"
        "        else:\n"
        "            (shape, p), = _s([layer], shape) if len(shape) == 3 else [(shape, 0)]\n"
        "            rows.append((shape, p))\n"
        "    return rows\n"
    )
    results = grade(EX3, cell)
    assert results["summarize_course_cnn_shapes"].status.value == "failed"
    assert results["summarize_course_cnn_params"].status.value == "passed"
    # …but a params count that does not follow from the summary's own shape still fails
    wrong = cell.replace("dense_params(rows[-1][0][0], layer[1])", "dense_params(1600, layer[1])")
    assert grade(EX3, wrong)["summarize_course_cnn_params"].status.value == "failed"


def test_precision_recall_f1_is_judged_with_the_graders_confusion_matrix() -> None:
    cell = (
        "def confusion_matrix(y_true, y_pred, num_classes):\n"
        "    m = np.zeros((num_classes, num_classes), dtype=int)\n"
        "    np.add.at(m, (np.asarray(y_pred), np.asarray(y_true)), 1)\n"
        "    return m\n"
    )
    results = grade("ex08_metrics", cell)
    failed = {i for i, r in results.items() if r.status.value != "passed"}
    assert failed == {"confusion_small", "confusion_random", "confusion_unused_classes"}


# -- the grader's helpers sent to the kernel are the reference's, on every input ----------------


def _helper_env() -> dict[str, Any]:
    env: dict[str, Any] = {}
    source = ex03_parameters.SUMMARIZE_DRIVER.source
    exec(compile(source, "<helpers>", "exec"), env)  # noqa: S102 - the grader's own
    return env


def test_the_graders_helpers_agree_with_the_reference() -> None:
    env = _helper_env()
    ref3 = load_reference(inprocess.solution_path(EX3))
    ref8 = load_reference(inprocess.solution_path("ex08_metrics"))
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, k, s = int(rng.integers(1, 60)), int(rng.integers(1, 9)), int(rng.integers(1, 5))
        for padding in ("valid", "same"):
            if padding == "valid" and k > n:
                continue
            assert env["_conv_output_size"](n, k, s, padding) == ref3.conv_output_size(
                n, k, s, padding
            ), (n, k, s, padding)
        kernel = k if rng.random() < 0.5 else (k, int(rng.integers(1, 9)))
        c, f, bias = int(rng.integers(1, 65)), int(rng.integers(1, 129)), bool(rng.random() < 0.5)
        assert env["_conv2d_params"](kernel, c, f, bias) == ref3.conv2d_params(kernel, c, f, bias)
        assert env["_dense_params"](c, f, bias) == ref3.dense_params(c, f, bias)
        classes = int(rng.integers(1, 12))
        y_true, y_pred = rng.integers(0, classes, 40), rng.integers(0, classes, 40)
        np.testing.assert_array_equal(
            env["_confusion_matrix"](y_true, y_pred, classes),
            ref8.confusion_matrix(y_true, y_pred, classes),
        )


@pytest.mark.parametrize("kind", ["generator", "list", "tuple of lists"])
def test_the_driver_keeps_answers_in_unusual_forms(kind: str) -> None:
    """What the probe accepts from summarize (a generator, lists) the driver hands on."""
    wrap = {
        "generator": "(r for r in rows)",
        "list": "[list(r) for r in rows]",
        "tuple of lists": "tuple([list(s), p] for s, p in rows)",
    }[kind]
    cell = (
        "_s = summarize\ndef summarize(layers, input_shape):\n"
        f"    rows = _s(layers, input_shape)\n    return {wrap}\n"
    )
    results = grade(EX3, cell)
    assert {results[c].status.value for c in SUMMARIZE} == {"passed"}, [
        results[c].message for c in SUMMARIZE
    ]


@pytest.mark.parametrize(
    "record",
    [
        [],
        {"own": 3},
        {"own": [1, 2, 3, 4, 5, 6, 7]},
        {"own": [((28.5, "a"), None)] * 7},
        {"own": [[(-1, 0, 2), 5]] * 7},
        {"with_reference": None, "own": None},
        {"own": [((26, 26, 64), 640)] * 7, "with_reference": "x"},
    ],
    ids=repr,
)
def test_odd_driver_records_fail_and_never_crash_a_check(record: Any) -> None:
    """What a tampered kernel may leave: the check fails for the student, never `error`."""
    for eid, prefix in ((EX3, "summarize_course_cnn"), ("ex08_metrics", "prf_")):
        ex = get(eid)
        ref = load_reference(inprocess.solution_path(eid))
        _judge_each(ex, ref, prefix, record)


def _judge_each(ex: Any, ref: Any, prefix: str, record: Any) -> None:
    for check in (c for c in ex.checks if c.id.startswith(prefix)):
        assert check.call is not None
        args, kwargs = check.call.bind(0, {})
        ctx = Context(
            text=check.call.describe(args, kwargs),
            args=args,
            kwargs=kwargs,
            reference=ref,
            call=check.call,
        )
        result = run_check(check, Evidence(status="returned", value=record), ctx)
        assert result.status.value == "failed", (check.id, result.message)
