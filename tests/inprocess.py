"""Grade trusted code (a mutant, the reference) in this process, without a kernel.

What the kernel path does, minus the kernel: the namespace is the solution's definitions with
the mutant's exec'd over them (so the solution's other functions call the mutant, as a
student's own helpers would be called); every call the exercise needs is bound from the seed,
made on copies of the inputs, and its value is turned into what the probe's record would read
back as (a generator becomes its items); then `grader.checks.runner.evaluate` judges it with the
reference, exactly as after a kernel run. Drivers run here as in the kernel, against the same
namespace. tests/test_mutants.py keeps the kernel path honest about this one at a few seeds.

Only for code the course owns (mutants, solutions): never for a submission.
"""

from __future__ import annotations

import functools
import itertools
import traceback
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from helpers import NUMPY_EXERCISES
from mutant_catalogue import MUTANTS_DIR

from grader.checks.calls import Call
from grader.checks.core import Exercise, copy_value
from grader.checks.reference import definitions_source, load_reference
from grader.checks.runner import evaluate
from grader.course import solutions_dir
from grader.exercises import get
from grader.models import CheckResult
from grader.probe.evidence import Evidence, ObjectInfo

MAX_ITEMS = 10_000  # as grader/probe/kernel_side.py
# The exercises graded here: every NumPy exercise, and every other exercise with a mutant
# catalogue (ex08's metrics are NumPy functions in a notebook that trains); both discovered.
# And the seeds every catalogued mutant is held to: the suite's two fixed seeds and 28 more.
EXERCISES = tuple(
    sorted(
        set(NUMPY_EXERCISES)
        | {d.name for d in MUTANTS_DIR.iterdir() if d.is_dir() and any(d.glob("*.py"))}
    )
)
SEEDS = (1234, 20240917, *range(28))


def solution_path(exercise_id: str) -> Path:
    return solutions_dir() / f"{exercise_id}.ipynb"


@functools.cache
def _definitions(exercise_id: str) -> types.CodeType:
    import nbformat

    nb = nbformat.read(solution_path(exercise_id), as_version=4)
    return compile(definitions_source(nb), f"<solution {exercise_id}>", "exec")


def namespace(exercise_id: str, *sources: str) -> dict[str, Any]:
    """A fresh `__main__`-like namespace: the solution's definitions, then each source."""
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(_definitions(exercise_id), ns)  # noqa: S102 - the course's own solution
    for i, source in enumerate(sources):
        exec(compile(source, f"<cell {i}>", "exec"), ns)  # noqa: S102 - the course's mutants
    return ns


def _as_read_back(value: Any, depth: int = 0) -> Any:
    """The value as `grader.probe.evidence` returns it after the probe wrote it."""
    if depth > 20:
        raise ValueError("the value is nested too deeply")
    if isinstance(value, (types.GeneratorType, map, zip, filter)):
        items = list(itertools.islice(value, MAX_ITEMS + 1))
        if len(items) > MAX_ITEMS:
            raise ValueError(
                f"a generator of more than {MAX_ITEMS} items is longer than the grader reads"
            )
        return _as_read_back(items, depth)
    if isinstance(value, tuple):
        return tuple(_as_read_back(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [_as_read_back(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _as_read_back(v, depth + 1) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise ValueError(f"an array of dtype {value.dtype} (expected numbers)")
        return value.copy()
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if hasattr(value, "__array__") and hasattr(value, "shape"):  # tensors and friends
        return _as_read_back(np.asarray(value), depth)
    return ObjectInfo(type(value).__name__, type(value).__module__)


def probe(
    ns: Mapping[str, Any], call: Call, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Evidence:
    """One call, as the kernel-side probe makes it, read back as evidence."""
    if call.func not in ns:
        return Evidence(status="missing")
    target = ns[call.func]
    if call.kind == "get":
        return Evidence(status="returned", value=target)
    if not callable(target):
        return Evidence(status="not_callable", extra={"type": type(target).__name__})
    args, kwargs = copy_value(args), copy_value(kwargs)
    try:
        if call.driver_code is not None:
            value = call.driver_code.run(types.SimpleNamespace(**ns), *args, **kwargs)
        else:
            value = target(*args, **kwargs)
    except NotImplementedError as exc:
        return Evidence(status="stub", error_type="NotImplementedError", error_message=str(exc))
    except Exception as exc:  # noqa: BLE001 - what the probe records as "raised"
        return Evidence(
            status="raised",
            error_type=type(exc).__name__,
            error_message=str(exc)[:1000],
            traceback="".join(traceback.format_exception(exc)[-3:])[-2000:],
        )
    try:
        return Evidence(status="returned", value=_as_read_back(value))
    except Exception as exc:  # noqa: BLE001 - the probe's "unreadable"
        return Evidence(
            status="unreadable", error_type=type(exc).__name__, error_message=str(exc)[:500]
        )


def grade(
    exercise: Exercise | str, seed: int, *sources: str, ns: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    """Every check of the exercise on the namespace of `sources` (or `ns`), at `seed`."""
    ex = get(exercise) if isinstance(exercise, str) else exercise
    ns = ns if ns is not None else namespace(ex.id, *sources)
    cache: dict[int, Any] = {}
    calls = ex.calls()
    bound = {c.key(): c.bind(seed, cache) for c in calls}
    evidence = {c.key(): probe(ns, c, *bound[c.key()]) for c in calls}
    return evaluate(ex, evidence, bound, load_reference(solution_path(ex.id)))


def not_passed(results: Iterable[CheckResult]) -> set[str]:
    return {r.id for r in results if r.status.value != "passed"}


def score(results: Iterable[CheckResult]) -> float:
    return round(sum(r.score for r in results), 6)
