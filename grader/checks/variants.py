"""Known wrong answers: the catalogue of mistakes each exercise's checks exist to catch.

Each exercise declares, next to its checks, the mistakes its checks must catch: ours, and the
conventions of other courses and libraries that differ from the course's (Keras' own NumPy test
oracles, the CS231n and deeplearning.ai assignments, PyTorch's defaults). Each is a function
computed *in the grader* from the reference and the check's own inputs:

    Wrong("conv2d", "flipped_kernel",
          "with the kernel flipped (a true convolution); Keras does not flip the kernel",
          lambda ref, x, kernel, **kw: ref.conv2d(x, np.asarray(kernel)[::-1, ::-1], **kw),
          caught_by=("conv2d_valid_2d", ...))

The catalogue drives three things:
- graded inputs: `caught_by` names the checks whose hidden inputs must make the mistake visible
  at every seed (tests/test_discriminating_inputs.py holds every check's maker to it);
- public examples: the release keeps drawing public inputs until every mistake fails one of its
  examples (grader.selfcheck.public), and ships the mistakes' answers on them;
- messages: when a check fails, `explain` recomputes the variants of the called function on the
  same inputs and, if the student's answer is one of them, says so — in the words of
  grader.checks.diagnosis, which the release's self-checks use too.

tests/mutants holds the student-code side of the same list: each catalogued mistake written as
a student would write it, graded end to end.

No student code runs here: the variants are the grader's own functions of the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from grader.checks.diagnosis import matches as matches  # re-exported for the checks
from grader.checks.diagnosis import name_mistakes
from grader.checks.values import copy_value


@dataclass(frozen=True)
class Wrong:
    """One known mistake in the graded function `func`."""

    func: str
    id: str
    says: str  # completes "your answer is what {func} gives …"
    make: Callable[..., Any]  # (reference namespace, *args, **kwargs) -> the wrong answer
    caught_by: tuple[str, ...] = ()
    # Whose convention this is, when it is a peer's (shown by `cnn-grader catalogue`).
    source: str = ""

    def value(self, reference: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:

        return self.make(reference, *copy_value(args), **copy_value(kwargs))


def answers(
    wrongs: Iterable[Wrong],
    func: str,
    reference: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    pick: Callable[[Any], Any] = lambda v: v,
) -> list[tuple[str, str, Any]]:
    """(id, says, answer) of each variant of `func` on these inputs (those that have one)."""
    out = []
    for wrong in wrongs:
        if wrong.func != func:
            continue
        try:
            out.append((wrong.id, wrong.says, pick(wrong.value(reference, args, kwargs))))
        except Exception:  # noqa: BLE001 - this variant has no answer for these inputs
            continue
    return out


def explain(
    got: Any,
    ctx: Any,
    wrongs: Iterable[Wrong],
    *,
    atol: float = 1e-5,
    part: Callable[[Any], Any] | None = None,
    expected: Any = None,
) -> str:
    """ " — your answer is what f gives …" for the variants `got` matches, else "".

    `ctx` is the check's Context (its call, arguments and reference). `part` picks what the
    check compares out of a variant's value (e.g. the shapes of a summary); `expected` is what
    the check compared `got` with, when that is not `part(ctx.expected)`. The ids of the named
    variants are left in `ctx.extras["diagnosis"]` (the report's details).
    """
    call = getattr(ctx, "call", None)
    if call is None:
        return ""
    pick = part or (lambda v: v)
    want = expected if expected is not None else pick(ctx.expected)
    ids, text = name_mistakes(
        call.func,
        got,
        want,
        answers(wrongs, call.func, ctx.reference, ctx.args, ctx.kwargs, pick),
        atol=atol,
    )
    if ids:
        ctx.extras["diagnosis"] = ids
    return text
