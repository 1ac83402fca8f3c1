"""`cnn-grader check NB` with only a release: the public self-checks, run in a fresh kernel
through the grading pipeline, said plainly to be no grade (CONTRACT.md §4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import helpers
import nbformat
import release_helpers

from grader.api import Options, grade
from grader.generate import SELF_CHECK_TAG
from grader.release_check import check_public
from grader.selfcheck.runtime import HIDDEN_NOTE


def check_cli(
    notebook: Path, cwd: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(notebook), *options],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_the_solution_passes_every_public_check(release_dir: Path, tmp_path: Path) -> None:
    proc = check_cli(
        helpers.solution_path("ex01_convolution"), tmp_path, "--course", str(release_dir)
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == lines[-1] == HIDDEN_NOTE, proc.stdout
    n = len(release_helpers.cases(release_dir, "ex01_convolution"))
    assert f"public examples passed: {n} of {n}" in proc.stdout
    assert "✘" not in proc.stdout and "score" not in proc.stdout
    assert not (tmp_path / "reports").exists()  # no report that could pass for a grade


def test_the_starter_passes_none_and_is_no_error(release_dir: Path, tmp_path: Path) -> None:
    proc = check_cli(
        release_dir / "ex02_pooling.ipynb", tmp_path, env={"CNN_GRADER_COURSE": str(release_dir)}
    )
    assert proc.returncode == 0, proc.stderr
    n = len(release_helpers.cases(release_dir, "ex02_pooling"))
    assert f"public examples passed: 0 of {n}" in proc.stdout
    assert HIDDEN_NOTE in proc.stdout

    _, result = check_public(release_dir / "ex02_pooling.ipynb", release_dir)
    assert result is not None and result.execution.status.value == "ok"
    assert {c.status.value for c in result.checks} == {"not_attempted"}


def test_a_mutant_fails_its_public_check_with_the_hint(release_dir: Path, tmp_path: Path) -> None:
    source = (
        helpers.solution_definitions("ex02_pooling")
        + "\n\n"
        + (
            Path(__file__).parents[1] / "mutants/ex02_pooling/avg_same_divides_by_area.py"
        ).read_text(encoding="utf-8")
    )
    notebook = helpers.write_notebook(tmp_path, "ex02_pooling.ipynb", [source])
    proc = check_cli(notebook, tmp_path, "--course", str(release_dir))
    assert proc.returncode == 0, proc.stderr
    assert "✘ avg_pool2d, padding='same' (padded cells not counted, padding split)" in proc.stdout
    flowing = " ".join(proc.stdout.split())  # messages and hints are wrapped to the terminal
    assert "hint: With padding='same', TensorFlow divides by the number of real cells" in flowing


def test_an_exercise_without_public_checks_says_so(release_dir: Path, tmp_path: Path) -> None:
    """Every exercise of the course has some; a release whose cases file of one holds none
    (an instructor's own exercise, say) says so and why, and runs nothing."""
    import json
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(release_dir, copy)
    cases = copy / "cnn_selfcheck" / "cases" / "ex07_feature_maps.json"
    doc = json.loads(cases.read_text(encoding="utf-8"))
    doc["cases"] = []
    doc["unchecked"] = {"activation_model": "it needs a Keras model"}
    cases.write_text(json.dumps(doc), encoding="utf-8")
    proc = check_cli(copy / "ex07_feature_maps.ipynb", tmp_path, "--course", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert "ex07_feature_maps has no public self-checks" in proc.stdout
    assert "activation_model: it needs a Keras model" in proc.stdout


def test_grading_blanks_self_check_cells_and_only_those(tmp_path: Path) -> None:
    """They import the release's package, absent from the grading kernel: never run there."""
    nb = helpers.solution_notebook("ex02_pooling")
    cell = nbformat.v4.new_code_cell("import cnn_selfcheck_is_not_here")
    nb.cells.insert(3, cell)
    untagged = helpers.write_notebook(tmp_path, "untagged.ipynb", nb, "ex02_pooling")
    cell.metadata["tags"] = [SELF_CHECK_TAG]
    tagged = helpers.write_notebook(tmp_path, "tagged.ipynb", nb, "ex02_pooling")

    problems = grade(untagged, Options(seed=1)).execution.problems
    assert [p.ename for p in problems] == ["ModuleNotFoundError"]
    result = grade(tagged, Options(seed=1))
    assert result.execution.problems == [] and result.score == result.max_score


def test_check_writes_the_public_report_where_out_says(release_dir: Path, tmp_path: Path) -> None:
    proc = check_cli(
        helpers.solution_path("ex02_pooling"),
        tmp_path,
        "--course",
        str(release_dir),
        "--out",
        str(tmp_path / "mine"),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(
        (tmp_path / "mine" / "ex02_pooling.selfcheck.json").read_text(encoding="utf-8")
    )
    assert report["checks"] and all(c["status"] == "passed" for c in report["checks"])
    assert "not a grade" in report["notes"][0]
    html = tmp_path / "mine" / "ex02_pooling.selfcheck.html"
    assert html.is_file() and f"full report: {html.resolve()}" in proc.stdout
