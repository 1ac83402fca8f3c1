"""The public examples: drawn on streams no grading seed reaches, chosen among compare checks,
and what the release ships is that draw (never a hidden input)."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.core import PUBLIC_SALT, Input
from grader.exercises import available, get
from grader.selfcheck.codec import decode
from grader.selfcheck.public import MAX_PER_FUNCTION, public_checks

import release_helpers

SEEDS = range(300)


def test_no_seed_draws_the_public_stream() -> None:
    item = Input("x", lambda rng: tuple(rng.integers(0, 2**62, 4)), stream="s")
    crc = zlib.crc32(b"s")
    public = item.materialise_public()
    # small seeds, the salt, and big seeds whose 32-bit words spell the salt and the stream
    seeds = [*range(3000), PUBLIC_SALT, crc, 2**31 - 1, 2**64 + 5, crc | (PUBLIC_SALT << 32),
             PUBLIC_SALT | (crc << 32), crc + (PUBLIC_SALT << 128), crc + (PUBLIC_SALT << 96)]
    assert all(item.materialise(s) != public for s in seeds)


def test_public_inputs_are_not_the_hidden_ones() -> None:
    ex = get("ex01_convolution")
    inputs = {id(a): a for c in ex.checks if c.call for a in c.call.args if isinstance(a, Input)}
    assert len(inputs) > 10
    for item in inputs.values():
        public = item.materialise_public()
        assert np.array_equal(public, item.materialise_public())  # fixed, release after release
        assert not any(np.array_equal(public, item.materialise(s)) for s in SEEDS), item.name


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return []


def test_the_release_ships_the_public_draw_and_no_hidden_input(release_dir: Path) -> None:
    checked = 0
    for eid in ("ex01_convolution", "ex02_pooling", "ex03_parameters", "ex08_metrics",
                "ex10_conv_backward"):
        ex = get(eid)
        by_id = {c.id: c for c in ex.checks}
        for case in release_helpers.cases(release_dir, eid):
            call = by_id[case["check"]].call
            assert call is not None
            shipped = decode(case["args"]), {k: decode(v) for k, v in case["kwargs"].items()}
            args, kwargs = call.bind_public({})
            assert _same(shipped, (list(args), kwargs)), case["check"]
            shipped_arrays = _arrays(shipped)
            for seed in SEEDS:
                hidden = _arrays(call.bind(seed, {}))
                for mine, theirs in zip(shipped_arrays, hidden):
                    assert not np.array_equal(mine, theirs), (case["check"], seed)
            checked += len(shipped_arrays)
    assert checked >= 20  # ex01, ex02 and ex08 send arrays


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return bool(a == b) and type(a) is type(b)


def test_public_examples_are_compare_checks_on_grader_inputs_a_few_per_function() -> None:
    chosen = {e: public_checks(get(e)) for e in available()}
    assert {e for e, checks in chosen.items() if checks} == {
        "ex01_convolution", "ex02_pooling", "ex03_parameters", "ex08_metrics",
        "ex10_conv_backward"}
    for checks in chosen.values():
        per_function: dict[str, int] = {}
        for c in checks:
            assert c.compare_atol is not None and c.call is not None and c.call.kind == "call"
            assert any(isinstance(a, Input) for a in [*c.call.args, *c.call.kwargs.values()])
            per_function[c.call.func] = per_function.get(c.call.func, 0) + 1
        assert all(n <= MAX_PER_FUNCTION for n in per_function.values())
    ids = {c.id for checks in chosen.values() for c in checks}
    # fixed arguments are a graded case itself: never public
    assert not ids & {"conv_output_size_fixed", "conv2d_params_int", "confusion_small"}
    # ex10: one example per conv2d_backward call (its whole answer), none for the driver's f
    assert {c.id for c in chosen["ex10_conv_backward"] if c.call and
            c.call.func == "conv2d_backward"} == {"conv_valid_dx", "conv_stride_dx",
                                                  "conv_same_dx", "conv_same_stride1_dx"}
    assert not any(c.call and c.call.func == "numerical_gradient"
                   for c in chosen["ex10_conv_backward"])
    # spread over what the hints are about, not the first four declared
    conv = [c for c in chosen["ex01_convolution"] if c.call and c.call.func == "conv2d"]
    assert len({c.hint for c in conv}) == len(conv) == MAX_PER_FUNCTION
