"""The adversarial suite again, every kernel forked from a warm parent (forkserver): each
hostile notebook gets the statuses it gets in a fresh kernel, nothing it started survives, and
the isolation tests (network, the solutions hidden, the grader out of reach) hold as they do
for a started kernel. Each report must say the kernel was forked, so a silent fallback to a
fresh start cannot pass for a forked kernel's isolation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_adv_suite as adv
from adv_cases import CASES, Case
from test_adv_suite import no_leftover_processes  # noqa: F401 - the fixture, used by name

from grader import GradeResult, Options
from grader.execution import forkserver, warm

pytestmark = pytest.mark.skipif(
    forkserver.why_not(warm.NUMPY_PRELUDE) is not None,
    reason=f"no forked kernels here: {forkserver.why_not(warm.NUMPY_PRELUDE)}",
)


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[GradeResult]]:
    """Every grading of test_adv_suite through a pool that forks its kernels (none ahead)."""
    pool = warm.KernelPool(size=0, fork=True)
    graded: list[GradeResult] = []
    real = adv.grade

    def grade(path: Path, options: Options) -> GradeResult:
        result = real(path, dataclasses.replace(options, executor=pool))
        graded.append(result)
        return result

    monkeypatch.setattr(adv, "grade", grade)
    try:
        yield graded
        assert pool.fork_problem is None, pool.fork_problem
    finally:
        pool.close()


def _all_forked(graded: list[GradeResult]) -> None:
    assert graded
    for result in graded:
        notes = " ".join(result.execution.notes)
        assert "forked from a warm parent" in notes, notes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gets_its_expected_statuses_in_a_forked_kernel(
    case: Case,
    tmp_path: Path,
    no_leftover_processes: None,  # noqa: F811
    forking: list[GradeResult],
) -> None:
    adv.test_case_gets_its_expected_statuses(case, tmp_path, None)
    if forking[0].execution.notes and "sandbox:" in " ".join(forking[0].execution.notes):
        _all_forked(forking)


@pytest.mark.parametrize(
    "test",
    [
        adv.test_network_is_off_or_the_grading_goes_on,
        adv.test_reading_the_solutions_is_flagged_and_hidden_where_isolated,
        adv.test_the_kernel_cannot_signal_the_grader,
    ],
    ids=lambda t: t.__name__,
)
def test_isolation_holds_in_a_forked_kernel(
    test: Any, tmp_path: Path, forking: list[GradeResult]
) -> None:
    test(tmp_path)
    _all_forked(forking)
