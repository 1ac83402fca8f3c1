"""Hand-built result trees for the renderers: no notebook, no kernel, just the data a grading
produces, including the awkward cases (every status, a crashed cell, hostile text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grader.models import (
    CellProblem,
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
    points_for,
)


def check(
    id: str,
    status: CheckStatus,
    max_score: float = 1.0,
    **fields: Any,
) -> CheckResult:
    """A check whose score follows from its status, as `points_for` decides in the grader."""
    return CheckResult(
        id=id, status=status, score=points_for(status, max_score), max_score=max_score, **fields
    )


ARCHITECTURE_TABLE = [
    ["#", "Expected layer", "Expected output", "Your layer", "Your output"],
    ["1", "Conv2D(64, 3, relu)", "(26, 26, 64)", "Conv2D(64, 3, relu)", "(26, 26, 64)"],
    ["2", "MaxPooling2D(2)", "(13, 13, 64)", "MaxPooling2D(2)", "(13, 13, 64)"],
    [
        "3",
        "Conv2D(64, 3, relu)",
        "(11, 11, 64)",
        {"text": "Conv2D(32, 3, relu)", "status": "bad"},
        {"text": "(11, 11, 32)", "status": "bad"},
    ],
    [
        "4",
        "MaxPooling2D(2)",
        "(5, 5, 64)",
        "MaxPooling2D(2)",
        {"text": "(5, 5, 32)", "status": "bad"},
    ],
    ["5", "Flatten", "(1600,)", "Flatten", {"text": "(800,)", "status": "bad"}],
    ["6", "Dense(128, relu)", "(128,)", "Dense(128, relu)", {"text": "(128,)", "status": "ok"}],
    ["7", "Dense(10, softmax)", "(10,)", "Dense(10, softmax)", {"text": "(10,)", "status": "ok"}],
]


def sample_result(**overrides: Any) -> GradeResult:
    """A realistic grading: two functions, every check status, one crashed cell, a diff table."""
    checks = [
        check(
            "conv2d_valid_2d",
            CheckStatus.PASSED,
            2.0,
            title="2-D input, valid padding",
            call="conv2d(x, k)",
            group="conv2d",
        ),
        check(
            "conv2d_same_stride2",
            CheckStatus.FAILED,
            2.0,
            title="Same padding with stride 2",
            call="conv2d(x, k, stride=2, padding='same')",
            group="conv2d",
            message="conv2d(x, k, stride=2, padding='same'): "
            "expected shape (4, 4, 3), got (3, 3, 3)",
            hint="With padding='same' the output size is ceil(n / stride).",
        ),
        check(
            "conv2d_bias",
            CheckStatus.TIMEOUT,
            1.0,
            title="Bias is added per output channel",
            call="conv2d(x, k, bias=b)",
            group="conv2d",
            message="conv2d(x, k, bias=b) did not return within 20 s.",
            hint="Loop over output positions, not over every pixel of every channel twice.",
        ),
        check(
            "conv2d_multichannel",
            CheckStatus.ERROR,
            1.0,
            title="Multi-channel input",
            call="conv2d(x, k)",
            group="conv2d",
            message="internal error: KeyError: 'expected'",
        ),
        check(
            "cnn_architecture",
            CheckStatus.FAILED,
            3.0,
            title="Architecture matches the specification",
            call="build_cnn()",
            group="build_cnn",
            message="Layer 3: expected Conv2D with 64 filters, got 32.",
            hint="Both Conv2D layers have 64 filters.",
            details={"table": ARCHITECTURE_TABLE},
        ),
        check(
            "cnn_accuracy",
            CheckStatus.NOT_ATTEMPTED,
            1.0,
            title="Trained model reaches the target accuracy",
            call="cnn_model.evaluate(x_test, y_test)",
            group="build_cnn",
            message="build_cnn raised NotImplementedError.",
            details={"threshold_text": "needs test accuracy ≥ 0.88"},
        ),
        check(
            "cnn_params",
            CheckStatus.PASSED,
            0.5,
            title="Parameter count",
            call="build_cnn().count_params()",
            group="build_cnn",
        ),
    ]
    execution = ExecutionSummary(
        status=ExecutionStatus.OK,
        duration_s=42.7,
        cells_total=24,
        cells_executed=24,
        problems=[
            CellProblem(
                cell_index=5,
                cell=4,  # the 4th code cell; 2 markdown cells before it
                kind="error",
                ename="ValueError",
                evalue="operands could not be broadcast together with shapes (5,5) (3,3)",
                traceback=(
                    "Traceback (most recent call last):\n"
                    "  Cell In[4], line 3\n    out = x * kernel\n"
                    "ValueError: operands could not be broadcast together with shapes (5,5) (3,3)"
                ),
                source_head="x = np.arange(25).reshape(5, 5)\n"
                "kernel = np.ones((3, 3))\nout = x * kernel",
            )
        ],
        kernel_restarts=0,
        output_truncated=True,
    )
    fields: dict[str, Any] = dict(
        exercise="ex01_convolution",
        title="Convolution from scratch",
        notebook="ex01_convolution.ipynb",
        seed=12345,
        profile="default",
        execution=execution,
        checks=checks,
        grader_version="0.1.0",
        graded_at="2025-03-14T09:26:53+00:00",
        duration_s=51.3,
        notes=["Graded with the default profile: training checks use a reduced budget."],
    )
    fields.update(overrides)
    return GradeResult(**fields)


@pytest.fixture
def make_result() -> Callable[..., GradeResult]:
    """Factory: `make_result(checks=[...])` builds the sample with some fields replaced."""
    return sample_result


@pytest.fixture
def make_check() -> Callable[..., CheckResult]:
    return check
