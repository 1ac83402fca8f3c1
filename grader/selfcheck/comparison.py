"""Two model descriptions compared: what differs, in the words a student reads, and the table.

The layer lists of two descriptions (grader.selfcheck.description) are *aligned* (difflib over
layer types) rather than zipped, so that a missing, extra or moved layer is named as such
("missing MaxPooling2D(2) after Conv2D #2"), layers after it are still compared with their real
counterparts, and a missing last layer cannot go unnoticed. The side-by-side table goes to the
report. Compile settings are compared with advice on the usual slips (a one-hot loss, logits).

The graded checks (grader.keras_support) and the public self-checks (grader.selfcheck.runtime)
compare with this one module, so both say the same thing in the same words. Shipped in the
student release as `cnn_selfcheck/selfcheck/comparison.py`: the standard library and relative
imports only.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from .description import SETTINGS, LayerInfo, ModelInfo, fmt


@dataclass
class Comparison:
    problems: list[str]
    table: list[list[Any]]

    @property
    def ok(self) -> bool:
        return not self.problems


def _shape(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "?"
    return (
        "("
        + ", ".join("?" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _params(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-6
        except (TypeError, ValueError):
            return False
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b, strict=False))
    return bool(a == b)


class _Names:
    """`Conv2D #2` where the expected model has several Conv2D layers; the last is 'the output
    layer'."""

    def __init__(self, layers: tuple[LayerInfo, ...]) -> None:
        self.layers = layers
        counts: dict[str, int] = {}
        self.names: list[str] = []
        totals = {k: sum(1 for x in layers if x.kind == k) for k in {x.kind for x in layers}}
        for info in layers:
            counts[info.kind] = counts.get(info.kind, 0) + 1
            self.names.append(
                f"{info.kind} #{counts[info.kind]}" if totals[info.kind] > 1 else info.kind
            )

    def __call__(self, i: int) -> str:
        if i == len(self.layers) - 1:
            return f"the output layer ({self.layers[i].label()})"
        return self.names[i]

    def after(self, i: int) -> str:
        return "at the start" if i == 0 else f"after {self(i - 1)}"

    def before(self, i: int) -> str:
        return (
            f"after {self(len(self.layers) - 1)}" if i >= len(self.layers) else f"before {self(i)}"
        )


def _align(
    want: tuple[LayerInfo, ...], got: tuple[LayerInfo, ...]
) -> list[tuple[int | None, int | None]]:
    """Pairs (expected index, your index); None on one side for a missing or extra layer.

    First on full labels, so that an extra Dense(64) is found *between* two matching layers;
    then, inside each stretch that differs, on layer types, so that a Conv2D with the wrong
    padding is still compared with its counterpart rather than called missing.
    """
    pairs: list[tuple[int | None, int | None]] = []
    outer = difflib.SequenceMatcher(
        None, [x.label() for x in want], [x.label() for x in got], autojunk=False
    )
    for op, i1, i2, j1, j2 in outer.get_opcodes():
        if op == "equal":
            pairs += list(zip(range(i1, i2), range(j1, j2), strict=False))
            continue
        inner = difflib.SequenceMatcher(
            None, [x.kind for x in want[i1:i2]], [x.kind for x in got[j1:j2]], autojunk=False
        )
        for op2, a1, a2, b1, b2 in inner.get_opcodes():
            if op2 == "equal" or (op2 == "replace" and a2 - a1 == b2 - b1):
                pairs += list(zip(range(i1 + a1, i1 + a2), range(j1 + b1, j1 + b2), strict=False))
            else:
                pairs += [(i, None) for i in range(i1 + a1, i1 + a2)]
                pairs += [(None, j) for j in range(j1 + b1, j1 + b2)]
    return pairs


def compare_layers(got: ModelInfo, want: ModelInfo) -> Comparison:
    """Align the two layer lists and name every difference; build the side-by-side table."""
    names = _Names(want.layers)
    problems: list[str] = []
    table: list[list[Any]] = [
        [
            "#",
            "expected layer",
            "expected output",
            "expected params",
            "your layer",
            "your output",
            "your params",
        ]
    ]
    input_ok = got.input_shape == want.input_shape
    table.append(
        [
            "input",
            _shape(want.input_shape),
            "",
            "",
            _cell(_shape(got.input_shape), input_ok),
            "",
            "",
        ]
    )
    if not input_ok:
        problems.append(
            f"the input shape is {_shape(got.input_shape)}, expected "
            f"{_shape(want.input_shape)}: start the model with "
            f"keras.Input(shape={_shape(want.input_shape)})"
        )

    pairs = _align(want.layers, got.layers)
    missing: list[tuple[int, str]] = []  # (expected index, where it belongs)
    extra: list[tuple[int, str]] = []  # (your index, where it is)
    shape_notes: list[str] = []
    next_expected = len(want.layers)
    for i, j in reversed(pairs):  # to know what follows
        if i is not None:
            next_expected = i
        elif j is not None:
            extra.append((j, names.before(next_expected)))
    extra.reverse()
    for row, (i, j) in enumerate(pairs, start=1):
        if i is not None and j is not None:
            w, g = want.layers[i], got.layers[j]
            if w.kind != g.kind:
                problems.append(
                    f"layer {j + 1}: expected {w.label()} ({names(i)}), found {g.label()}"
                )
                table.append(_pair_row(row, w, g, kind_ok=False))
                continue
            diffs = [
                f"{k} is {fmt(g.settings.get(k))}, expected {fmt(w.settings.get(k))}"
                for k in SETTINGS.get(w.kind, ())
                if not _same(g.settings.get(k), w.settings.get(k))
            ]
            if diffs:
                problems.append(f"{names(i)}: {'; '.join(diffs)}")
            elif w.output_shape != g.output_shape:
                shape_notes.append(
                    f"{names(i)} outputs {_shape(g.output_shape)}, expected "
                    f"{_shape(w.output_shape)}"
                )
            table.append(_pair_row(row, w, g, kind_ok=not diffs))
        elif i is not None:
            w = want.layers[i]
            missing.append((i, names.after(i)))
            table.append(
                [
                    str(row),
                    w.label(),
                    _shape(w.output_shape),
                    _params(w.params),
                    _cell("— missing —", False),
                    "",
                    "",
                ]
            )
        elif j is not None:
            g = got.layers[j]
            table.append(
                [
                    str(row),
                    "",
                    "",
                    "",
                    _cell(f"{g.label()} (extra)", False),
                    _cell(_shape(g.output_shape), False),
                    _cell(_params(g.params), False),
                ]
            )

    order = " → ".join(x.kind for x in got.layers)
    for i, where in list(missing):
        w = want.layers[i]
        moved = next((e for e in extra if got.layers[e[0]].label() == w.label()), None) or next(
            (e for e in extra if got.layers[e[0]].kind == w.kind), None
        )
        if moved is not None:
            extra.remove(moved)
            missing.remove((i, where))
            problems.append(
                f"{names(i)} ({w.label()}) is in the wrong place: it should come "
                f"{where}; your layers are in the order {order}"
            )
    last = len(want.layers) - 1
    problems += [
        f"missing {'the output layer ' if i == last else ''}{want.layers[i].label()} {where}"
        for i, where in missing
    ]
    problems += [f"extra {got.layers[j].label()} {where}" for j, where in extra]
    if not problems:
        problems += shape_notes
    if got.params != want.params and not problems:
        problems.append(
            f"the model has {_params(got.params)} parameters, expected {_params(want.params)}"
        )
    table.append(
        [
            "total",
            "",
            "",
            _params(want.params),
            "",
            "",
            _cell(_params(got.params), got.params == want.params),
        ]
    )
    return Comparison(problems, table)


def _cell(text: str, ok: bool) -> dict[str, str]:
    return {"text": text, "status": "ok" if ok else "bad"}


def _pair_row(row: int, w: LayerInfo, g: LayerInfo, *, kind_ok: bool) -> list[Any]:
    return [
        str(row),
        w.label(),
        _shape(w.output_shape),
        _params(w.params),
        _cell(g.label(), kind_ok),
        _cell(_shape(g.output_shape), g.output_shape == w.output_shape),
        _cell(_params(g.params), g.params == w.params),
    ]


# -- compile settings ----------------------------------------------------------------------
def _ends_in_softmax(model: ModelInfo) -> bool:
    last = model.layers[-1] if model.layers else None
    if last is None:
        return False
    return last.kind == "Softmax" or last.settings.get("activation") == "softmax"


def _logits_advice(got: ModelInfo, from_logits: bool) -> str:
    """What is wrong depends on the student's last layer, not only on the flag."""
    softmax = _ends_in_softmax(got)
    if from_logits and softmax:
        return (
            "your last layer already applies softmax, so its outputs are probabilities, "
            "not logits: drop from_logits=True"
        )
    if from_logits:
        return (
            "your last layer is linear and the loss takes its outputs as logits, which "
            "trains, but the exercise asks for Dense(10, activation='softmax') and a loss "
            "without from_logits, so that predict() gives probabilities"
        )
    if softmax:
        return "the exercise's model outputs logits: drop the softmax and pass from_logits=True"
    return (
        "your last layer is linear, so its outputs are logits: pass from_logits=True to "
        "the loss (or end with a softmax, as the exercise asks)"
    )


def compare_compile(got: ModelInfo, want: ModelInfo) -> Comparison:
    """The optimizer, loss and metrics the exercise asks for, with advice on the usual slips."""
    w = want.compile
    assert w is not None, "the reference model is not compiled"
    g = got.compile
    table: list[list[Any]] = [["setting", "expected", "yours"]]
    if g is None:
        why = got.compile_problem or "it is not compiled"
        table += [
            ["optimizer", w.optimizer, _cell("—", False)],
            ["loss", w.loss, _cell("—", False)],
            ["metrics", ", ".join(w.metrics), _cell("—", False)],
        ]
        return Comparison(
            [
                f"{why}: call model.compile(optimizer={w.optimizer!r}, "
                f"loss={w.loss!r}, metrics={list(w.metrics)!r}) before returning "
                "the model"
            ],
            table,
        )
    problems = []
    if g.optimizer != w.optimizer:
        problems.append(f"the optimizer is {g.optimizer!r}, expected {w.optimizer!r}")
    if g.loss != w.loss:
        advice = ""
        if g.loss == "categorical_crossentropy" and w.loss == "sparse_categorical_crossentropy":
            advice = (
                ": categorical_crossentropy expects one-hot labels, but the labels here "
                "are integers 0–9, which is what sparse_categorical_crossentropy takes"
            )
        problems.append(f"the loss is {g.loss!r}, expected {w.loss!r}{advice}")
    elif g.from_logits != w.from_logits:
        problems.append(
            f"the loss has from_logits={g.from_logits}, expected {w.from_logits}: "
            + _logits_advice(got, g.from_logits)
        )
    lacking = [m for m in w.metrics if m not in g.metrics]
    if lacking:
        problems.append(
            f"the metrics are {list(g.metrics)!r}; {lacking[0]!r} is missing "
            "(fit() and the callbacks read logs['accuracy'])"
        )
    loss_ok = g.loss == w.loss and g.from_logits == w.from_logits
    table += [
        ["optimizer", w.optimizer, _cell(g.optimizer, g.optimizer == w.optimizer)],
        [
            "loss",
            w.loss + (" (from_logits)" if w.from_logits else ""),
            _cell(g.loss + (" (from_logits)" if g.from_logits else ""), loss_ok),
        ],
        ["metrics", ", ".join(w.metrics), _cell(", ".join(g.metrics) or "none", not lacking)],
    ]
    return Comparison(problems, table)


def listing(head: str, problems: list[str]) -> str:
    """`head: problem`, or `head:` and one `- problem` line each."""
    if len(problems) == 1:
        return f"{head}: {problems[0]}"
    return head + ":\n" + "\n".join(f"- {p}" for p in problems)


# What a graded model check compares, and the head of its message (grader.keras_support.checks).
COMPARES = {"layers": "the model differs from the one asked for", "compile": "compile settings"}


def compared(
    kind: str, got: ModelInfo, want: ModelInfo, *, what: str
) -> tuple[list[str], list[list[Any]]]:
    """([the student's message] or [], the report's table) of one comparison: "layers",
    "compile", or "params" (the parameter count the exercise states, `want.params`)."""
    if kind == "params":
        if got.params == want.params:
            return [], []
        if got.params is None:
            return [f"{what}: the model is not built, so it has no parameters yet"], []
        return [f"{what}: the model has {got.params:,} parameters, expected {want.params:,}"], []
    result = (compare_layers if kind == "layers" else compare_compile)(got, want)
    return (
        [listing(f"{what}: {COMPARES[kind]}", result.problems)] if result.problems else [],
        result.table,
    )
