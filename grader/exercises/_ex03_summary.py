"""The judge of ex03's summarize checks (grader.exercises.ex03_parameters).

summarize is judged twice per stack, output shapes and parameter counts, each with the grader's
conv_output_size, conv2d_params and dense_params in place of the student's (a helper's mistake
is charged by the helper's checks), and the parameters of a layer against the shape the student's
own summary gives its input (error carried forward: a wrong Flatten costs the shapes check, not
the Dense parameters after it too). A failed check names the catalogued mistake that gives the
student's rows (grader.checks.variants). See docs/grading.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.core import CheckFn, Context, Exercise, Fail
from grader.checks.expect import expect_int, expect_match
from grader.checks.variants import explain


def _layer_text(layer: Any) -> str:
    return repr(tuple(layer)) if isinstance(layer, (list, tuple)) else repr(layer)


HELPERS_NOTE = (
    " (summarize ran with the grader's conv_output_size, conv2d_params and "
    "dense_params in place of yours, so that a mistake in those counts in their own "
    "checks only)"
)


def _runs(got: Any, ctx: Context) -> list[tuple[str, Any]]:
    """The student's answers worth judging: with the grader's helpers first, then as written."""
    if not isinstance(got, dict):
        raise Fail(
            f"{ctx.text}: the grader could not read the result of summarize "
            f"(got {type(got).__name__})"
        )
    runs = [
        (key, got[key]) for key in ("with_reference", "own") if key in got and got[key] is not None
    ]
    if not runs:
        raise Fail(f"{ctx.text}: summarize returned None")
    return runs


def _rows(value: Any, ctx: Context, want: list[Any]) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise Fail(
            f"{ctx.text}: expected a list of (output_shape, params) pairs, got "
            f"{type(value).__name__}"
        )
    if len(value) != len(want):
        raise Fail(f"{ctx.text}: expected one entry per layer ({len(want)}), got {len(value)}")
    return [r if isinstance(r, (list, tuple)) and len(r) == 2 else (r, None) for r in value]


def _well_formed(shape: Any) -> bool:
    return (
        isinstance(shape, (list, tuple))
        and 1 <= len(shape) <= 3
        and all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
        )
    )


def _layer_params(ref: Any, layer: Any, shape_in: tuple[int, ...], fallback: int) -> int:
    """What the layer's parameters are when its input has `shape_in` (they depend only on its
    last axis): the reference's count for the layer alone on (64, 64, C)."""
    try:
        return int(ref.summarize([layer], (64, 64, int(shape_in[-1])))[0][1])
    except Exception:  # noqa: BLE001 - a shape the reference cannot take: no credit carried
        return fallback


def _carried_forward(
    ref: Any, layers: list[Any], input_shape: Any, rows: list[Any], want: list[Any]
) -> list[tuple[tuple[int, ...], int]]:
    """(input shape, expected params) per layer, the input shape being what the student's own
    previous row says when that is a usable shape, else the reference's."""
    out = []
    shape_in = tuple(int(d) for d in input_shape)
    for i, layer in enumerate(layers):
        out.append((shape_in, _layer_params(ref, layer, shape_in, int(want[i][1]))))
        mine = rows[i][0]
        shape_in = (
            tuple(int(d) for d in mine) if _well_formed(mine) else tuple(int(d) for d in want[i][0])
        )
    return out


def _judge(value: Any, ctx: Context, what: str) -> tuple[str, list[list[Any]]]:
    """'' when `value` (one run's rows) is right in `what` ('shapes' or 'params'), else the
    message; and the report's table either way."""
    want = ctx.expected["own"]
    layers, input_shape = ctx.args
    rows = _rows(value, ctx, want)
    first_bad = ""
    table: list[list[Any]]
    if what == "shapes":
        table = [["#", "layer", "expected shape", "your shape"]]
        for i, (w, g) in enumerate(zip(want, rows, strict=False)):
            try:
                expect_match(g[0], w[0], what="output_shape")
                ok = True
            except Fail as exc:
                ok = False
                first_bad = first_bad or (
                    f"layer {i + 1} {_layer_text(layers[i])}: expected "
                    f"output shape {w[0]}, got {g[0]!r:.120} ({exc})"
                )
            table.append(
                [
                    str(i + 1),
                    _layer_text(layers[i]),
                    str(w[0]),
                    {"text": str(g[0]), "status": "ok" if ok else "bad"},
                ]
            )
        return first_bad, table
    carried = _carried_forward(ctx.reference, layers, input_shape, rows, want)
    table = [["#", "layer", "input shape (yours)", "expected params", "your params"]]
    for i, ((shape_in, p), g) in enumerate(zip(carried, rows, strict=False)):
        try:
            expect_int(g[1], p, what="params")
            ok = True
        except Fail as exc:
            ok = False
            first_bad = first_bad or (
                f"layer {i + 1} {_layer_text(layers[i])} on an input of shape {shape_in}: {exc}"
            )
        table.append(
            [
                str(i + 1),
                _layer_text(layers[i]),
                str(shape_in),
                str(p),
                {"text": str(g[1]), "status": "ok" if ok else "bad"},
            ]
        )
    return first_bad, table


def _shapes(rows: Any) -> list[Any]:
    return [r[0] for r in rows]


def _params(rows: Any) -> list[Any]:
    return [r[1] for r in rows]


def summary_check(what: str, ex: Exercise) -> CheckFn:
    """The check of summarize's `what` ('shapes' or 'params'); a failure is explained with
    `ex`'s catalogue of known wrong answers as it is when the check runs."""

    def check(got: Any, ctx: Context) -> None:
        runs = _runs(got, ctx)
        verdicts = []
        for _, value in runs:
            try:
                verdicts.append(_judge(value, ctx, what))
            except Fail as exc:
                verdicts.append((str(exc).removeprefix(f"{ctx.text}: "), []))
        if any(not bad for bad, _ in verdicts):
            return
        bad, table = verdicts[0]
        if table:
            ctx.extras["table"] = table
        value = runs[0][1]
        note = (
            HELPERS_NOTE
            if runs[0][0] == "with_reference"
            and len(runs) > 1
            and not _same(runs[0][1], runs[1][1])
            else ""
        )
        why = ""
        if table:  # the rows were readable: which known mistake gives them?
            want = ctx.expected["own"]
            rows = _rows(value, ctx, want)
            pick = _shapes if what == "shapes" else _params
            expected = (
                _shapes(want)
                if what == "shapes"
                else [
                    p
                    for _, p in _carried_forward(
                        ctx.reference, ctx.args[0], ctx.args[1], rows, want
                    )
                ]
            )
            why = explain(pick(rows), ctx, ex.wrong, part=pick, expected=expected)
        raise Fail(f"{ctx.text}: {bad}{why}{note}")

    return check


def _same(a: Any, b: Any) -> bool:
    try:
        expect_match(a, b, what="")
    except Exception:  # noqa: BLE001 - any failure to match is "not the same"
        return False
    return True
