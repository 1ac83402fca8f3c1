"""A notebook checked with nothing but a student release (`cnn-grader check NOTEBOOK --course
RELEASE`): the exercise as the release holds it, its public examples with their stored answers
(no reference solution, as on a student's machine), judged by the self-check cells' own
functions, so that `check` and a self-check cell say the same. The release itself is written by
grader.release.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.checks.calls import Call, Driver
from grader.checks.core import Context, Exercise, Fail, copy_value
from grader.errors import ConfigurationError, InvalidNotebook
from grader.models import GradeResult
from grader.release import PACKAGE

if TYPE_CHECKING:
    from grader.execution.executor import NotebookExecutor
from grader.selfcheck.codec import decode
from grader.selfcheck.runtime import judge


def public_exercise(release_root: Path, exercise_id: str) -> Exercise:
    """The exercise as a release can check it: its public examples, with the answers stored
    in the release, so grading loads no reference (there is none on a student's machine)."""
    from grader.exercises import get

    base = get(exercise_id)
    path = Path(release_root) / PACKAGE / "cases" / f"{exercise_id}.json"
    if not path.is_file():
        raise ConfigurationError(f"the release {release_root} does not hold {exercise_id}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    answers: dict[str, Any] = {}
    # The registered exercise's limits and hooks (a Keras notebook still gets its budget and
    # datasets); its checks replaced by the public examples, answered and their mistakes named
    # from the release by the self-check cells' own `judge`, so both say the same.
    ex = dataclasses.replace(
        base,
        checks=[],
        answers=answers,
        wrong=[],
        examples=[],
        unchecked=dict(doc.get("unchecked", {})),
        _inputs=0,
    )

    def as_input(name: str, value: Any) -> Any:
        """A stored input shown by its name, as its hidden counterpart is in a report."""

        def make(rng: Any, v: Any = value) -> Any:
            return copy_value(v)

        return ex.input(name, make)

    for case in doc["cases"]:
        if case.get("kind") in ("model", "properties", "defined"):
            _kernel_fact(ex, case)
            continue
        args = decode(case["args"], on_input=as_input)
        kwargs = {k: decode(v, on_input=as_input) for k, v in case["kwargs"].items()}
        driver = case.get("driver")
        if driver is not None:
            call = Call.driver(
                Driver(driver["name"], driver["source"]), case["function"], *args, **kwargs
            )
        else:
            call = Call(case["function"], *args, **kwargs)
        call.labelled(case["call"])
        ex.check(
            points=1,
            call=call,
            hint=case["hint"],
            title=case["title"],
            group=case["function"],
            id=case["check"],
        )(_public_check(case))
        if case.get("kind") == "judged":  # judged as data: no answer to compare with
            continue
        expected = decode(case["expected"])
        answers[call.key()] = {"own": expected} if driver is not None else expected
    return ex


DEFINED_DRIVER = Driver(
    "drive_defined",
    """
def drive_defined(need, name):
    value = need(name)
    return {"own": {"class": type(value).__name__,
                    "model": hasattr(value, "layers") and hasattr(value, "count_params")}}
""",
)


def _kernel_fact(ex: Exercise, case: dict[str, Any]) -> None:
    """A model builder's stated facts, or a name the grader needs after the run, judged as the
    self-check cell judges them (a driver describes the model in the kernel)."""
    from grader.selfcheck.models import driver_source
    from grader.selfcheck.runtime import fact_problems

    name = case["function"]
    if case["kind"] in ("model", "properties"):
        call = Call.driver(Driver("drive_model_facts", driver_source(name)), name)
    else:
        call = Call.driver(DEFINED_DRIVER, name, name)
    call.labelled(case["call"])

    def fn(got: Any, ctx: Context) -> None:
        value = got.get("own") if isinstance(got, dict) else None
        if case["kind"] in ("model", "properties"):
            problems = fact_problems(value, case)
            if problems:
                raise Fail("\n".join(problems), hint=case["hint"])
        elif not (isinstance(value, dict) and value.get("model")):
            kind = value.get("class") if isinstance(value, dict) else "nothing readable"
            raise Fail(f"`{name}` is a {kind}, not a Keras model", hint=case["hint"])

    ex.check(
        points=1, call=call, hint=case["hint"], title=case["title"], group=name, id=case["check"]
    )(fn)


def _public_check(case: dict[str, Any]) -> Any:
    """The check of one public example: the self-check cell's own judgement of it."""

    def fn(got: Any, ctx: Context) -> None:
        if case.get("driver") is not None and case.get("kind") != "judged":
            if not isinstance(got, dict) or "own" not in got:
                raise Fail(
                    f"{ctx.text}: the grader could not read the result (got {type(got).__name__})"
                )
            got = got["own"]
        if case.get("kind") == "judged":
            from grader.selfcheck.runtime import fact_problems

            problems = fact_problems(got, case) or []
            if problems:
                raise Fail("\n".join(problems), hint=case["hint"])
            return
        verdict = judge(got, case)
        if verdict is not None:
            raise Fail(verdict[0], hint=verdict[1])

    return fn


def check_public(
    notebook: Path,
    release_root: Path,
    *,
    exercise: str | None = None,
    profile: str | None = None,
    cell_timeout: float | None = None,
    notebook_timeout: float | None = None,
    executor: NotebookExecutor | None = None,
) -> tuple[Exercise, GradeResult | None]:
    """Run a notebook in a fresh kernel, through the grading pipeline, against the release's
    public examples; no result when the exercise has none (nothing worth running it for)."""
    from grader.api import resolve_exercise
    from grader.execution import notebook as nbio
    from grader.options import Options
    from grader.pipeline import grade_exercise

    try:
        nb: Any = nbio.read(Path(notebook))[0]
    except InvalidNotebook:
        nb = None  # grade() says why, in the result
    ex = public_exercise(release_root, resolve_exercise(Path(notebook), nb, exercise))
    if not ex.checks:
        return ex, None
    return ex, grade_exercise(
        Path(notebook),
        ex,
        Options(
            profile=profile,
            seed=0,
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            scan=False,  # a student's own check shows no integrity findings
            executor=executor,
        ),
    )
