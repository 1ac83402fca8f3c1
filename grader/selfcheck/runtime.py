"""`check(conv2d)`: run the release's public examples of a function, as it is defined now.

A student calls this from the self-check cell under each function of a starter notebook. It
calls the function on the public inputs and compares with the reference's answers stored in
`cases/*.json`, using the grader's own comparisons (`expect_match`), so a wrong answer reads
exactly as it will in the grader's report. It decides no grade: the hidden inputs of the real
checks are not here, and a function that passes these examples can still fail them.

Shipped in the student release as `cnn_selfcheck/selfcheck/runtime.py`: NumPy, the standard
library and relative imports only.
"""

from __future__ import annotations

import itertools
import json
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..checks.expect import expect_match
from ..checks.outcomes import Fail
from .codec import decode

HIDDEN_NOTE = "public self-checks only: your final grade also uses hidden inputs"
CASES_FORMAT = "cnn-selfcheck-cases"
# In the release: cnn_selfcheck/selfcheck/runtime.py → cnn_selfcheck/cases/
CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
_MAX_ITEMS = 10_000  # as the grader's probe: a generator is read as its first items


def load_cases(cases_dir: Path = CASES_DIR) -> list[dict[str, Any]]:
    """Every public example of the release, in exercise order."""
    cases: list[dict[str, Any]] = []
    for path in sorted(Path(cases_dir).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") == CASES_FORMAT:
            cases.extend(doc["cases"])
    return cases


def run_case(fn: Callable[..., Any], case: dict[str, Any]) -> tuple[str, str]:
    """(status, message) of one example: passed, failed or not_attempted."""
    args = decode(case["args"])  # decoded afresh for each call: fn may change them
    kwargs = {name: decode(v) for name, v in case["kwargs"].items()}
    try:
        got = _as_data(fn(*args, **kwargs))
    except NotImplementedError:
        return "not_attempted", f"`{case['function']}` still raises NotImplementedError"
    except Exception as exc:  # noqa: BLE001 - the student's code: say what it raised
        return "failed", f"{case['call']} raised {type(exc).__name__}: {exc}"
    try:
        expect_match(got, decode(case["expected"]), what=case["call"], atol=case["atol"])
    except Fail as exc:
        return "failed", str(exc)
    return "passed", ""


def check(*functions: Callable[..., Any], cases_dir: Path | None = None,
          out: TextIO | None = None) -> None:
    """Print ✔ / ✘ for each public example of each function, with the hint of a failure."""
    stream = out if out is not None else sys.stdout
    cases = load_cases(cases_dir if cases_dir is not None else CASES_DIR)
    for fn in functions:
        for line in _report(fn, cases):
            _write(stream, line)
    _write(stream, f"({HIDDEN_NOTE})")


def _report(fn: Any, cases: list[dict[str, Any]]) -> Iterable[str]:
    name = getattr(fn, "__name__", None)
    if not callable(fn) or not isinstance(name, str):
        yield f"check() takes your functions themselves, e.g. check(conv2d); got {fn!r:.60}"
        return
    mine = [c for c in cases if c["function"] == name]
    if not mine:
        yield f"{name}: this release has no public examples of a function of that name"
        return
    results = [(case, *run_case(fn, case)) for case in mine]
    yield f"{name}: {len(mine)} public example{'s' if len(mine) > 1 else ''}"
    if all(status == "not_attempted" for _, status, _ in results):
        yield f"  · {name}: not attempted yet (it still raises NotImplementedError)"
        return
    for case, status, message in results:
        if status == "passed":
            yield f"  ✔ {case['call']}"
        elif status == "not_attempted":
            yield f"  · {case['call']}: not attempted yet (it raises NotImplementedError)"
        else:
            yield f"  ✘ {message}"
            if case.get("hint"):
                yield f"      hint: {case['hint']}"
    passed = sum(status == "passed" for _, status, _ in results)
    yield f"  {passed} of {len(mine)} passed"


def _as_data(value: Any, depth: int = 0) -> Any:
    """The value as the grader's probe reads it back: generators as lists, tensors as arrays."""
    if depth > 20:
        return value
    if isinstance(value, (types.GeneratorType, map, zip, filter)):
        value = list(itertools.islice(value, _MAX_ITEMS + 1))
    if isinstance(value, list):
        return [_as_data(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_data(v, depth + 1) for v in value)
    if (not isinstance(value, (np.ndarray, np.generic)) and hasattr(value, "__array__")
            and hasattr(value, "shape")):
        return np.asarray(value)
    return value


def _write(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
    except UnicodeEncodeError:  # a console that cannot show ✔ / ✘
        ascii_line = line.replace("✔", "ok").replace("✘", "X").replace("·", "-")
        stream.write(ascii_line.encode("ascii", "replace").decode("ascii") + "\n")
