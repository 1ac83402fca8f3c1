"""The check layer on its own: declarations (grader.checks.core), comparisons
(grader.checks.expect), and the one place outcomes become statuses and points (runner, models).

No kernel and no notebook: evidence is built by hand.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

from grader.checks.calls import Call
from grader.checks.core import Context, Exercise, Fail, NotAttempted, copy_value
from grader.checks.expect import expect_array, expect_close, expect_int, expect_match, expect_shape
from grader.checks.runner import evaluate, run_check
from grader.models import CheckStatus, Outcome, points_for, status_of
from grader.probe.evidence import Evidence

# -- statuses and points ---------------------------------------------------------------------


def test_one_mapping_from_outcome_to_status() -> None:
    assert {o: status_of(o) for o in Outcome} == {
        Outcome.RETURNED: CheckStatus.PASSED,
        Outcome.FAIL: CheckStatus.FAILED,
        Outcome.NOT_ATTEMPTED: CheckStatus.NOT_ATTEMPTED,
        Outcome.TIMEOUT: CheckStatus.TIMEOUT,
        Outcome.CRASH: CheckStatus.ERROR,
    }


def test_points_are_all_or_nothing() -> None:
    assert points_for(CheckStatus.PASSED, 1.5) == 1.5
    for status in CheckStatus:
        if status is not CheckStatus.PASSED:
            assert points_for(status, 1.5) == 0.0


# -- the runner --------------------------------------------------------------------------------


def one_check(fn: Any, points: float = 2.0) -> Exercise:
    ex = Exercise("exTest", title="test")
    ex.check(points=points, call=Call("f", 3), hint="a hint", id="c")(fn)
    return ex


def run_one(fn: Any, ev: Evidence, reference: Any = None) -> Any:
    ex = one_check(fn)
    check = ex.checks[0]
    assert check.call is not None
    ctx = Context(text="f(3)", args=(3,), kwargs={}, reference=reference, call=check.call)
    return run_check(check, ev, ctx)


def passes(got: Any, ctx: Context) -> None:
    pass


def fails(got: Any, ctx: Context) -> None:
    raise Fail("f(3): expected 9, got 4")


def not_attempted(got: Any, ctx: Context) -> None:
    raise NotAttempted()


def crashes(got: Any, ctx: Context) -> None:
    raise KeyError("grader bug")


def asserts(got: Any, ctx: Context) -> None:
    assert got == 9  # an AssertionError is a grader bug too, never "incorrect"


RETURNED = Evidence(status="returned", value=4)


@pytest.mark.parametrize(
    ("fn", "status", "score"),
    [
        (passes, "passed", 2.0),
        (fails, "failed", 0.0),
        (not_attempted, "not_attempted", 0.0),
        (crashes, "error", 0.0),
        (asserts, "error", 0.0),
    ],
)
def test_how_a_check_ends_decides_its_status(fn: Any, status: str, score: float) -> None:
    result = run_one(fn, RETURNED)
    assert (result.status.value, result.score, result.max_score) == (status, score, 2.0)
    assert result.message or status == "passed"
    assert (result.hint == "a hint") == (status in ("failed", "timeout"))


def test_a_grader_bug_is_flagged_with_its_traceback() -> None:
    result = run_one(crashes, RETURNED)
    assert result.message.startswith("internal grader error in check c: KeyError")
    assert "raise KeyError" in result.details["traceback"]


def test_fail_message_is_shown_as_is() -> None:
    assert run_one(fails, RETURNED).message == "f(3): expected 9, got 4"
    assert run_one(not_attempted, RETURNED).message == "`f` is not written yet"


@pytest.mark.parametrize(
    ("ev", "status", "words"),
    [
        (Evidence(status="missing"), "not_attempted", "`f` is not defined"),
        (Evidence(status="stub"), "not_attempted", "NotImplementedError"),
        (Evidence(status="not_callable", extra={"type": "int"}), "failed", "not a function"),
        (
            Evidence(
                status="raised",
                error_type="ValueError",
                error_message="bad k",
                traceback="  line 3",
            ),
            "failed",
            "f(3) raised ValueError: bad k\nline 3",
        ),
        (Evidence(status="timeout"), "timeout", "did not finish"),
        (Evidence(status="kernel_died"), "failed", "kernel died"),
        (Evidence(status="not_run"), "failed", "could not be called"),
        (
            Evidence(status="unreadable", error_message="bad array"),
            "failed",
            "could not be read: bad array",
        ),
    ],
)
def test_evidence_that_is_not_a_value_never_reaches_the_check(
    ev: Evidence, status: str, words: str
) -> None:
    result = run_one(crashes, ev)  # the check function would crash: it must not be called
    assert result.status.value == status
    assert words in result.message
    assert result.score == 0


def test_evaluate_uses_the_reference_for_the_same_bound_arguments() -> None:
    ex = Exercise("exTest", title="test")
    x = ex.input("x", lambda rng: rng.standard_normal(4))
    call = Call("double", x)
    ex.compare("double_x", points=1, call=call)
    ex.compare("double_x_again", points=1, call=Call("double", x))
    assert len(ex.calls()) == 1  # two checks, one kernel round trip

    bound = {call.key(): call.bind(7, {})}
    (value,), _ = bound[call.key()]
    reference = types.SimpleNamespace(double=lambda a: 2 * a)
    good = {call.key(): Evidence(status="returned", value=2 * value)}
    bad = {call.key(): Evidence(status="returned", value=3 * value)}
    assert [r.status.value for r in evaluate(ex, good, bound, reference)] == ["passed"] * 2
    assert [r.status.value for r in evaluate(ex, bad, bound, reference)] == ["failed"] * 2
    # Reference answers computed ahead (beside the kernel) are used as they are.
    ahead = {call.key(): 3 * value}
    assert [r.status.value for r in evaluate(ex, bad, bound, reference, ahead)] == ["passed"] * 2


# -- declarations ------------------------------------------------------------------------------


def test_inputs_are_reproducible_from_the_seed() -> None:
    ex = Exercise("exTest", title="test")
    x = ex.input("x", lambda rng: rng.standard_normal(3))
    np.testing.assert_array_equal(x.materialise(1), x.materialise(1))
    assert not np.array_equal(x.materialise(1), x.materialise(2))


def test_call_keys_are_stable_and_distinguish_inputs() -> None:
    ex = Exercise("exTest", title="test")
    a = ex.input("x", lambda rng: rng.standard_normal(3))
    b = ex.input("x", lambda rng: rng.standard_normal(5))  # same display name, other input
    assert Call("f", a, k=2).key() == Call("f", a, k=2).key()
    assert Call("f", a, k=2).key() != Call("f", a, k=3).key()
    assert Call("f", a).key() != Call("f", b).key()
    assert Call("f", a).key() != Call("g", a).key()
    assert Call.get("f").key() != Call("f").key()


def test_inputs_sharing_a_stream_are_consistent() -> None:
    ex = Exercise("exTest", title="test")
    n = ex.input("n", lambda rng: int(rng.integers(0, 10**9)), stream="s")
    same = ex.input("n2", lambda rng: int(rng.integers(0, 10**9)), stream="s")
    assert n.materialise(5) == same.materialise(5)


def test_describe_shows_what_the_student_needs() -> None:
    ex = Exercise("exTest", title="test")
    x = ex.input("x", lambda rng: rng.standard_normal((4, 5, 3)))
    s = ex.input("stride", lambda rng: 2)
    call = Call("conv2d", x, 3, stride=s, padding="same")
    args, kwargs = call.bind(0, {})
    assert call.describe(args, kwargs) == "conv2d(x (4, 5, 3), 3, stride=2, padding='same')"
    assert Call("f", s).describe(*Call("f", s).bind(0, {})) == "f(stride=2)"
    assert Call.get("model").describe() == "model"


def test_duplicate_check_ids_are_refused() -> None:
    ex = Exercise("exTest", title="test")
    ex.compare("c", points=1, call=Call("f"))
    with pytest.raises(ValueError, match="duplicate check id 'c'"):
        ex.compare("c", points=1, call=Call("g"))


def test_copy_value_is_deep_for_arrays_and_containers() -> None:
    arr = np.zeros(3)
    copied = copy_value({"a": [arr, (arr,)]})
    copied["a"][0][0] = 1
    copied["a"][1][0][1] = 1
    assert not arr.any()


# -- comparisons -------------------------------------------------------------------------------


def test_expect_array_accepts_numbers_and_lists_of_numbers() -> None:
    assert expect_array([[1, 2], [3, 4]], what="f").shape == (2, 2)
    assert expect_array(np.arange(3), what="f").dtype.kind == "i"
    assert expect_array(2.5, what="f").shape == ()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("forty-two", "expected a NumPy array, got str"),
        (None, "got None"),
        ([1, "a"], "expected an array of numbers"),
        ([[1, 2], [3]], "expected an array of numbers"),
        (np.array([1, None], dtype=object), "dtype object"),
        (np.array([1j]), "dtype complex128"),
        ({"a": 1}, "got dict"),
    ],
)
def test_expect_array_fails_on_anything_else(value: Any, words: str) -> None:
    with pytest.raises(Fail, match="^f: .*" + words.replace("(", r"\(")):
        expect_array(value, what="f")


def test_expect_shape_names_both_shapes() -> None:
    with pytest.raises(Fail, match=r"^f\(x\): expected shape \(4, 4, 3\), got \(3, 3, 3\)$"):
        expect_shape(np.zeros((3, 3, 3)), (4, 4, 3), what="f(x)")


def test_expect_close_reports_where_and_how_much() -> None:
    want = np.zeros((2, 3))
    got = want.copy()
    got[1, 2] = 0.5
    with pytest.raises(Fail) as info:
        expect_close(got, want, what="f")
    message = str(info.value)
    assert "1 of 6 values differ" in message and "at index (1, 2)" in message
    assert "expected 0, got 0.5" in message
    expect_close(want + 1e-7, want, what="f")  # within tolerance
    with pytest.raises(Fail, match="NaN or infinity"):
        expect_close(np.full((2, 3), np.nan), want, what="f")


def test_expect_int_is_strict_about_type_but_not_about_float_form() -> None:
    expect_int(3, 3, what="n")
    expect_int(np.int64(3), 3, what="n")
    expect_int(3.0, 3, what="n")
    for bad, words in ((True, "boolean"), (3.5, "float"), ("3", "str"), (4, "expected 3, got 4")):
        with pytest.raises(Fail, match=words):
            expect_int(bad, 3, what="n")


def test_expect_match_compares_structures() -> None:
    expect_match([((2, 3), 10), ((4,), 5)], [((2, 3), 10), ((4,), 5)], what="s")
    expect_match([[2, 3], 10], ((2, 3), 10), what="s")  # a list where a tuple is expected
    expect_match(np.float64(0.1 + 0.2), 0.3, what="s")
    with pytest.raises(Fail, match=r"s\[1\]: expected 10, got 11"):
        expect_match(((2, 3), 11), ((2, 3), 10), what="s")
    with pytest.raises(Fail, match="expected 2 items, got 1"):
        expect_match([1], [1, 2], what="s")
    with pytest.raises(Fail, match="expected a tuple of 2 items, got int"):
        expect_match(5, (1, 2), what="s")
    with pytest.raises(Fail, match="expected True"):
        expect_match(1, True, what="s")
    with pytest.raises(TypeError):  # a reference value the grader cannot compare: a grader bug
        expect_match(1, object(), what="s")
