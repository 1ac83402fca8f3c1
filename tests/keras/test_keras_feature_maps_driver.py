"""ex07: a wrong activation_model costs the activation_model checks only.

feature_maps is driven twice (grader/exercises/helper_drivers.py): as written and with the
grader's activation model; the feature-map checks pass when either answer is right. The driver
runs here in-process against small namespaces, exactly as it runs in a kernel.
"""

from __future__ import annotations

from dataclasses import replace

import helpers
import inprocess
import pytest

from grader.exercises import get

pytest.importorskip("keras")

FIRST_FOUR_LAYERS = """
def activation_model(model):
    # every layer up to the second Conv2D: BatchNormalization in, the last pooling out
    return keras.Model(inputs=model.inputs, outputs=[l.output for l in model.layers[:4]])
"""
OWN_LOOP = (
    FIRST_FOUR_LAYERS
    + """
def feature_maps(model, image):
    outputs = activation_model(model)(image[None])
    return [o[0] for o in outputs]
"""
)
NO_BATCH_AXIS_DROPPED = """
def feature_maps(model, image):
    return activation_model(model).predict(image[None], verbose=0)
"""


def feature_checks(*cells: str) -> dict[str, str]:
    ex = get("ex07_feature_maps")
    sub = replace(ex, checks=[c for c in ex.checks if c.id.startswith("feature_maps")])
    return {r.id: r.status.value for r in inprocess.grade(sub, helpers.SEED, *cells)}


def test_the_solution_passes() -> None:
    assert set(feature_checks().values()) == {"passed"}


@pytest.mark.parametrize(
    "cells", [(FIRST_FOUR_LAYERS,), (OWN_LOOP,)], ids=["solution_feature_maps", "own_feature_maps"]
)
def test_a_wrong_activation_model_leaves_feature_maps_right(cells: tuple[str, ...]) -> None:
    assert set(feature_checks(*cells).values()) == {"passed"}


def test_a_wrong_feature_maps_still_fails() -> None:
    status = feature_checks(NO_BATCH_AXIS_DROPPED)
    assert status == {"feature_maps_shapes": "failed", "feature_maps_values": "passed"}


def test_through_a_kernel_a_wrong_activation_model_costs_its_checks_only(make_notebook) -> None:  # type: ignore[no-untyped-def]
    """End to end (the solution's definitions, no training): 5 of 10, not 0."""
    path = make_notebook(
        [helpers.solution_definitions("ex07_feature_maps"), FIRST_FOUR_LAYERS],
        exercise="ex07_feature_maps",
    )
    result = helpers.grade_nb(path)
    assert helpers.statuses(result) == {
        "activation_model_outputs": "failed",
        "activation_model_values": "failed",
        "feature_maps_shapes": "passed",
        "feature_maps_values": "passed",
    }, helpers.describe(result)
    assert result.score == 5
