"""Public self-checks of a model builder: what the notebook's text states, on the student's model.

`check(build_cnn)` builds the student's model, describes it (grader.selfcheck.description, the
description the grade uses) and judges it as the graded checks do: against the reference's
description written into the release (its layers, compile settings and parameter count, in the
graded checks' words), or against the properties an exercise asks for (grader.selfcheck.judges,
on `plain(...)`). Accuracy is not here: it needs training and the held-out test images, and
stays a graded check.

The description runs where the model is (the student's kernel: the notebook cell, or a grader
driver in `cnn-grader check --course`, `driver_source`). Shipped in the student release as
`cnn_selfcheck/selfcheck/models.py`: the standard library only.
"""

from __future__ import annotations

from typing import Any

from .description import ModelInfo, describe, to_data


def is_model(value: Any) -> bool:
    """A Keras model, told without importing Keras (the self-checks need only NumPy)."""
    return hasattr(value, "layers") and hasattr(value, "count_params")


def facts(model: Any) -> dict[str, Any]:
    """The model's description as data (`description.to_data`), or what it is instead."""
    if not is_model(model):
        return {"not_a_model": type(model).__name__}
    return to_data(describe(model))


def _list(value: Any) -> Any:
    return [_list(v) for v in value] if isinstance(value, (tuple, list)) else value


def plain(info: ModelInfo) -> dict[str, Any]:
    """The description as the property rules read it: input shape, and per layer a dict of
    its class, its label (as the graded comparison writes it) and its settings
    (grader.selfcheck.judges)."""
    return {
        "input_shape": _list(info.input_shape) if info.input_shape is not None else None,
        "layers": [
            {"class": x.kind, "label": x.label(), **{k: _list(v) for k, v in x.settings.items()}}
            for x in info.layers
        ],
        "params": info.params,
    }


def driver_source(builder: str) -> str:
    """A grader driver (`cnn-grader check --course`) that describes `builder()`'s model in the
    kernel with the shipped description's own code (run as a module of its own: its
    dataclasses need one while they are made)."""
    from pathlib import Path

    own = (Path(__file__).with_name("description.py")).read_text(encoding="utf-8")
    return f"""
DESCRIPTION = {own!r}


def drive_model_facts(need):
    import sys
    import types

    name = "_cnn_grader_description"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(DESCRIPTION, "<cnn-grader description>", "exec"), module.__dict__)
    finally:
        sys.modules.pop(name, None)
    model = need({builder!r})()
    if not (hasattr(model, "layers") and hasattr(model, "count_params")):
        return {{"own": {{"not_a_model": type(model).__name__}}}}
    return {{"own": module.to_data(module.describe(model))}}
"""
