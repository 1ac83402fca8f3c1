"""One catalogue of mistakes, two places: every catalogued mistake fails a public example of the
release as well as its graded checks, and both name it in the same words.

The graded side at 30 seeds is tests/test_discriminating_inputs.py; here, the release's own data
(the cases it ships) judged by the self-check's own `judge`, as a student's Python runs it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import helpers
import inprocess
import numpy as np
import pytest
import release_helpers

from grader.catalogue import judge_variant
from grader.checks.expect import PRECISION_HINT
from grader.checks.reference import load_reference
from grader.checks.variants import Wrong
from grader.cli import main
from grader.exercises import get
from grader.selfcheck.codec import decode
from grader.selfcheck.runtime import judge

PUBLIC = (
    "ex01_convolution",
    "ex02_pooling",
    "ex03_parameters",
    "ex08_metrics",
    "ex10_conv_backward",
)
MUTANTS = Path(__file__).parents[1] / "mutants"


def _cases() -> list[Any]:
    return [pytest.param(e, w, id=f"{e}/{w.func}/{w.id}") for e in PUBLIC for w in get(e).wrong]


def _answer(wrong: Wrong, case: dict[str, Any], reference: Any) -> Any:
    """The mistake's answer to a shipped case, computed afresh from its shipped inputs."""
    args = tuple(decode(case["args"]))
    kwargs = {k: decode(v) for k, v in case["kwargs"].items()}
    return wrong.value(reference, args, kwargs)


def _sentence(wrong: Wrong) -> str:
    return f"your answer is what {wrong.func} gives "


@pytest.mark.parametrize(("exercise", "wrong"), _cases())
def test_every_mistake_fails_a_public_example_and_is_named_as_when_graded(
    release_dir: Path, exercise: str, wrong: Wrong
) -> None:
    ex = get(exercise)
    reference = load_reference(ex.solution_path)
    cases = [c for c in release_helpers.cases(release_dir, exercise) if c["function"] == wrong.func]
    verdicts = [judge(_answer(wrong, c, reference), c) for c in cases]
    failed = [v for v in verdicts if v is not None]
    assert failed, f"{wrong.id} passes every public example of {wrong.func}"
    assert any(wrong.says in message for message, _ in failed), failed[0][0]

    # The graded check that exists to catch it says the same sentence.
    check = next(c for c in ex.checks if c.id == wrong.caught_by[0])
    result, _, _ = judge_variant(ex, wrong, check, helpers.SEED, reference)
    assert result.status.value == "failed"
    public_named = next(m for m, _ in failed if wrong.says in m)
    tail = public_named[public_named.index(" — ") :]
    assert _sentence(wrong) in tail and wrong.says in result.message, result.message


def test_a_tuple_answer_is_judged_and_named_part_by_part(release_dir: Path) -> None:
    """A wrong dbias is a dbias problem, named, not a dx problem at a cryptic `[2]`."""
    ex = get("ex10_conv_backward")
    reference = load_reference(ex.solution_path)
    wrong = next(w for w in ex.wrong if w.id == "dbias_channels_first")
    case = next(
        c for c in release_helpers.cases(release_dir, ex.id) if c["function"] == "conv2d_backward"
    )
    verdict = judge(_answer(wrong, case, reference), case)
    assert verdict is not None
    message, hint = verdict
    assert message.startswith(case["call"] + ": dbias: ") and "[2]" not in message
    assert "dx:" not in message and "dkernel:" not in message
    assert wrong.says in message
    assert "dbias[o] sums dout" in hint


def test_a_float16_answer_gets_a_dtype_hint_in_both_places(release_dir: Path) -> None:
    ex = get("ex01_convolution")
    reference = load_reference(ex.solution_path)
    case = next(
        c
        for c in release_helpers.cases(release_dir, ex.id)
        if c["function"] == "conv2d" and "padding='same'" in c["call"]
    )
    args = tuple(decode(case["args"]))
    kwargs = {k: decode(v) for k, v in case["kwargs"].items()}
    got = np.asarray(reference.conv2d(*args, **kwargs)).astype(np.float16)
    verdict = judge(got, case)
    assert verdict is not None
    assert "dtype float16" in verdict[0] and " — your answer is what" not in verdict[0]
    assert verdict[1] == PRECISION_HINT and "padding" not in verdict[1]

    mutant = (MUTANTS / "ex01_convolution" / "float16_output.py").read_text(encoding="utf-8")
    graded = {r.id: r for r in inprocess.grade(ex, helpers.SEED, mutant)}
    same = graded["conv2d_same_even_kernel"]
    assert same.status.value == "failed" and "dtype float16" in same.message
    assert same.hint == PRECISION_HINT


def test_an_int_output_array_gets_a_dtype_hint(release_dir: Path) -> None:
    ex = get("ex02_pooling")
    reference = load_reference(ex.solution_path)
    case = next(
        c for c in release_helpers.cases(release_dir, ex.id) if c["function"] == "avg_pool2d"
    )
    args = tuple(decode(case["args"]))
    kwargs = {k: decode(v) for k, v in case["kwargs"].items()}
    got = np.asarray(reference.avg_pool2d(*args, **kwargs)).astype(np.int64)
    verdict = judge(got, case)
    assert verdict is not None and "dtype int64" in verdict[0] and "whole numbers" in verdict[0]


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_pooling_with_all_same_padding_after_the_image_loses_points(seed: int) -> None:
    """The issue's peer convention (Keras' NumPy test oracles) scored 10/10 at seeds 1, 2, 3."""
    ex = get("ex02_pooling")
    mutant = (MUTANTS / "ex02_pooling" / "keras_oracle_same_padding.py").read_text(encoding="utf-8")
    results = inprocess.grade(ex, seed, mutant)
    score = sum(r.score for r in results)
    assert score < ex.max_score
    lost = [r for r in results if r.status.value == "failed"]
    assert {r.id for r in lost} == {"max_pool_same_wide", "avg_pool_same"}
    assert all("all of the 'same' padding after the image" in r.message for r in lost)


def test_the_self_check_names_functions_it_cannot_check(release_dir: Path) -> None:
    from grader.selfcheck.runtime import check

    def gpu_summary() -> None:
        raise NotImplementedError

    out = io.StringIO()
    check(gpu_summary, cases_dir=release_dir / "cnn_selfcheck" / "cases", out=out)
    assert "gpu_summary: no public examples: its answer depends on the machine" in out.getvalue()


def test_the_catalogue_command_reports_every_mistake_and_a_hole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["catalogue", "--exercise", "ex02_pooling", "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    ex = get("ex02_pooling")
    assert out.count("  ✔ ") == len(ex.wrong) and "✘" not in out
    assert "max_pool2d/same_all_after  [Keras' NumPy test oracles" in out

    # A mistake that equals the reference on the inputs of the check meant to catch it.
    hole = Wrong(
        "max_pool2d",
        "not_a_mistake",
        "as the reference does",
        lambda ref, *a, **k: ref.max_pool2d(*a, **k),
        caught_by=("max_pool_same",),
    )
    monkeypatch.setattr(ex, "wrong", [*ex.wrong, hole])
    assert main(["catalogue", "--exercise", "ex02_pooling", "--seeds", "2"]) == 1
    out = capsys.readouterr().out
    assert "✘ max_pool2d/not_a_mistake" in out
    assert "MISSED by max_pool_same: passed at seed 0" in out
    assert "public: no public example shows it" in out
