"""A Keras model as plain data: what the grade and the self-checks compare.

A model is reduced to a plain description (`ModelInfo`): per layer its type, the settings that
matter, its output shape and parameter count; plus the input shape and the compile settings.
Nested models (an augmentation `Sequential` used as a layer) are flattened and a separate
`Activation("relu")` is folded into the layer before it, since that is the same model.
`to_data` / `from_data` carry a description as JSON (the release stores the reference's; the
student's kernel sends the student's). Comparing two descriptions is
grader.selfcheck.comparison's.

The graded checks (grader.keras_support: the student's model loaded from the kernel's file with
safe_mode) and the public self-checks (the student's model in the notebook) describe with this
one module. Shipped in the student release as `cnn_selfcheck/selfcheck/description.py`: the
standard library only, and no relative import either, since a grader driver runs this file's
source alone in the student's kernel (grader.selfcheck.models.driver_source); the model's own
methods do the rest.
"""

from __future__ import annotations

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
            parts = [str(s.get("filters")), fmt(s.get("kernel_size"))]
        elif self.kind == "Dense":
            parts = [str(s.get("units"))]
        elif self.kind in ("MaxPooling2D", "AveragePooling2D"):
            parts = [fmt(s.get("pool_size"))]
        elif self.kind in ("Dropout", "SpatialDropout2D"):
            parts = [fmt(s.get("rate"))]
        elif self.kind == "RandomFlip":
            parts = [repr(s.get("mode"))]
        elif self.kind in SETTINGS:
            parts = [fmt(s.get(k)) for k in SETTINGS[self.kind] if s.get(k) is not None]
        act = s.get("activation")
        if self.kind in ("Conv2D", "Dense") and act not in (None, "linear"):
            parts.append(str(act))
        strides = s.get("strides")
        if strides is not None and strides != 1 and strides != s.get("pool_size"):
            parts.append(f"strides={fmt(strides)}")
        if s.get("padding") not in (None, "valid"):
            parts.append(f"padding={s['padding']!r}")
        if s.get("kernel_regularizer"):
            parts.append(fmt(s["kernel_regularizer"]))
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


def fmt(value: Any) -> str:
    """A setting as a student writes it: 3, 0.25, 'same', L2(0.001), none."""
    if isinstance(value, tuple) and value and isinstance(value[0], str):  # a regularizer
        return f"{value[0]}({', '.join(fmt(v) for v in value[1:])})"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, str) else str(value)


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
    except Exception:  # noqa: BLE001 - an unbuilt model has no count: said as unknown
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
    except Exception:  # noqa: BLE001 - a custom layer's config may raise anything
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
    except Exception:  # noqa: BLE001 - an unbuilt layer has no count: said as unknown
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
    except Exception as exc:  # noqa: BLE001 - the student's compile settings may raise anything
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


# -- as data ------------------------------------------------------------------------------
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
