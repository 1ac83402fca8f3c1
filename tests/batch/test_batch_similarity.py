"""Similarity: a renamed copy is flagged, independent solutions and untouched starters are not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batch_fixtures import ALT_EX01, renamed, solution, starter, with_functions, write

from grader.course import exercises_dir
from grader.similarity import code_cells, fingerprint, normalise, similar_pairs, similarity

STARTER = exercises_dir() / "ex01_convolution.ipynb"


def _class(tmp_path: Path, notebooks: dict[str, dict[str, Any] | str]) -> dict[str, Path]:
    return {name: write(tmp_path / f"{name}.ipynb", nb) for name, nb in notebooks.items()}


def test_renamed_copy_is_flagged_but_independent_solutions_are_not(tmp_path: Path) -> None:
    nbs = _class(
        tmp_path,
        {
            "carol": with_functions(starter("ex01_convolution"), ALT_EX01),
            "dave": with_functions(starter("ex01_convolution"), renamed(ALT_EX01)),
            "alice": solution("ex01_convolution"),
        },
    )
    pairs = similar_pairs("ex01_convolution", nbs, starter=STARTER)
    assert [(p.student_a, p.student_b) for p in pairs] == [("carol", "dave")]
    assert pairs[0].score >= 0.9 and pairs[0].exercise == "ex01_convolution"


def test_untouched_starters_are_not_similar_to_each_other(tmp_path: Path) -> None:
    nbs = _class(tmp_path, {f"s{i}": starter("ex01_convolution") for i in range(3)})
    assert similar_pairs("ex01_convolution", nbs, starter=STARTER) == []
    # without excluding the template, the same three would all look alike
    assert len(similar_pairs("ex01_convolution", nbs, starter=None, min_shingles=1)) == 3


def test_comments_docstrings_layout_and_names_do_not_count() -> None:
    a = 'def f(x, n):\n    """Doc."""\n    total = 0  # sum\n    for i in range(n):\n        total += x[i]\n    return total\n'
    b = "def f(values,count):\n  acc=0\n\n  for k in range( count ):\n      acc += values[k]\n  return acc"
    c = "def f(x, n):\n    return sum(x[:n])\n"
    keep = frozenset({"f"})
    assert normalise(a, keep) == normalise(b, keep)
    assert normalise(a, keep) != normalise(c, keep)
    assert "f" in normalise(a, keep) and "range" in normalise(a, keep)


def test_code_that_does_not_parse_or_has_magics_still_compares() -> None:
    assert normalise("%matplotlib inline\nx = 1\n") == normalise("y = 1")
    broken = normalise("def f(:\n    return alpha + 1")
    assert broken and "alpha" not in broken


def test_unreadable_notebooks_have_no_code(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.ipynb", "not json")
    assert code_cells(bad) == []
    assert similarity(fingerprint([]), fingerprint(code_cells(bad))) == 0.0
