"""A student release's cases files: the public examples as data, with their answers.

For each public example chosen by grader.selfcheck.public, the case holds the call and its
arguments (what came from a grader input marked with the input's name), the reference's answer
and, besides it, the catalogued mistakes' answers on the same inputs, so a self-check names a
mistake in the words of the graded report (grader.checks.diagnosis). A driver's call ships the
driver cut down to what it uses (`driver_alone`). Model builders ship the reference model's
description (grader.selfcheck.description) or the rules their model must hold, and a judged
check its judge's parameters (grader.selfcheck.judges). The release asks `public_cases` for an
exercise's file; the self-check runtime (grader.selfcheck.runtime) reads it.
"""

from __future__ import annotations

from typing import Any

from grader.checks.calls import Input
from grader.checks.core import Exercise
from grader.errors import ConfigurationError
from grader.selfcheck.codec import NotData, encode
from grader.selfcheck.public import Answers, choose, unchecked
from grader.selfcheck.runtime import CASES_FORMAT

CASES_FORMAT_VERSION = 2


def public_cases(exercise: Exercise, reference: Any) -> dict[str, Any]:
    """The exercise's cases file: every public example with the reference's answer and the
    catalogued mistakes' answers, as data; and the functions without examples, with why."""
    answers = Answers(exercise, reference)
    cases = []
    for chosen in choose(exercise, reference, answers=answers):
        c = chosen.candidate
        args, kwargs = answers.bound(chosen)
        try:
            expected = encode(answers.expected(chosen))
        except NotData as exc:
            raise ConfigurationError(
                f"{exercise.id}: the reference's answer to {c.id} is {exc}, not plain data; "
                "such a call cannot be a public example"
            ) from None
        case: dict[str, Any] = {
            "check": chosen.id,
            "title": c.title,
            "hint": c.hint,
            "function": c.call.func,
            "call": c.call.describe(args, kwargs),
            "args": [
                _encode_arg(raw, value) for raw, value in zip(c.call.args, args, strict=False)
            ],
            "kwargs": {k: _encode_arg(c.call.kwargs[k], v) for k, v in kwargs.items()},
            "expected": expected,
            "atol": c.atol,
            "wrong": _encode_wrong(answers.wrong(chosen)),
            "time_limit": c.call.timeout or exercise.limits.probe_timeout,
        }
        if c.parts:
            case["parts"], case["part_hints"] = list(c.parts), list(c.part_hints)
        if c.subject:
            case["subject"] = c.subject
        if c.dtype:
            case["dtype"] = True
        if c.call.driver_code is not None:
            case["driver"] = {
                "name": c.call.driver_code.name,
                "source": driver_alone(c.call.driver_code.source, c.call.driver_code.name),
            }
        cases.append(case)
    cases += model_cases(exercise, reference)
    return {
        "format": CASES_FORMAT,
        "format_version": CASES_FORMAT_VERSION,
        "exercise": exercise.id,
        "title": exercise.title,
        "cases": cases,
        "unchecked": unchecked(exercise),
    }


def model_cases(exercise: Exercise, reference: Any) -> list[dict[str, Any]]:
    """The model builders' stated facts, from the reference's model, and the names the grader
    needs after the run (said present or not; what they hold is graded)."""
    from grader.selfcheck.description import describe, to_data

    out: list[dict[str, Any]] = []
    specs: dict[str, Any] = {}

    def spec(builder: str) -> Any:  # the reference's model, described once per builder
        if builder not in specs:
            specs[builder] = to_data(describe(getattr(reference, builder)()))
        return specs[builder]

    for builder in exercise.public_models:
        for check in exercise.checks:
            kind = getattr(check.fn, "public_compare", None)
            if check.call is None or check.call.func != builder or kind is None:
                continue
            out.append(
                {
                    "check": check.id,
                    "kind": "model",
                    "compare": kind,
                    "function": builder,
                    "call": f"{builder}()",
                    "title": check.title,
                    "hint": check.hint,
                    "spec": spec(builder),
                    "time_limit": exercise.limits.probe_timeout,
                }
            )
    by_id = {c.id: c for c in exercise.checks}
    for check_id, rules in exercise.public_properties.items():
        check = by_id[check_id]
        assert check.call is not None
        case = {
            "check": check_id,
            "kind": "properties",
            "function": check.call.func,
            "call": check.call.describe(*check.call.bind_public({})),
            "title": check.title,
            "hint": check.hint,
            "rules": rules,
            "time_limit": exercise.limits.probe_timeout,
        }
        if check_id in exercise.public_compile:
            case["compile_spec"] = spec(check.call.func)
        out.append(case)
    for check_id, (judge, params) in exercise.public_judged.items():
        check = by_id[check_id]
        call = check.call
        assert call is not None and call.driver_code is not None
        args, kwargs = call.bind_public({})
        out.append(
            {
                "check": check_id,
                "kind": "judged",
                "function": call.func,
                "call": call.describe(args, kwargs),
                "title": check.title,
                "hint": check.hint,
                "judge": judge,
                "params": params,
                "driver": {
                    "name": call.driver_code.name,
                    "source": driver_alone(call.driver_code.source, call.driver_code.name),
                },
                "args": [encode(a) for a in args],
                "kwargs": {k: encode(v) for k, v in kwargs.items()},
                "time_limit": call.timeout or exercise.limits.probe_timeout,
            }
        )
    for name in exercise.after_run:
        out.append(
            {
                "check": f"{name}_defined",
                "kind": "defined",
                "function": name,
                "call": name,
                "title": f"{name} holds a Keras model after the run",
                "hint": f"The training cell must leave the trained model in `{name}` "
                "(its accuracy is graded, not checked here).",
                "time_limit": exercise.limits.probe_timeout,
            }
        )
    return out


def driver_alone(source: str, name: str) -> str:
    """A driver file cut down to the function `name`, the module's imports and the top-level
    functions it uses, as the release ships it (the rest of the grader's drivers stays ours)."""
    import ast

    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    keep, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in keep or current not in functions:
            continue
        keep.add(current)
        todo += [n.id for n in ast.walk(functions[current]) if isinstance(n, ast.Name)]
    body: list[ast.stmt] = [
        n
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        or (isinstance(n, ast.FunctionDef) and n.name in keep)
    ]
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"


def _encode_wrong(wrongs: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    out = []
    for wrong, value in wrongs:
        try:
            out.append({"id": wrong.id, "says": wrong.says, "value": encode(value)})
        except NotData:
            continue  # a mistake whose answer is no plain data is not named here
    return out


def _encode_arg(raw: Any, value: Any) -> Any:
    """An argument as data, marking what came from a grader input (shown by its name)."""
    if isinstance(raw, Input):
        return {"__input__": raw.name, "value": encode(value)}
    if isinstance(raw, tuple):
        return {"__tuple__": [_encode_arg(r, v) for r, v in zip(raw, value, strict=False)]}
    if isinstance(raw, list):
        return [_encode_arg(r, v) for r, v in zip(raw, value, strict=False)]
    return encode(value)
