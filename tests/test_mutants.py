"""Realistic student bugs, graded end to end through a kernel, must cost exactly the checks that
are about them, and exactly as the fast in-process path says.

Each file tests/mutants/<exercise>/<name>.py redefines one or more student functions with a
bug (the header is read by tests/mutant_catalogue.py). The submission graded here is the
solution notebook plus one code cell holding the mutant, so the buggy definition wins (and the
solution's other functions call it, as a student's own helpers would be called); for ex08,
whose notebook trains a model, the solution's definitions only.

Every exercise with a mutant catalogue is graded here (tests/inprocess.py finds them: the NumPy
exercises and any other with tests/mutants/<exercise>/); an exercise whose notebook trains (it
needs TensorFlow) is graded from its definitions only.

tests/test_mutants_inprocess.py holds every mutant to its header at 30 seeds without a kernel.
Here each one is graded once through the real pipeline (a few a second time, at another seed),
and the result must be the header's and the in-process one's: same statuses, scores and
messages. That keeps the fast path honest.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import inprocess
import pytest
from mutant_catalogue import Mutant, all_mutants

from grader.exercises import get

SECOND_SEED = 20240917
KERNEL_EXERCISES = inprocess.EXERCISES
# Their notebooks train: the definitions are what is graded (ex08's metrics).
DEFINITIONS_ONLY = {e for e in KERNEL_EXERCISES if get(e).needs_tensorflow}

MUTANTS = [m for m in all_mutants() if m.exercise in KERNEL_EXERCISES]
# A second seed for one mutant per exercise whose result must not move at all, and the issue's.
TWICE = {
    "ex01_convolution/symmetric_same_padding",
    "ex02_pooling/stride_is_pool_size",
    "ex03_parameters/flatten_drops_channels",
    "ex03_parameters/same_size_floor",
    "ex10_conv_backward/numgrad_x_modified",
}


def _cases() -> list[object]:
    cases: list[object] = [
        pytest.param(m, helpers.SEED, id=f"{m.id}-seed{helpers.SEED}") for m in MUTANTS
    ]
    cases += [
        pytest.param(m, SECOND_SEED, id=f"{m.id}-seed{SECOND_SEED}")
        for m in MUTANTS
        if m.id in TWICE
    ]
    return cases


def test_every_exercise_has_at_least_five_caught_mutants() -> None:
    caught = {e: sum(1 for m in MUTANTS if m.exercise == e and m.fails) for e in KERNEL_EXERCISES}
    assert all(n >= 5 for n in caught.values()), caught


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_header_names_real_checks(mutant: Mutant) -> None:
    """A typo in a header must not make a test vacuous."""
    known = {c.id for c in get(mutant.exercise).checks}
    assert mutant.fails <= known, sorted(mutant.fails - known)
    assert mutant.may_fail <= known, sorted(mutant.may_fail - known)
    assert not mutant.fails & mutant.may_fail
    assert mutant.fails or mutant.gap, "a mutant that no check always catches must say why (# gap:)"
    compile(mutant.source, str(mutant.id), "exec")


def _notebook(mutant: Mutant, tmp_path: Path) -> Path:
    if mutant.exercise in DEFINITIONS_ONLY:
        return helpers.write_notebook(
            tmp_path,
            f"{mutant.name}.ipynb",
            [helpers.solution_definitions(mutant.exercise), mutant.source],
            mutant.exercise,
        )
    nb = helpers.with_cells(helpers.solution_notebook(mutant.exercise), mutant.source)
    return helpers.write_notebook(tmp_path, f"{mutant.name}.ipynb", nb)


@pytest.mark.parametrize(("mutant", "seed"), _cases())
def test_mutant_fails_exactly_its_checks(mutant: Mutant, seed: int, tmp_path: Path) -> None:
    result = helpers.grade_nb(_notebook(mutant, tmp_path), seed=seed)

    assert result.exercise == mutant.exercise
    assert result.execution.status.value == "ok", helpers.describe(result)
    bad = helpers.not_passed(result)
    context = f"seed {seed}\n{helpers.describe(result)}"
    assert mutant.fails <= bad, f"should fail but passed: {sorted(mutant.fails - bad)}\n{context}"
    unexpected = bad - mutant.fails - mutant.may_fail
    assert not unexpected, f"should pass but did not: {sorted(unexpected)}\n{context}"
    statuses = helpers.statuses(result)
    assert {statuses[c] for c in bad} <= {"failed"}, context
    for check in result.checks:
        if check.id in bad:
            assert check.message and check.score == 0, check
    assert result.score < result.max_score or not bad

    # The in-process path (tests/inprocess.py) says the same, word for word.
    fast = {r.id: r for r in inprocess.grade(mutant.exercise, seed, mutant.source)}
    for check in result.checks:
        mine = fast[check.id]
        assert (check.status, check.score) == (mine.status, mine.score), check.id
        if " raised " not in check.message:  # tracebacks differ in file names only
            assert check.message == mine.message, check.id
        assert check.details.get("diagnosis") == mine.details.get("diagnosis"), check.id


def test_conv2d_only_for_2d_inputs_shows_the_exception(tmp_path: Path) -> None:
    """A student function that raises: the check fails with the exception's type and text."""
    mutant = next(m for m in MUTANTS if m.id == "ex01_convolution/only_2d_inputs")
    result = helpers.grade_nb(_notebook(mutant, tmp_path))
    check = helpers.by_id(result)["conv2d_multichannel_bias"]
    assert check.status.value == "failed"
    assert "raised ValueError: too many values to unpack" in check.message
