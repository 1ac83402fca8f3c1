"""Exercises are discovered from their modules (grader/exercises/exNN_<name>.py), and a file name
refers to one by its full id or by its number ("A new exercise is one notebook pair and one
module", issue 11): nothing to add to a list, two-digit numbers included."""

from __future__ import annotations

from pathlib import Path

import pytest

import grader.exercises as registry
from grader.errors import UnknownExercise
from grader.exercises import available, get, infer_from_name, number


@pytest.fixture()
def fake_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module folder with exercises 1, 2, 10 and 11, and files that are not exercises."""
    for name in (
        "ex01_convolution",
        "ex02_pooling",
        "ex10_conv_backward",
        "ex11_cifar10",
        "helper_drivers",
        "_ex10_mistakes",
        "__init__",
        "ex3_short",
        "exam_notes",
    ):
        (tmp_path / f"{name}.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(registry, "_HERE", tmp_path)
    return tmp_path


def test_available_is_every_exercise_module_in_order(fake_modules: Path) -> None:
    assert available() == ["ex01_convolution", "ex02_pooling", "ex10_conv_backward", "ex11_cifar10"]
    (fake_modules / "ex12_new_one.py").write_text("", encoding="utf-8")
    assert available()[-1] == "ex12_new_one"  # a new module is an exercise: nothing to register


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("alice_ex10_conv_backward.ipynb", "ex10_conv_backward"),
        ("ex11.ipynb", "ex11_cifar10"),
        ("alice_ex10.ipynb", "ex10_conv_backward"),
        ("Ex01-conv.ipynb", "ex01_convolution"),
        ("alice_ex01_convolution.ipynb", "ex01_convolution"),
        ("ex01.ipynb", "ex01_convolution"),
        ("ex1.ipynb", "ex01_convolution"),
        ("carol_x_ex01.ipynb", "ex01_convolution"),
        ("exercise_2.ipynb", "ex02_pooling"),
        ("bob-EX11-cifar.ipynb", "ex11_cifar10"),
        ("ex02_pooling (1).ipynb", "ex02_pooling"),
        # not a reference to an exercise, or to one that does not exist
        ("homework.ipynb", None),
        ("index01.ipynb", None),
        ("ex12.ipynb", None),
        ("ex110.ipynb", None),
        ("ex3.ipynb", None),
    ],
)
def test_infer_from_name(fake_modules: Path, filename: str, expected: str | None) -> None:
    assert infer_from_name(filename) == expected


def test_a_full_id_wins_over_a_number(fake_modules: Path) -> None:
    # "ex01" is in the name, but so is the whole id of exercise 10
    assert infer_from_name("ex01_redo_ex10_conv_backward.ipynb") == "ex10_conv_backward"


def test_the_real_registry_has_every_course_exercise() -> None:
    ids = available()
    assert ids == sorted(ids) and "ex10_conv_backward" in ids
    assert [number(e) for e in ids] == sorted({number(e) for e in ids})  # one per number
    assert infer_from_name("alice_ex10.ipynb") == "ex10_conv_backward"
    assert get("ex10_conv_backward").needs_tensorflow is False
    with pytest.raises(UnknownExercise, match="ex10_conv_backward"):
        get("ex99_nope")


def test_a_helper_module_has_no_number() -> None:
    with pytest.raises(ValueError):
        number("helper_drivers")
