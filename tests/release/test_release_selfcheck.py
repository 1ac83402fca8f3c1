"""`check(conv2d)` in a student's Python: the release alone, NumPy, no grader, no TensorFlow.

The solution passes every public example; a mutant fails with the very message the grader's
report gives on the same inputs; a stub is "not attempted yet"."""

from __future__ import annotations

from pathlib import Path

import helpers
import nbformat
import pytest
import release_helpers

from grader.checks.reference import definitions_source
from grader.course import exercises_dir
from grader.exercises import get
from grader.options import Options
from grader.pipeline import grade_exercise
from grader.release_check import public_exercise
from grader.selfcheck.public import public_functions
from grader.selfcheck.runtime import HIDDEN_NOTE, check

PUBLIC = (
    "ex01_convolution",
    "ex02_pooling",
    "ex03_parameters",
    "ex08_metrics",
    "ex10_conv_backward",
)
MUTANTS = Path(__file__).parents[1] / "mutants"
# one per exercise, each caught by a public example; only_2d_inputs raises instead of returning
CAUGHT = (
    "ex01_convolution/flipped_kernel",
    "ex01_convolution/only_2d_inputs",
    "ex02_pooling/avg_same_divides_by_area",
    "ex03_parameters/valid_size_ceil",
    "ex10_conv_backward/maxpool_first_cell",
)


@pytest.mark.parametrize("eid", PUBLIC)
def test_the_solution_passes_every_public_example(
    release_dir: Path, tmp_path: Path, eid: str
) -> None:
    functions = public_functions(get(eid))
    out = release_helpers.run_isolated(
        release_dir, helpers.solution_definitions(eid), functions, tmp_path
    )
    n = len(release_helpers.cases(release_dir, eid))
    assert out.count("✔") == n > 0, out
    assert "✘" not in out and "not attempted" not in out
    assert f"({HIDDEN_NOTE})" in out.splitlines()[-2]


@pytest.mark.parametrize("name", CAUGHT)
def test_a_mutant_fails_with_the_graders_own_message(
    release_dir: Path, tmp_path: Path, name: str
) -> None:
    eid = name.split("/")[0]
    mutant = (MUTANTS / f"{name}.py").read_text(encoding="utf-8")
    source = helpers.solution_definitions(eid) + "\n\n" + mutant
    out = release_helpers.run_isolated(release_dir, source, public_functions(get(eid)), tmp_path)
    seen = release_helpers.failures(out)
    assert seen, out

    # The grader on the same notebook and the same public inputs, through its pipeline.
    notebook = helpers.write_notebook(tmp_path, f"{eid}.ipynb", [source], exercise=eid)
    result = grade_exercise(notebook, public_exercise(release_dir, eid), Options(seed=0))
    reported = [c.message.splitlines()[0] for c in result.checks if c.status.value == "failed"]
    assert seen == reported, out


@pytest.mark.parametrize("eid", PUBLIC)
def test_a_stub_is_not_attempted_yet(release_dir: Path, tmp_path: Path, eid: str) -> None:
    source = definitions_source(nbformat.read(exercises_dir() / f"{eid}.ipynb", as_version=4))
    functions = public_functions(get(eid))
    out = release_helpers.run_isolated(release_dir, source, functions, tmp_path)
    assert out.count("not attempted yet") == len(functions), out
    assert "✔" not in out and "✘" not in out


def test_what_a_student_sees_for_odd_uses(release_dir: Path) -> None:
    import io

    import numpy as np

    def conv2d(x, kernel, bias=None, stride=1, padding="valid"):  # type: ignore[no-untyped-def]
        if padding == "same":
            raise NotImplementedError  # one case still to write
        return (np.zeros(1) for _ in range(2))  # a generator, read as the probe reads it

    def unknown_name() -> None:
        pass

    out = io.StringIO()
    check(
        conv2d, unknown_name, "conv2d", cases_dir=release_dir / "cnn_selfcheck" / "cases", out=out
    )
    text = out.getvalue()
    assert (
        "· conv2d(x (7, 7, 3), kernel (3, 3, 3, 4), bias=bias (4,), padding='same'): "
        "not attempted yet" in text
    )
    # a generator is read as the list of its items, as the grader's probe reads it
    assert "✘ conv2d(image (7, 7), kernel (3, 3)): expected shape (5, 5), got (2, 1)" in text
    conv = [
        c
        for c in release_helpers.cases(release_dir, "ex01_convolution")
        if c["function"] == "conv2d"
    ]
    same = sum("padding='same'" in c["call"] for c in conv)
    assert text.count("✘ ") == len(conv) - same and f"0 of {len(conv)} passed" in text
    assert "unknown_name: this release has no public examples" in text
    assert "check() takes your functions themselves" in text
    assert text.rstrip().endswith(f"({HIDDEN_NOTE})")


def test_one_lookup_one_time_limit_as_the_grader(release_dir: Path) -> None:
    """An alias is found under the name the grader calls; `check()` alone checks every
    function the notebook defines; a call past the grader's limit is stopped and says it."""
    import io
    import time

    from grader.selfcheck.runtime import load_cases, run_case

    cases_dir = release_dir / "cnn_selfcheck" / "cases"
    ns: dict[str, object] = {}
    exec(helpers.solution_definitions("ex02_pooling"), ns)  # noqa: S102 - the course's own
    ns["max_pool2d_fast"] = ns["max_pool2d"]
    ns["max_pool2d"] = ns["max_pool2d_fast"]
    out = io.StringIO()
    check(ns["max_pool2d_fast"], cases_dir=cases_dir, out=out, namespace=ns)
    assert "max_pool2d: " in out.getvalue() and "✘" not in out.getvalue(), out.getvalue()

    out = io.StringIO()
    check(cases_dir=cases_dir, out=out, namespace=ns)
    text = out.getvalue()
    for name in ("max_pool2d", "avg_pool2d", "global_avg_pool"):
        assert f"{name}: " in text and "public example" in text
    assert "✘" not in text and "not attempted" not in text

    case = dict(
        next(c for c in load_cases(cases_dir) if c["function"] == "global_avg_pool"), time_limit=0.3
    )

    def slow(x: object) -> None:
        time.sleep(5)

    t0 = time.monotonic()
    status, message, _ = run_case(slow, case)
    assert time.monotonic() - t0 < 3
    assert status == "failed" and message == (
        f"{case['call']} did not finish within 0.3 s (is there an endless loop?)"
    )
