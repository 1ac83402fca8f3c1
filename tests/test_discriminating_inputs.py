"""A hidden input's maker must make the check's target mistakes visible at every seed.

Each exercise declares its known-wrong variants (`Exercise.wrong`, grader.checks.variants) with
the checks that exist to catch them (`caught_by`). Here, at 30 seeds, each such check is given
the variant's answer on its own hidden inputs, as if a student had returned it: the check must
fail, and its message must name a variant that gives that answer.
"""

from __future__ import annotations

from typing import Any

import inprocess
import numpy as np
import pytest
from inprocess import EXERCISES, SEEDS

from grader import catalogue
from grader.checks.core import Check, Context, Exercise
from grader.checks.reference import load_reference
from grader.checks.runner import run_check
from grader.checks.variants import Wrong, matches
from grader.exercises import _ex03_inputs, get
from grader.probe.evidence import Evidence


def _cases() -> list[Any]:
    return [pytest.param(e, w, id=f"{e}/{w.func}/{w.id}") for e in EXERCISES for w in get(e).wrong]


def _context(ex: Exercise, check: Check, seed: int) -> Context:
    """The check's context at a grading seed, as a grading builds it (`cnn-grader catalogue`'s)."""
    return catalogue.context(check, seed, load_reference(inprocess.solution_path(ex.id)))


@pytest.mark.parametrize(("exercise", "wrong"), _cases())
def test_variant_is_declared_for_real_checks_of_its_function(exercise: str, wrong: Wrong) -> None:
    checks = {c.id: c for c in get(exercise).checks}
    assert wrong.caught_by, f"{wrong.id}: a catalogued mistake no check is meant to catch"
    assert set(wrong.caught_by) <= set(checks), sorted(set(wrong.caught_by) - set(checks))
    for cid in wrong.caught_by:
        call = checks[cid].call
        assert call is not None and call.func == wrong.func, (cid, wrong.func)
    assert wrong.says and not wrong.says.endswith(".")


@pytest.mark.parametrize(("exercise", "wrong"), _cases())
def test_every_target_check_catches_and_names_the_variant_at_every_seed(
    exercise: str, wrong: Wrong
) -> None:
    ex = get(exercise)
    checks = {c.id: c for c in ex.checks}
    for cid in wrong.caught_by:
        check = checks[cid]
        for seed in SEEDS:
            ctx = _context(ex, check, seed)
            value = wrong.value(ctx.reference, ctx.args, ctx.kwargs)
            got = {"own": value} if check.call.kind == "driver" else value  # type: ignore[union-attr]
            result = run_check(check, Evidence(status="returned", value=got), ctx)
            where = f"{cid} at seed {seed} ({ctx.text[:200]})"
            assert result.status.value == "failed", f"{wrong.id} passes {where}"
            named = result.details.get("diagnosis", [])
            assert named, f"{wrong.id} is not named by {where}: {result.message}"
            if wrong.id not in named:  # another mistake with the very same answer here
                other = next(w for w in ex.wrong if w.id == named[0] and w.func == wrong.func)
                assert matches(other.value(ctx.reference, ctx.args, ctx.kwargs), value), where


def test_the_size_rules_are_what_the_reference_computes() -> None:
    """The makers' own arithmetic (`shows_roundings`, `stack_shapes`) agrees with the reference,
    so the properties they promise hold of what the checks really compare."""
    ref = load_reference(inprocess.solution_path("ex03_parameters"))
    rng = np.random.default_rng(0)
    for _ in range(50):
        layers, shape = _ex03_inputs.random_stack(rng)
        rows = ref.summarize(layers, shape)
        walked = _ex03_inputs.stack_shapes(layers, shape)
        assert [s for _, s in walked[1:]] == [r[0] for r in rows[:-1]]
        assert _ex03_inputs.shows_everything(layers, shape)


def test_ex10_inputs_hold_what_its_docstring_promises() -> None:
    """The properties the catalogued ex10 mistakes rely on, on the bound hidden inputs: the
    'same' calls pad an odd total on both axes, the strided 'valid' call leaves a column of x in
    no window, the planted max-pool maximum is not the first cell of a window it is the maximum
    of and (where windows overlap) is in two windows or more, and max-pool inputs have no ties."""
    from grader.exercises import _ex10_mistakes as mistakes
    from grader.exercises import ex10_conv_backward as m

    def totals(call: Any, seed: int) -> list[int]:
        (dout, x, kernel), kwargs = call.bind(seed, {})
        s = mistakes.pair(kwargs.get("stride", 1))
        return [
            sum(mistakes.pads(n, k, st))
            for n, k, st in zip(x.shape[:2], kernel.shape[:2], s, strict=False)
        ]

    for seed in SEEDS[:5]:
        assert all(t % 2 == 1 for t in totals(m.SAME, seed) + totals(m.SAME_1, seed))
        (dout, x, kernel), _ = m.STRIDED.bind(seed, {})
        assert (dout.shape[1] - 1) * 2 + kernel.shape[1] < x.shape[1]
        for check in get("ex10_conv_backward").checks:
            if check.call is None or check.call.func != "max_pool2d_backward":
                continue
            (dout, x), kwargs = check.call.bind(seed, {})
            kh, kw = mistakes.pair(kwargs.get("pool_size", 2))
            sh, sw = mistakes.pair(kwargs.get("stride") or (kh, kw))
            x3 = x if x.ndim == 3 else x[:, :, None]
            assert all(len(np.unique(x3[..., c])) == x3[..., c].size for c in range(x3.shape[2]))
            assert (dout > 0).all()
            r, c = np.unravel_index(np.argmax(x3[..., 0]), x3.shape[:2])
            windows = [
                (i, j)
                for i in range(dout.shape[0])
                for j in range(dout.shape[1])
                if i * sh <= r < i * sh + kh and j * sw <= c < j * sw + kw
            ]
            assert any((i * sh, j * sw) != (r, c) for i, j in windows), check.id
            if sh < kh or sw < kw:
                assert len(windows) >= 2, check.id
