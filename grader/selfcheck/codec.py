"""Values as JSON data, exactly: the public examples' inputs and expected answers.

An array is `{"__ndarray__": {"dtype", "shape", "data"}}` with its values as JSON numbers
(Python writes a float as its shortest repr, which reads back to the same bits); a tuple is
`{"__tuple__": [...]}`, so that the student's function gets a tuple where the grader passed
one; a dict with string keys is `{"__dict__": {...}}`. A NumPy scalar is written as the Python
number: the comparisons treat both alike.
`{"__input__": name, "value": v}` marks an argument made from a grader input, so the grader can
show it by name as its hidden counterpart is shown.

Shipped in the student release: NumPy and the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

_KINDS = "biuf"  # booleans, integers, floats: what the comparisons accept


class NotData(TypeError):
    """A value with no plain-data form (a model, a callable, an object array)."""


def encode(value: Any) -> Any:
    """A JSON-ready form of `value`, or NotData."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS:
            raise NotData(f"an array of dtype {value.dtype}")
        return {
            "__ndarray__": {
                "dtype": value.dtype.name,
                "shape": list(value.shape),
                "data": [encode(x) for x in value.ravel().tolist()],
            }
        }
    if isinstance(value, tuple):
        return {"__tuple__": [encode(x) for x in value]}
    if isinstance(value, list):
        return [encode(x) for x in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v) for k, v in value.items()}}
    raise NotData(f"a value of type {type(value).__name__}")


def decode(data: Any, *, on_input: Callable[[str, Any], Any] | None = None) -> Any:
    """The value `encode` wrote; `on_input(name, value)` replaces each marked input."""
    if isinstance(data, list):
        return [decode(x, on_input=on_input) for x in data]
    if not isinstance(data, dict):
        return data
    if "__ndarray__" in data:
        spec = data["__ndarray__"]
        dtype = np.dtype(spec["dtype"])
        if dtype.kind not in _KINDS:
            raise ValueError(f"unexpected array dtype {dtype}")
        flat = [decode(x) for x in spec["data"]]
        return np.array(flat, dtype=dtype).reshape(tuple(int(n) for n in spec["shape"]))
    if "__tuple__" in data:
        return tuple(decode(x, on_input=on_input) for x in data["__tuple__"])
    if "__dict__" in data:
        return {str(k): decode(v, on_input=on_input) for k, v in data["__dict__"].items()}
    if "__float__" in data:
        return float(data["__float__"])
    if "__input__" in data:
        value = decode(data["value"])
        return on_input(str(data["__input__"]), value) if on_input is not None else value
    raise ValueError(f"unexpected JSON object with keys {sorted(data)}")
