"""GitHub Classroom and Gradescope: the documents outside tools parse, and Gradescope's zip."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.cli import main
from grader.course import solutions_dir
from grader.models import (CheckResult, CheckStatus, ExecutionStatus, ExecutionSummary,
                           GradeResult, points_for)
from grader.reporting.classroom import emit, encode, to_classroom
from grader.reporting.gradescope import build_autograder_zip, to_gradescope, write_results

TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}


def _result(*statuses: CheckStatus) -> GradeResult:
    checks = [CheckResult(id=f"check_{i}", status=s, score=points_for(s, 2.0), max_score=2.0,
                          title=f"Check {i}", message="" if s is CheckStatus.PASSED else "wrong",
                          hint="look again", call=f"f(x{i})")
              for i, s in enumerate(statuses)]
    return GradeResult(exercise="ex01_convolution", title="Convolution", notebook="hw.ipynb",
                       seed=1, profile="smoke",
                       execution=ExecutionSummary(status=ExecutionStatus.OK, duration_s=2.4),
                       checks=checks, grader_version="0", graded_at="now", duration_s=3.6)


def _decode(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value, validate=True).decode("utf-8"))


def test_classroom_document_has_exactly_the_reporters_fields() -> None:
    r = _result(CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_ATTEMPTED,
                CheckStatus.TIMEOUT)
    doc = _decode(encode(to_classroom([r])))
    assert set(doc) == {"version", "status", "max_score", "tests"}
    assert (doc["version"], doc["status"], doc["max_score"]) == (1, "fail", 8)
    assert all(set(t) == TEST_KEYS for t in doc["tests"])
    assert [t["status"] for t in doc["tests"]] == ["pass", "fail", "fail", "fail"]
    assert [t["score"] for t in doc["tests"]] == [2, 0, 0, 0]
    first, second = doc["tests"][:2]
    assert first["name"] == "Check 0 (2 pts)" and first["test_code"] == "f(x0)"
    assert first["filename"] == "hw.ipynb" and isinstance(first["line_no"], int)
    assert second["message"] == "wrong\nHint: look again"


def test_classroom_status_is_error_only_for_grader_errors() -> None:
    assert to_classroom([_result(CheckStatus.PASSED)])["status"] == "pass"
    doc = to_classroom([_result(CheckStatus.PASSED, CheckStatus.ERROR, CheckStatus.FAILED)])
    assert doc["status"] == "error" and doc["tests"][1]["status"] == "error"


def test_classroom_output_goes_to_github_output_when_set(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "github_output"
    target.write_text("earlier=1\n")
    value = emit([_result(CheckStatus.PASSED)], env={"GITHUB_OUTPUT": str(target)})
    assert target.read_text().splitlines() == ["earlier=1", f"result={value}"]
    assert capsys.readouterr().out == ""
    emit([_result(CheckStatus.PASSED)], env={})
    assert _decode(capsys.readouterr().out.strip())["status"] == "pass"


def test_gradescope_results_have_the_harness_fields(tmp_path: Path) -> None:
    r = _result(CheckStatus.PASSED, CheckStatus.TIMEOUT)
    path = write_results([r], tmp_path / "results" / "results.json")
    doc = json.loads(path.read_text())
    assert set(doc) == {"score", "output", "tests", "execution_time", "visibility"}
    assert (doc["score"], doc["execution_time"], doc["visibility"]) == (2.0, 4, "visible")
    assert doc["tests"][1] == {"name": "Check 1", "score": 0.0, "max_score": 2.0,
                               "status": "failed", "output": "wrong\nHint: look again",
                               "visibility": "visible"}
    assert to_gradescope([r])["tests"][0]["status"] == "passed"


def test_grade_command_writes_classroom_and_gradescope_outputs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gh = tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(gh))
    code = main(["grade", str(solutions_dir() / "ex01_convolution.ipynb"), "--seed", "5",
                 "--out", str(tmp_path / "reports"), "--classroom", "--gradescope",
                 "--gradescope-out", str(tmp_path / "gs" / "results.json")])
    assert code == 0
    (line,) = gh.read_text().splitlines()
    doc = _decode(line.removeprefix("result="))
    assert doc["status"] == "pass" and doc["max_score"] == 10
    assert sum(t["score"] for t in doc["tests"]) == 10 and len(doc["tests"]) >= 10
    assert all(set(t) == TEST_KEYS and t["status"] == "pass" for t in doc["tests"])
    # each check's own time (its grading call, timed by the grader, plus judging it)
    assert all(0 <= t["duration"] < 60 for t in doc["tests"])
    assert sum(t["duration"] for t in doc["tests"]) > 0
    report = json.loads((tmp_path / "reports" / "ex01_convolution.json").read_text())
    assert [c["duration_s"] for c in report["checks"]] == [t["duration"] for t in doc["tests"]]
    gs = json.loads((tmp_path / "gs" / "results.json").read_text())
    assert gs["score"] == 10 and len(gs["tests"]) == len(doc["tests"])


def test_autograder_zip_has_what_gradescope_runs(tmp_path: Path) -> None:
    assert main(["gradescope-zip", "ex02_pooling", "--out", str(tmp_path / "ag.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        run = zf.read("run_autograder").decode()
        setup = zf.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "README.md", "grader/__init__.py",
            "grader/api.py", "grader/cli.py", "grader/exercises/ex02_pooling.py",
            "grader/reporting/templates/report.html.j2",
            "solutions/ex02_pooling.ipynb"} <= names
    assert [n for n in names if n.startswith("solutions/")] == ["solutions/ex02_pooling.ipynb"]
    assert not any("__pycache__" in n for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_ISREG(modes[script]) and modes[script] & 0o111 == 0o111
    assert modes["grader/api.py"] & 0o111 == 0
    assert 'EXERCISE="ex02_pooling"' in run and "--gradescope" in run
    assert "pip install /autograder/source" in setup
    for text in (run, setup):
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_autograder_zip_for_an_unknown_exercise_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["gradescope-zip", "ex42_nothing", "--out", str(tmp_path / "x.zip")]) == 2
    assert not (tmp_path / "x.zip").exists()
    with pytest.raises(Exception, match="unknown exercise"):
        build_autograder_zip("ex42_nothing", tmp_path / "y.zip")


def test_classroom_workflow_template_wires_the_grader_to_the_reporter() -> None:
    text = (Path(__file__).parents[2] / ".github" / "classroom" / "classroom.yml").read_text()
    steps = text.split("\n      - name: ")
    grade = next(s for s in steps if "id: cnn-grader" in s)
    assert "--classroom" in grade and "continue-on-error: true" in grade
    reporter = next(s for s in steps if "autograding-grading-reporter@v1" in s)
    assert 'CNN-GRADER_RESULTS: "${{ steps.cnn-grader.outputs.result }}"' in reporter
    assert "runners: cnn-grader" in reporter
    assert "name: Autograding Tests" in text and "checks: write" in text
    assert "actions/checkout@v4" in text and "actions/setup-python@v5" in text
    assert "\t" not in text
