"""The registry of exercises: one module of checks per exercise, found by its file name.

An exercise is a module `grader/exercises/exNN_<name>.py` (defining `exercise`) beside its
solution notebook `solutions/exNN_<name>.ipynb`: adding one is adding that pair (and the
generated starter), never editing a list. The id is the module's name; NN, the exercise's
number, is what short file names refer to (`ex10.ipynb`). Modules are imported on first use.
An exercise module may keep its parts in modules of its own beside it, `_exNN_<part>.py`
(hidden inputs, catalogue of mistakes): those are not exercises.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from grader.checks.core import Exercise
from grader.errors import UnknownExercise

_HERE = Path(__file__).parent
# What an exercise module's (and its notebooks') name looks like: ex, two digits, _, a name.
ID_PATTERN = re.compile(r"ex(\d{2})_[a-z0-9_]+")
# A short reference to an exercise in a file name: "ex10", "Ex01-conv", "exercise_3", "ex 2".
_NUMBER = re.compile(r"(?:^|[^a-z0-9])ex(?:ercise)?[ _-]?0*([1-9][0-9]?)(?![0-9])")


def available() -> list[str]:
    """The exercise ids whose check module exists in this version, in exercise order."""
    return sorted(p.stem for p in _HERE.glob("ex*.py") if ID_PATTERN.fullmatch(p.stem))


def number(exercise_id: str) -> int:
    """The exercise's number: 10 for ex10_conv_backward."""
    m = ID_PATTERN.fullmatch(exercise_id)
    if m is None:
        raise ValueError(f"{exercise_id!r} is not an exercise id (exNN_name)")
    return int(m.group(1))


def get(exercise_id: str) -> Exercise:
    if exercise_id not in available():
        raise UnknownExercise(f"unknown exercise {exercise_id!r}; known: {', '.join(available())}")
    module = importlib.import_module(f"grader.exercises.{exercise_id}")
    exercise: Exercise = module.exercise
    return exercise


def infer_from_name(filename: str) -> str | None:
    """The exercise a file name refers to, or None.

    `alice_ex10_conv_backward.ipynb` (a full id anywhere in the name) → ex10_conv_backward;
    `ex11.ipynb`, `alice_ex10.ipynb`, `Ex01-conv.ipynb`, `exercise_3.ipynb` (a number after
    "ex" or "exercise", not inside a word) → the exercise with that number. A number no
    exercise has, or that two exercises share, is not a guess: None.
    """
    stem = Path(filename).stem.lower()
    ids = available()
    for eid in sorted(ids, key=len, reverse=True):
        if eid in stem:
            return eid
    m = _NUMBER.search(stem)
    if m:
        matches = [eid for eid in ids if number(eid) == int(m.group(1))]
        if len(matches) == 1:
            return matches[0]
    return None
