"""The public examples of a student release: which checks, on which inputs, with which answers.

A public example is a compare check (`Exercise.compare`) of a function called on grader inputs,
drawn again on a *public* stream (`Input.materialise_public`, never a grading seed's) and
answered by the reference solution when the release is made. Calls on fixed arguments only are
left out: their inputs are the graded ones, so their answers would be a graded check's answer.
At most MAX_PER_FUNCTION per function, spread over the checks' different hints, so that each
example shows a different aspect (valid, same, stride, channels).

`cnn-grader generate` asks `public_functions` which functions get a self-check cell and the
release asks `public_cases` for the data: both go through `public_checks`, so they agree.
"""

from __future__ import annotations

from typing import Any

from grader.checks.core import Check, Exercise, Input, copy_value
from grader.errors import ConfigurationError
from grader.selfcheck.codec import NotData, encode
from grader.selfcheck.runtime import CASES_FORMAT

CASES_FORMAT_VERSION = 1
MAX_PER_FUNCTION = 4


def public_checks(exercise: Exercise) -> list[Check]:
    """The checks that become public examples, in declaration order."""
    by_function: dict[str, list[Check]] = {}
    for check in exercise.checks:
        if _qualifies(check):
            assert check.call is not None
            by_function.setdefault(check.call.func, []).append(check)
    chosen: set[str] = set()
    for checks in by_function.values():
        first_of_hint: list[Check] = []
        for c in checks:
            if all(c.hint != f.hint for f in first_of_hint):
                first_of_hint.append(c)
        rest = [c for c in checks if c not in first_of_hint]
        chosen |= {c.id for c in (first_of_hint + rest)[:MAX_PER_FUNCTION]}
    return [c for c in exercise.checks if c.id in chosen]


def public_functions(exercise: Exercise) -> list[str]:
    """The student functions that have public examples, in the order the checks name them."""
    return list(dict.fromkeys(c.call.func for c in public_checks(exercise) if c.call))


def public_cases(exercise: Exercise, reference: Any) -> dict[str, Any]:
    """The exercise's cases file: every public example with its reference answer, as data."""
    cache: dict[int, Any] = {}
    cases = []
    for check in public_checks(exercise):
        call = check.call
        assert call is not None and check.compare_atol is not None
        args, kwargs = call.bind_public(cache)
        expected = getattr(reference, call.func)(*copy_value(args), **copy_value(kwargs))
        try:
            answer = encode(expected)
        except NotData as exc:
            raise ConfigurationError(
                f"{exercise.id}: the reference's answer to {check.id} is {exc}, not plain data; "
                "a compare check on such a function cannot be a public example") from None
        cases.append({
            "check": check.id, "title": check.title, "hint": check.hint, "function": call.func,
            "call": call.describe(args, kwargs),
            "args": [_encode_arg(raw, value) for raw, value in zip(call.args, args)],
            "kwargs": {k: _encode_arg(call.kwargs[k], v) for k, v in kwargs.items()},
            "expected": answer, "atol": check.compare_atol,
        })
    return {"format": CASES_FORMAT, "format_version": CASES_FORMAT_VERSION,
            "exercise": exercise.id, "title": exercise.title, "cases": cases}


def _qualifies(check: Check) -> bool:
    call = check.call
    if check.compare_atol is None or call is None or call.kind != "call":
        return False
    if not _has_input(list(call.args) + list(call.kwargs.values())):
        return False
    args, kwargs = call.bind_public({})
    try:
        encode(list(args)), encode(list(kwargs.values()))
    except NotData:
        return False
    return True


def _has_input(values: list[Any]) -> bool:
    return any(isinstance(v, Input) or (isinstance(v, (tuple, list)) and _has_input(list(v)))
               for v in values)


def _encode_arg(raw: Any, value: Any) -> Any:
    """An argument as data, marking what came from a grader input (shown by its name)."""
    if isinstance(raw, Input):
        return {"__input__": raw.name, "value": encode(value)}
    if isinstance(raw, tuple):
        return {"__tuple__": [_encode_arg(r, v) for r, v in zip(raw, value)]}
    if isinstance(raw, list):
        return [_encode_arg(r, v) for r, v in zip(raw, value)]
    return encode(value)
