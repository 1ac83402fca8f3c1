"""Every catalogued mutant fails exactly the same checks at every one of 30 seeds, and names its
mistake; every solution passes everything at those seeds.

In-process (tests/inprocess.py): the mutant's definitions over the solution's, each grading call
made here on the bound hidden inputs, the real checks judging the values. tests/test_mutants.py
grades the same mutants through a kernel at one or two seeds and compares, so this fast path
stays faithful to the real one.

The headers (tests/mutant_catalogue.py): `fails` is the exact set of checks not passed, at
every seed (no `may fail` for these exercises: their hidden inputs make every catalogued
mistake show, grader.checks.core); `names` the known-wrong variants of the exercise
(`Exercise.wrong`) that every failed check's message must name.
"""

from __future__ import annotations

import helpers
import inprocess
import pytest
from mutant_catalogue import Mutant, all_mutants

from grader.exercises import get

SEEDS, EXERCISES = inprocess.SEEDS, inprocess.EXERCISES
MUTANTS = [m for m in all_mutants() if m.exercise in EXERCISES]


def test_the_catalogue_covers_every_exercise_here() -> None:
    assert {m.exercise for m in all_mutants()} == set(EXERCISES)
    # every NumPy exercise, found by discovery, has its catalogue (ex10 included, never listed)
    catalogued = {m.exercise for m in all_mutants()}
    missing = set(helpers.NUMPY_EXERCISES) - catalogued
    assert not missing, sorted(missing)
    assert "ex10_conv_backward" in helpers.NUMPY_EXERCISES
    assert len(SEEDS) == len(set(SEEDS)) >= 30 and helpers.SEED in SEEDS


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_header_is_exact_and_names_declared_variants(mutant: Mutant) -> None:
    ex = get(mutant.exercise)
    assert mutant.fails, "every mutant here is caught by some check"
    assert mutant.fails <= {c.id for c in ex.checks}, sorted(
        mutant.fails - {c.id for c in ex.checks}
    )
    assert not mutant.may_fail, "seed-dependent checks: make the hidden inputs show the mistake"
    assert mutant.names <= {w.id for w in ex.wrong}, sorted(mutant.names - {w.id for w in ex.wrong})


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_fails_exactly_its_checks_at_every_seed(mutant: Mutant) -> None:
    ex = get(mutant.exercise)
    says = {(w.func, w.id): w.says for w in ex.wrong}
    func = {c.id: c.call.func for c in ex.checks if c.call is not None}
    for seed in SEEDS:
        results = inprocess.grade(ex, seed, mutant.source)
        bad = inprocess.not_passed(results)
        context = f"{mutant.id}, seed {seed}: " + "; ".join(
            f"{r.id} {r.status.value}: {r.message[:200]}" for r in results if r.id in bad
        )
        assert bad == mutant.fails, context
        for r in results:
            if r.id not in bad:
                continue
            assert r.status.value == "failed" and r.score == 0 and r.message, context
            if mutant.names:
                named = set(r.details.get("diagnosis", ())) & mutant.names
                assert named, f"{r.id} does not name {sorted(mutant.names)}: {r.message}"
                assert any(says[func[r.id], n] in r.message for n in named), r.message
        assert inprocess.score(results) == ex.max_score - sum(
            c.points for c in ex.checks if c.id in mutant.fails
        )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_solution_passes_every_check_at_every_seed(exercise: str) -> None:
    ex = get(exercise)
    for seed in SEEDS:
        results = inprocess.grade(ex, seed)
        assert inprocess.not_passed(results) == set(), (
            seed,
            [(r.id, r.message) for r in results if r.status.value != "passed"],
        )
        assert inprocess.score(results) == ex.max_score == 10


def test_a_wrong_answer_is_not_named_when_no_variant_matches() -> None:
    """A mistake outside the catalogue fails with the plain message, naming nothing."""
    cell = "_c = conv2d\ndef conv2d(*args, **kwargs):\n    return _c(*args, **kwargs) * 1.5\n"
    results = {r.id: r for r in inprocess.grade(get("ex01_convolution"), helpers.SEED, cell)}
    check = results["conv2d_valid_2d"]
    assert check.status.value == "failed"
    assert "your answer is what" not in check.message and "diagnosis" not in check.details
