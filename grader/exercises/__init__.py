"""The registry of exercises: one module of checks per exercise, imported on first use."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from grader.checks.core import Exercise
from grader.errors import UnknownExercise

EXERCISE_IDS = (
    "ex01_convolution",
    "ex02_pooling",
    "ex03_parameters",
    "ex04_dense_baseline",
    "ex05_cnn",
    "ex06_regularization",
    "ex07_feature_maps",
    "ex08_metrics",
    "ex09_mnist",
)


def available() -> list[str]:
    """The exercise ids whose check module exists in this version."""
    here = Path(__file__).parent
    return [i for i in EXERCISE_IDS if (here / f"{i}.py").is_file()]


def get(exercise_id: str) -> Exercise:
    if exercise_id not in available():
        raise UnknownExercise(
            f"unknown exercise {exercise_id!r}; known: {', '.join(available())}")
    module = importlib.import_module(f"grader.exercises.{exercise_id}")
    return module.exercise  # type: ignore[no-any-return]


def infer_from_name(filename: str) -> str | None:
    """`alice_ex01_convolution.ipynb`, `ex01.ipynb`, `Ex01-conv.ipynb` → ex01_convolution."""
    stem = Path(filename).stem.lower()
    for eid in EXERCISE_IDS:
        if eid in stem:
            return eid
    m = re.search(r"(?:^|[^a-z0-9])ex(?:ercise)?[ _-]?0?([1-9])(?![0-9])", stem)
    if m:
        number = int(m.group(1))
        return EXERCISE_IDS[number - 1]
    return None
