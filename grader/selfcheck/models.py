"""Public self-checks of a model builder: what the notebook's text states, on the student's model.

`check(build_cnn)` builds the student's model and compares what the exercise states about it
(the input shape, the layer stack with its settings, the parameter count, the compile settings)
with the release's description of the reference model, written when the release is made from
the same `describe`. Accuracy is not here: it needs training and the held-out test images, and
stays a graded check.

`describe` runs where the model is (the student's kernel: the notebook cell, or a grader driver
in `cnn-grader check --course`); `compare` turns two descriptions into the student's messages.
Shipped in the student release as `cnn_selfcheck/selfcheck/models.py`: the standard library
only; the model's own methods do the rest.
"""

from __future__ import annotations

from typing import Any

# The settings of each layer kind that the exercises state (the rest is Keras' default).
SETTINGS = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "kernel_regularizer"),
    "Dense": ("units", "activation", "kernel_regularizer"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Dropout": ("rate",),
    "SpatialDropout2D": ("rate",),
    "Flatten": (),
    "RandomFlip": ("mode",),
    "RandomRotation": ("factor",),
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomZoom": ("height_factor", "width_factor"),
    "Rescaling": ("scale", "offset"),
}
_ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}


def _plain(value: Any, key: str = "") -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    if isinstance(value, dict):
        if key == "kernel_regularizer":  # ["L2", 0.0001], as the report writes L2(0.0001)
            config = value.get("config") or {}
            return [str(value.get("class_name", "?"))] + [
                round(float(config[k]), 8) for k in ("l1", "l2") if k in config]
        name = value.get("class_name") or value.get("config", {}).get("name")
        if key == "activation":
            name = value.get("config", {}).get("name") or value.get("class_name")
        return str(name).lower() if name else repr(value)
    if isinstance(value, float):
        return round(value, 8)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(getattr(value, "__name__", None) or getattr(value, "name", None) or value)


def is_model(value: Any) -> bool:
    """A Keras model, told without importing Keras (the self-checks need only NumPy)."""
    return hasattr(value, "layers") and hasattr(value, "count_params")


def describe(model: Any) -> dict[str, Any]:
    """The facts an exercise states about a model, as plain data."""
    if not is_model(model):
        return {"not_a_model": type(model).__name__}
    layers = _fold(_flatten(model))
    try:
        shape = list(model.input_shape[1:])
    except (AttributeError, ValueError, TypeError):
        shape = None
    compiled = None
    config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if isinstance(config, dict):
        metrics = config.get("metrics") or []
        compiled = {"optimizer": _plain(config.get("optimizer")),
                    "loss": _plain(config.get("loss")),
                    "metrics": [_plain(m) for m in (metrics if isinstance(metrics, list)
                                                    else [metrics])]}
    return {"input_shape": shape, "layers": layers, "params": int(model.count_params()),
            "compile": compiled}


def _flatten(model: Any) -> list[dict[str, Any]]:
    """The model's layers in order, a nested model (an augmentation Sequential used as a layer)
    opened up, without the InputLayer a functional model lists."""
    out: list[dict[str, Any]] = []
    for layer in getattr(model, "layers", []):
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if hasattr(layer, "layers") and kind in ("Sequential", "Functional", "Model"):
            out.extend(_flatten(layer))
            continue
        try:
            config = layer.get_config()
        except Exception:  # noqa: BLE001 - a layer that cannot describe itself: its class
            config = {}
        out.append({"class": kind, **{k: _plain(config[k], k) for k in SETTINGS.get(kind, ())
                                      if k in config and not (k == "kernel_regularizer"
                                                              and config[k] is None)}})
        if kind in _ACTIVATION_LAYERS:
            out[-1]["activation"] = _ACTIVATION_LAYERS[kind] or _plain(config.get("activation"),
                                                                       "activation")
    return out


def _fold(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A separate activation layer folded into the Conv2D or Dense before it: the same model."""
    out: list[dict[str, Any]] = []
    for each in layers:
        if (each["class"] in _ACTIVATION_LAYERS and out
                and out[-1]["class"] in ("Conv2D", "Dense")
                and out[-1].get("activation") in ("linear", None)):
            out[-1] = {**out[-1], "activation": each.get("activation")}
            continue
        out.append(each)
    return out


def _show(layer: dict[str, Any]) -> str:
    settings = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}"
                         for k, v in layer.items() if k != "class")
    return f"{layer['class']}({settings})"


def compare(got: Any, spec: dict[str, Any], *, what: str) -> list[str]:
    """The student's messages, one per fact that differs; [] when the model is as stated."""
    if not isinstance(got, dict) or "not_a_model" in got:
        kind = got.get("not_a_model") if isinstance(got, dict) else type(got).__name__
        return [f"{what}: expected a Keras model, got {kind}"]
    problems = []
    if got.get("input_shape") != spec["input_shape"]:
        problems.append(f"{what}: input shape {_tuple(got.get('input_shape'))}, expected "
                        f"{_tuple(spec['input_shape'])} (keras.Input(shape=...) first)")
    mine, want = got.get("layers") or [], spec["layers"]
    if [l_["class"] for l_ in mine] != [l_["class"] for l_ in want]:
        problems.append(f"{what}: layers {' → '.join(l_['class'] for l_ in mine) or 'none'}, "
                        f"expected {' → '.join(l_['class'] for l_ in want)}")
    else:
        for i, (g, w) in enumerate(zip(mine, want)):
            if g != w:
                problems.append(f"{what}: layer {i + 1} is {_show(g)}, expected {_show(w)}")
    if got.get("params") != spec["params"] and not problems:
        problems.append(f"{what}: {got.get('params'):,} parameters, expected {spec['params']:,}")
    return problems + compare_compile(got, spec.get("compile"), what=what)


def compare_compile(got: dict[str, Any], expected: dict[str, Any] | None, *, what: str
                    ) -> list[str]:
    """The compile settings an exercise states against the model's ([] when they agree)."""
    compiled, problems = got.get("compile"), []
    if expected is not None:
        if not compiled:
            problems.append(f"{what}: the model is not compiled; compile it with "
                            f"optimizer={expected['optimizer']!r}, loss={expected['loss']!r}, "
                            f"metrics={expected['metrics']!r}")
        else:
            for key in ("optimizer", "loss"):
                if compiled.get(key) != expected[key]:
                    problems.append(f"{what}: compiled with {key}={compiled.get(key)!r}, "
                                    f"expected {expected[key]!r}")
            if not set(expected["metrics"]) <= set(compiled.get("metrics") or []):
                problems.append(f"{what}: compiled with metrics={compiled.get('metrics')!r}, "
                                f"expected {expected['metrics']!r}")
    return problems


def _tuple(shape: Any) -> Any:
    return tuple(shape) if isinstance(shape, list) else shape


def driver_source(builder: str) -> str:
    """A grader driver (`cnn-grader check --course`) that describes `builder()`'s model in the
    kernel with this very file's code."""
    from pathlib import Path

    own = Path(__file__).read_text(encoding="utf-8")
    return own + f'''

def drive_model_facts(need):
    return {{"own": describe(need({builder!r})())}}
'''
