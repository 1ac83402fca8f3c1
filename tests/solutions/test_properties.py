"""Laws of the course's arithmetic, as properties over many drawn cases (hypothesis): the
reference's shape and parameter formulas against Keras itself, its padding split against
TensorFlow, and the results document's round trip. A failing draw is shrunk to the smallest
case and printed; the examples are derandomised, so a run is repeatable."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.models import (
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import test_reference_vs_tensorflow as ref  # noqa: E402 - after the importorskip guards

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def ex01() -> dict:
    return ref._definitions(ref._read("ex01_convolution"))


@pytest.fixture(scope="module")
def ex03() -> dict:
    return ref._definitions(ref._read("ex03_parameters"))


@SETTINGS
@given(
    n=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
)
def test_conv_output_size_is_what_keras_computes(
    ex03: dict, n: int, k: int, s: int, padding: str
) -> None:
    if padding == "valid" and k > n:
        return  # no output: Keras refuses the layer, and so does the exercise
    layer = keras.layers.Conv2D(1, (k, 1), strides=(s, 1), padding=padding)
    want = layer.compute_output_shape((None, n, 1, 1))[1]
    assert ex03["conv_output_size"](n, k, s, padding) == want


@SETTINGS
@given(
    kh=st.integers(1, 7),
    kw=st.integers(1, 7),
    cin=st.integers(1, 16),
    filters=st.integers(1, 32),
    bias=st.booleans(),
)
def test_conv2d_params_is_what_keras_counts(
    ex03: dict, kh: int, kw: int, cin: int, filters: int, bias: bool
) -> None:
    layer = keras.layers.Conv2D(filters, (kh, kw), use_bias=bias)
    layer.build((None, 16, 16, cin))
    assert ex03["conv2d_params"]((kh, kw), cin, filters, bias) == layer.count_params()


@SETTINGS
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
)
def test_same_padding_splits_as_tensorflow(
    ex01: dict, h: int, w: int, kh: int, kw: int, sh: int, sw: int
) -> None:
    """The extra row and column of an odd total go after the image, as TensorFlow pads."""
    x = np.random.default_rng(h * 100 + w).normal(size=(h, w, 1))
    kernel = np.random.default_rng(kh * 10 + kw).normal(size=(kh, kw, 1, 1))
    got = ex01["conv2d"](x, kernel, stride=(sh, sw), padding="same")
    want = tf.nn.conv2d(x[None], kernel, strides=(1, sh, sw, 1), padding="SAME").numpy()[0]
    np.testing.assert_allclose(got, want, atol=1e-9)


texts = st.text(max_size=40)
checks = st.builds(
    CheckResult,
    id=st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
    status=st.sampled_from(list(CheckStatus)),
    score=st.floats(0, 5),
    max_score=st.floats(0, 5),
    message=texts,
    title=texts,
    hint=texts,
)


@SETTINGS
@given(
    checks=st.lists(checks, max_size=6),
    status=st.sampled_from(list(ExecutionStatus)),
    duration=st.floats(0, 1e4),
    notes=st.lists(texts, max_size=3),
)
def test_a_results_document_reads_back_as_it_was_written(
    checks: list[CheckResult], status: ExecutionStatus, duration: float, notes: list[str]
) -> None:
    result = GradeResult(
        exercise="ex01_convolution",
        title="t",
        notebook="n.ipynb",
        seed=1,
        profile="smoke",
        execution=ExecutionSummary(status, duration),
        checks=checks,
        grader_version="0",
        graded_at="now",
        notes=notes,
    )
    again = GradeResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
