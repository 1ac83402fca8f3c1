"""A Keras model against the reference model, layer by layer, as plain data.

Both models are first reduced to plain descriptions (`ModelInfo`): per layer its type, the
settings that matter, its output shape and parameter count; plus the input shape and the
compile settings. Nested models (an augmentation `Sequential` used as a layer) are flattened and
a separate `Activation("relu")` is folded into the layer before it, since that is the same model.

The layer lists are then *aligned* (difflib over layer types) rather than zipped, so that a
missing, extra or moved layer is named as such ("missing MaxPooling2D(2) after Conv2D #2"),
layers after it are still compared with their real counterparts, and a missing last layer
cannot go unnoticed. The side-by-side table goes to the report.

The graded checks (grader.keras_support: the student's model loaded from the kernel's file with
safe_mode) and the public self-checks (the student's model in the notebook) describe and compare
with this one module, so both say the same thing in the same words. Shipped in the student
release as `cnn_selfcheck/selfcheck/architecture.py`: the standard library only; the model's
own methods do the rest (`to_data` / `from_data` carry a description as JSON).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# The settings compared per layer type (anything else in a layer's config is free).
SETTINGS: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "kernel_regularizer"),
    "Dense": ("units", "activation", "kernel_regularizer"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Dropout": ("rate",),
    "SpatialDropout2D": ("rate",),
    "RandomFlip": ("mode",),
    "RandomRotation": ("factor",),
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomZoom": ("height_factor", "width_factor"),
    "Rescaling": ("scale", "offset"),
    "Activation": ("activation",),
}
_ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax"}
_DEFAULTS = {"strides": 1, "padding": "valid", "activation": "linear", "kernel_regularizer": None}


@dataclass(frozen=True)
class LayerInfo:
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    output_shape: tuple[int | None, ...] | None = None  # without the batch axis
    params: int | None = None

    def label(self) -> str:
        """How a student would write the layer: Conv2D(64, 3, relu, padding='same')."""
        s = self.settings
        parts: list[str] = []
        if self.kind == "Conv2D":
            parts = [str(s.get("filters")), _fmt(s.get("kernel_size"))]
        elif self.kind == "Dense":
            parts = [str(s.get("units"))]
        elif self.kind in ("MaxPooling2D", "AveragePooling2D"):
            parts = [_fmt(s.get("pool_size"))]
        elif self.kind in ("Dropout", "SpatialDropout2D"):
            parts = [_fmt(s.get("rate"))]
        elif self.kind == "RandomFlip":
            parts = [repr(s.get("mode"))]
        elif self.kind in SETTINGS:
            parts = [_fmt(s.get(k)) for k in SETTINGS[self.kind] if s.get(k) is not None]
        act = s.get("activation")
        if self.kind in ("Conv2D", "Dense") and act not in (None, "linear"):
            parts.append(str(act))
        strides = s.get("strides")
        if strides is not None and strides != 1 and strides != s.get("pool_size"):
            parts.append(f"strides={_fmt(strides)}")
        if s.get("padding") not in (None, "valid"):
            parts.append(f"padding={s['padding']!r}")
        if s.get("kernel_regularizer"):
            parts.append(_fmt(s["kernel_regularizer"]))
        return f"{self.kind}({', '.join(parts)})" if parts else self.kind


@dataclass(frozen=True)
class CompileInfo:
    optimizer: str  # "adam"
    loss: str  # "sparse_categorical_crossentropy"
    from_logits: bool
    metrics: tuple[str, ...]  # normalised: "accuracy" for every accuracy spelling


@dataclass(frozen=True)
class ModelInfo:
    input_shape: tuple[int | None, ...] | None
    layers: tuple[LayerInfo, ...]
    params: int | None
    compile: CompileInfo | None = None
    compile_problem: str = ""  # why compile settings could not be read


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- describing ----------------------------------------------------------------------------
def describe(model: Any) -> ModelInfo:
    """A plain description of a Keras model (built-in layers only; loaded with safe_mode)."""
    layers = _fold_activations(list(_flatten(model)))
    try:
        input_shape: tuple[int | None, ...] | None = tuple(model.inputs[0].shape)[1:]
    except Exception:  # noqa: BLE001 - an unbuilt model has no inputs
        input_shape = None
    try:
        params: int | None = int(model.count_params())
    except Exception:  # noqa: BLE001
        params = None
    compile_info, problem = _compile_info(model)
    return ModelInfo(input_shape, tuple(layers), params, compile_info, problem)


def _flatten(model: Any) -> list[LayerInfo]:
    out: list[LayerInfo] = []
    for layer in getattr(model, "layers", []):
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if hasattr(layer, "layers") and kind in ("Sequential", "Functional", "Model"):
            out.extend(_flatten(layer))
            continue
        out.append(_layer_info(layer))
    return out


def _layer_info(layer: Any) -> LayerInfo:
    kind = type(layer).__name__
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001
        config = {}
    settings = {k: _normalise(k, config.get(k)) for k in SETTINGS.get(kind, ())}
    if kind == "ReLU":
        settings = {"activation": "relu"}
    elif kind == "Softmax":
        settings = {"activation": "softmax"}
    try:
        shape: tuple[int | None, ...] | None = tuple(layer.output.shape)[1:]
    except Exception:  # noqa: BLE001 - a layer never called has no output
        shape = None
    try:
        params: int | None = int(layer.count_params())
    except Exception:  # noqa: BLE001
        params = None
    return LayerInfo(kind, settings, shape, params)


def _normalise(key: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        items = tuple(_normalise(key, v) for v in value)
        return items[0] if items and all(v == items[0] for v in items) else items
    if key == "activation" and isinstance(value, dict):
        return str(value.get("config", {}).get("name") or value.get("class_name") or value)
    if key == "kernel_regularizer" and isinstance(value, dict):
        name = str(value.get("class_name", "?"))
        cfg = value.get("config") or {}
        factors = tuple(round(float(cfg[k]), 8) for k in ("l1", "l2") if k in cfg)
        return (name, *factors)
    if isinstance(value, float):
        return round(value, 8)
    return value


def _fold_activations(layers: list[LayerInfo]) -> list[LayerInfo]:
    out: list[LayerInfo] = []
    for info in layers:
        if (
            info.kind in _ACTIVATION_LAYERS
            and out
            and out[-1].kind in ("Conv2D", "Dense")
            and out[-1].settings.get("activation") == "linear"
        ):
            prev = out[-1]
            out[-1] = replace(
                prev, settings={**prev.settings, "activation": info.settings.get("activation")}
            )
            continue
        out.append(info)
    return out


_ACCURACY = {"accuracy", "acc", "sparse_categorical_accuracy"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _config_name(value: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict):
        cls, cfg = str(value.get("class_name", "")), value.get("config")
        if cls == "function" and isinstance(cfg, str):
            return cfg, {}
        return _snake(cls), cfg if isinstance(cfg, dict) else {}
    return type(value).__name__, {}


def _compile_info(model: Any) -> tuple[CompileInfo | None, str]:
    problem = getattr(model, "_cnn_grader_compile_problem", "")
    if problem:
        return None, f"its compile settings could not be loaded ({problem})"
    try:
        config = model.get_compile_config()
    except Exception as exc:  # noqa: BLE001
        return None, f"its compile settings could not be read ({type(exc).__name__})"
    if not config:
        return None, ""
    optimizer = config.get("optimizer")
    optimizer = str(optimizer.get("class_name", "?") if isinstance(optimizer, dict) else optimizer)
    loss, loss_cfg = _config_name(config.get("loss"))
    metrics = []
    for m in config.get("metrics") or []:
        name, _ = _config_name(m)
        metrics.append("accuracy" if name in _ACCURACY else name)
    return CompileInfo(
        optimizer.lower(), loss, bool(loss_cfg.get("from_logits", False)), tuple(metrics)
    ), ""


# -- comparing -----------------------------------------------------------------------------
@dataclass
class Comparison:
    problems: list[str]
    table: list[list[Any]]

    @property
    def ok(self) -> bool:
        return not self.problems


def _fmt(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], str):  # a regularizer
        return f"{value[0]}({', '.join(_fmt(v) for v in value[1:])})"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, str) else str(value)


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
                f"{k} is {_fmt(g.settings.get(k))}, expected {_fmt(w.settings.get(k))}"
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


# -- as data, and as the student reads a difference ----------------------------------------
def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def to_data(info: ModelInfo) -> dict[str, Any]:
    """A description as JSON-ready data (tuples become lists, as JSON has them)."""
    import json

    return dict(json.loads(json.dumps(asdict(info))))


def from_data(data: dict[str, Any]) -> ModelInfo:
    """The description `to_data` wrote."""
    compiled = data.get("compile")
    shape = data.get("input_shape")
    return ModelInfo(
        input_shape=tuple(shape) if isinstance(shape, list) else shape,
        layers=tuple(
            LayerInfo(
                str(x["kind"]),
                {k: _tuples(v) for k, v in (x.get("settings") or {}).items()},
                tuple(x["output_shape"]) if isinstance(x.get("output_shape"), list) else None,
                x.get("params"),
            )
            for x in data.get("layers") or []
        ),
        params=data.get("params"),
        compile=CompileInfo(
            str(compiled["optimizer"]),
            str(compiled["loss"]),
            bool(compiled["from_logits"]),
            tuple(compiled["metrics"]),
        )
        if isinstance(compiled, dict)
        else None,
        compile_problem=str(data.get("compile_problem") or ""),
    )


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
