"""Realistic student bugs must cost exactly the checks that are about them.

Each file tests/mutants/<exercise>/<name>.py redefines one or more student functions with a
bug. The submission graded here is the solution notebook plus one code cell holding the
mutant, so the buggy definition wins (and the solution's other functions call it, as a
student's own helpers would be called). The file's leading comments declare:

    # fails: a, b         the checks that fail whatever the seed (may be empty only with `gap`)
    # may fail: c, d      checks on random inputs that catch the bug for some seeds only
    # gap: why            the checks cannot always catch this bug (reported, not hidden)

and the test asserts  fails ⊆ {checks not passed} ⊆ fails ∪ may fail,  with every
not-passed check `failed` (never `error`). A subset is graded with a second seed, so a mutant
whose result secretly hangs on one seed's inputs is noticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers
from grader.exercises import get

MUTANTS_DIR = Path(__file__).parent / "mutants"
SECOND_SEED = 20240917


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    source: str
    fails: frozenset[str]
    may_fail: frozenset[str]
    gap: str

    @property
    def id(self) -> str:
        return f"{self.exercise}/{self.name}"


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def parse(path: Path) -> Mutant:
    """Read the header comments of a mutant file (see the module docstring)."""
    source = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep and key.strip() in ("fails", "may fail", "gap"):
            fields[key.strip()] = value.strip()
    if "fails" not in fields or not source.startswith("# fails:"):
        raise ValueError(f"{path}: the first line must be '# fails: check_id, ...'")
    return Mutant(path.parent.name, path.stem, source, _ids(fields["fails"]),
                  _ids(fields.get("may fail", "")), fields.get("gap", ""))


def all_mutants() -> list[Mutant]:
    return [parse(p) for p in sorted(MUTANTS_DIR.glob("*/*.py"))]


MUTANTS = all_mutants()
# Those graded with a second seed: every mutant with seed-dependent checks, and one more per
# exercise whose result must not move at all.
TWICE = {m.id for m in MUTANTS if m.may_fail} | {
    "ex01_convolution/symmetric_same_padding",
    "ex02_pooling/stride_is_pool_size",
    "ex03_parameters/flatten_drops_channels",
}


def _cases() -> list[object]:
    cases: list[object] = [pytest.param(m, helpers.SEED, id=f"{m.id}-seed{helpers.SEED}")
                           for m in MUTANTS]
    cases += [pytest.param(m, SECOND_SEED, id=f"{m.id}-seed{SECOND_SEED}")
              for m in MUTANTS if m.id in TWICE]
    return cases


def test_every_exercise_has_at_least_five_caught_mutants() -> None:
    caught = {e: sum(1 for m in MUTANTS if m.exercise == e and m.fails)
              for e in helpers.NUMPY_EXERCISES}
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


@pytest.mark.parametrize(("mutant", "seed"), _cases())
def test_mutant_fails_exactly_its_checks(mutant: Mutant, seed: int, tmp_path: Path) -> None:
    nb = helpers.with_cells(helpers.solution_notebook(mutant.exercise), mutant.source)
    path = helpers.write_notebook(tmp_path, f"{mutant.name}.ipynb", nb)
    result = helpers.grade_nb(path, seed=seed)

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


def test_conv2d_only_for_2d_inputs_shows_the_exception(tmp_path: Path) -> None:
    """A student function that raises: the check fails with the exception's type and text."""
    mutant = next(m for m in MUTANTS if m.id == "ex01_convolution/only_2d_inputs")
    nb = helpers.with_cells(helpers.solution_notebook(mutant.exercise), mutant.source)
    result = helpers.grade_nb(helpers.write_notebook(tmp_path, "m.ipynb", nb))
    check = helpers.by_id(result)["conv2d_multichannel_bias"]
    assert check.status.value == "failed"
    assert "raised ValueError: too many values to unpack" in check.message
