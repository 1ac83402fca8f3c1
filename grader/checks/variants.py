"""Known wrong answers: what a catalogued mistake returns, so that a failure can name it.

Each exercise declares, next to its checks, the mistakes its checks exist to catch (the mutant
catalogue in tests/mutants is their source) as functions computed *in the grader* from the
reference and the check's own inputs:

    Wrong("conv2d", "flipped_kernel",
          "with the kernel flipped (a true convolution); Keras does not flip the kernel",
          lambda ref, x, kernel, **kw: ref.conv2d(x, np.asarray(kernel)[::-1, ::-1], **kw),
          caught_by=("conv2d_valid_2d", ...))

When a check fails, `explain` recomputes the variants of the called function on the same
inputs and, if the student's answer is one of them, says so: "your answer is what conv2d gives
with the kernel flipped; …". A variant that equals the reference on these inputs is skipped (it
cannot be told apart here). `caught_by` names the checks whose hidden inputs must make the
mistake visible at every seed (tests/test_discriminating_inputs.py holds them to it).

No student code runs here: the variants are the grader's own functions of the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from grader.checks.expect import expect_match
from grader.checks.outcomes import Fail


@dataclass(frozen=True)
class Wrong:
    """One known mistake in the graded function `func`."""

    func: str
    id: str
    says: str  # completes "your answer is what {func} gives …"
    make: Callable[..., Any]  # (reference namespace, *args, **kwargs) -> the wrong answer
    caught_by: tuple[str, ...] = ()

    def value(self, reference: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from grader.checks.core import copy_value

        return self.make(reference, *copy_value(args), **copy_value(kwargs))


def matches(got: Any, want: Any, *, atol: float = 1e-5) -> bool:
    """Whether `got` passes as `want` (the comparison the compare checks make)."""
    try:
        expect_match(got, want, what="", atol=atol)
    except Fail:
        return False
    except Exception:  # noqa: BLE001 - a value of a shape the comparison does not know
        return False
    return True


def explain(got: Any, ctx: Any, wrongs: Iterable[Wrong], *, atol: float = 1e-5,
            part: Callable[[Any], Any] | None = None, expected: Any = None) -> str:
    """" — your answer is what f gives …" for the variants `got` matches, else "".

    `ctx` is the check's Context (its call, arguments and reference). `part` picks what the
    check compares out of a variant's value (e.g. the shapes of a summary); `expected` is what
    the check compared `got` with, when that is not `part(ctx.expected)`. Two mistakes can give
    the same answer on the same inputs: all of them are named, in their declared order (at most
    three). Their ids are left in `ctx.extras["diagnosis"]` (the report's details).
    """
    call = getattr(ctx, "call", None)
    if call is None:
        return ""
    pick = part or (lambda v: v)
    want = expected if expected is not None else pick(ctx.expected)
    named: list[Wrong] = []
    for wrong in wrongs:
        if wrong.func != call.func:
            continue
        try:
            value = pick(wrong.value(ctx.reference, ctx.args, ctx.kwargs))
        except Exception:  # noqa: BLE001 - this variant has no answer for these inputs
            continue
        if matches(value, want, atol=atol) or not matches(got, value, atol=atol):
            continue
        named.append(wrong)
    if not named:
        return ""
    ctx.extras["diagnosis"] = [w.id for w in named]
    return f" — your answer is what {call.func} gives " + "; or ".join(
        w.says for w in named[:3]) + "."
