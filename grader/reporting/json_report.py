"""The results file of CONTRACT.md §3: `GradeResult.to_dict()`, serialised and nothing more.

The document's shape is owned by the model; this module only turns it into text, so that the
contract has exactly one definition.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from grader.models import GradeResult


def to_json(result: GradeResult) -> str:
    """Serialise the result for tools (CI, LMS exports), indented so a human can read it too."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=_plain) + "\n"


def _plain(value: Any) -> Any:
    """Turn the few non-JSON values a check may leave in `details` into plain JSON.

    NumPy scalars and arrays (a shape, an observed maximum) and paths are common in evidence;
    anything else is a bug in the check that produced it, so it is not silently stringified.
    """
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to the results file: {value!r}")
