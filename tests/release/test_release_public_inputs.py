"""The public examples: drawn on streams no grading seed reaches, chosen among compare checks,
and what the release ships is that draw (never a hidden input)."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import release_helpers

from grader.checks.calls import PUBLIC_SALT, Input
from grader.checks.reference import load_reference
from grader.exercises import available, get
from grader.selfcheck.codec import decode
from grader.selfcheck.public import MAX_PER_FUNCTION, Chosen, candidates, choose, public_functions

SEEDS = range(300)


def test_no_seed_draws_the_public_stream() -> None:
    item = Input("x", lambda rng: tuple(rng.integers(0, 2**62, 4)), stream="s")
    crc = zlib.crc32(b"s")
    public = item.materialise_public()
    # small seeds, the salt, and big seeds whose 32-bit words spell the salt and the stream
    seeds = [
        *range(3000),
        PUBLIC_SALT,
        crc,
        2**31 - 1,
        2**64 + 5,
        crc | (PUBLIC_SALT << 32),
        PUBLIC_SALT | (crc << 32),
        crc + (PUBLIC_SALT << 128),
        crc + (PUBLIC_SALT << 96),
    ]
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


def _chosen(eid: str, case_id: str) -> Chosen:
    """The candidate and draw a shipped case id stands for (`<id>` or `<id>_draw<k>`)."""
    base, _, draw = case_id.partition("_draw")
    by_id = {c.id: c for c in candidates(get(eid))}
    return Chosen(by_id[base], int(draw or 0))


def test_the_release_ships_the_public_draw_and_no_hidden_input(release_dir: Path) -> None:
    checked = 0
    for eid in (
        "ex01_convolution",
        "ex02_pooling",
        "ex03_parameters",
        "ex08_metrics",
        "ex10_conv_backward",
    ):
        for case in release_helpers.cases(release_dir, eid):
            chosen = _chosen(eid, case["check"])
            call = chosen.candidate.call
            shipped = decode(case["args"]), {k: decode(v) for k, v in case["kwargs"].items()}
            args, kwargs = call.bind_public({}, chosen.draw)
            assert _same(shipped, (list(args), kwargs)), case["check"]
            shipped_arrays = _arrays(shipped)
            for seed in SEEDS:
                hidden = _arrays(call.bind(seed, {}))
                for mine, theirs in zip(shipped_arrays, hidden, strict=False):
                    assert not np.array_equal(mine, theirs), (case["check"], seed)
            checked += len(shipped_arrays)
    assert checked >= 20  # ex01, ex02 and ex08 send arrays


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=False))
        )
    return bool(a == b) and type(a) is type(b)


def test_public_examples_are_compare_checks_or_declared_examples_on_grader_inputs() -> None:
    exercises = {e: get(e) for e in available()}
    have = {e for e, ex in exercises.items() if candidates(ex)}
    assert have == {
        "ex01_convolution",
        "ex02_pooling",
        "ex03_parameters",
        "ex04_dense_baseline",
        "ex07_feature_maps",
        "ex08_metrics",
        "ex10_conv_backward",
    }
    for eid in have:
        ex = exercises[eid]
        checks = {c.id: c for c in ex.checks}
        for c in candidates(ex):
            if c.declared:
                assert c.id in {e.id for e in ex.examples}
            else:
                assert checks[c.id].compare_atol is not None and c.call.kind == "call"
            assert c.call.kind in ("call", "driver")
            args = [*c.call.args, *c.call.kwargs.values()]
            assert any(
                isinstance(a, Input)
                or isinstance(a, tuple)
                and any(isinstance(x, Input) for x in a)
                for a in args
            ), c.id
        # every function a student writes has public examples (a trained model: said there)
        assert sorted(public_functions(ex) + list(ex.after_run)) == sorted(ex.functions()), eid
    ids = {c.id for e in have for c in candidates(exercises[e])}
    # fixed arguments are a graded case itself: never public
    assert not ids & {"conv_output_size_fixed", "conv2d_params_int", "confusion_small"}


def test_the_spread_comes_first_then_draws_for_what_it_misses() -> None:
    """A few examples per function over the hints, every declared one; then one more example
    for each catalogued mistake none of them shows, and each such one shows its mistake."""
    from grader.selfcheck.public import Answers, _spread

    for eid in (
        "ex01_convolution",
        "ex02_pooling",
        "ex03_parameters",
        "ex08_metrics",
        "ex10_conv_backward",
    ):
        ex = get(eid)
        reference = load_reference(ex.solution_path)
        chosen = choose(ex, reference)
        answers = Answers(ex, reference)
        by_function: dict[str, list[Chosen]] = {}
        for c in chosen:
            by_function.setdefault(c.candidate.call.func, []).append(c)
        for func, picks in by_function.items():
            cands = [c for c in candidates(ex) if c.call.func == func]
            spread = _spread(cands)
            assert [p.candidate for p in picks[: len(spread)]] == spread
            assert all(p.draw == 0 for p in picks[: len(spread)])
            assert len([c for c in spread if not c.declared]) <= MAX_PER_FUNCTION
            for extra in picks[len(spread) :]:
                shown = [w for w, _ in answers.wrong(extra)]
                before = picks[: picks.index(extra)]
                assert any(not any(answers.shows(w, p) for p in before) for w in shown), (
                    eid,
                    extra.id,
                )
    # conv2d: spread over what the hints are about, not the first four declared
    conv = _spread([c for c in candidates(get("ex01_convolution")) if c.call.func == "conv2d"])
    assert len({c.hint for c in conv}) == len(conv) == MAX_PER_FUNCTION
