"""Naming a mistake: "your answer is what conv2d gives with the kernel flipped".

The grader computes the catalogued wrong answers (grader.checks.variants) from the reference on
a check's own inputs; a student release ships them as data for its public examples. Either way,
this module turns them into the words a student reads, so a graded report and a self-check name
the same mistake in the same words.

Only NumPy, the standard library and relative imports: the student release ships this file byte
for byte (grader.release).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .expect import expect_match
from .outcomes import Fail

MAX_NAMED = 3


def matches(got: Any, want: Any, *, atol: float = 1e-5) -> bool:
    """Whether `got` passes as `want` (the comparison the compare checks make)."""
    try:
        expect_match(got, want, what="", atol=atol)
    except Fail:
        return False
    except Exception:  # noqa: BLE001 - a value of a shape the comparison does not know
        return False
    return True


def name_mistakes(
    func: str, got: Any, want: Any, wrongs: Iterable[tuple[str, str, Any]], *, atol: float = 1e-5
) -> tuple[list[str], str]:
    """The ids of the mistakes (id, says, their answer) whose answer `got` is, and the sentence
    that names them (" — your answer is what f gives …."), or ([], "").

    A mistake whose answer passes as `want` cannot be told apart here and is skipped. Two
    mistakes can give the same answer: all are named, in their given order (at most three)."""
    named = [
        (wid, says)
        for wid, says, value in wrongs
        if not matches(value, want, atol=atol) and matches(got, value, atol=atol)
    ]
    if not named:
        return [], ""
    return [wid for wid, _ in named], (
        f" — your answer is what {func} gives "
        + "; or ".join(s for _, s in named[:MAX_NAMED])
        + "."
    )


def timeout_message(text: str, limit: float) -> str:
    """What a call that ran past its limit gets, graded or self-checked alike."""
    return f"{text} did not finish within {limit:g} s (is there an endless loop?)"
