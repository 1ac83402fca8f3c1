"""GitHub Classroom and Gradescope: the documents outside tools parse (the zip: tests/deploy)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from grader.cli import main
from grader.course import solutions_dir
from grader.models import (
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
    points_for,
)
from grader.reporting.classroom import emit, encode, to_classroom
from grader.reporting.gradescope import to_gradescope, write_results

TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}


def _result(*statuses: CheckStatus) -> GradeResult:
    checks = [
        CheckResult(
            id=f"check_{i}",
            status=s,
            score=points_for(s, 2.0),
            max_score=2.0,
            title=f"Check {i}",
            message="" if s is CheckStatus.PASSED else "wrong",
            hint="look again",
            call=f"f(x{i})",
        )
        for i, s in enumerate(statuses)
    ]
    return GradeResult(
        exercise="ex01_convolution",
        title="Convolution",
        notebook="hw.ipynb",
        seed=1,
        profile="smoke",
        execution=ExecutionSummary(status=ExecutionStatus.OK, duration_s=2.4),
        checks=checks,
        grader_version="0",
        graded_at="now",
        duration_s=3.6,
    )


def _decode(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value, validate=True).decode("utf-8"))


def test_classroom_document_has_exactly_the_reporters_fields() -> None:
    r = _result(
        CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_ATTEMPTED, CheckStatus.TIMEOUT
    )
    doc = _decode(encode(to_classroom([r])))
    assert set(doc) == {"version", "status", "max_score", "tests"}
    assert (doc["version"], doc["status"], doc["max_score"]) == (1, "fail", 8)
    assert all(set(t) == TEST_KEYS for t in doc["tests"])
    assert [t["status"] for t in doc["tests"]] == ["pass", "fail", "fail", "fail"]
    assert [t["score"] for t in doc["tests"]] == [2, 0, 0, 0]
    first, second = doc["tests"][:2]
    assert first["name"] == "Check 0 — passed, 2/2 pts" and first["test_code"] == "f(x0)"
    assert first["filename"] == "hw.ipynb" and isinstance(first["line_no"], int)
    assert second["message"] == "wrong\nHint: look again"


def test_classroom_status_is_error_only_for_grader_errors() -> None:
    assert to_classroom([_result(CheckStatus.PASSED)])["status"] == "pass"
    doc = to_classroom([_result(CheckStatus.PASSED, CheckStatus.ERROR, CheckStatus.FAILED)])
    assert doc["status"] == "error" and doc["tests"][1]["status"] == "error"


def test_classroom_output_goes_to_github_output_when_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "github_output"
    target.write_text("earlier=1\n")
    value = emit([_result(CheckStatus.PASSED)], env={"GITHUB_OUTPUT": str(target)})
    assert target.read_text().splitlines() == ["earlier=1", f"result={value}", "runners=c01check0"]
    assert capsys.readouterr().out == ""
    emit([_result(CheckStatus.PASSED)], env={})
    assert _decode(capsys.readouterr().out.strip())["status"] == "pass"


def test_gradescope_results_have_the_harness_fields(tmp_path: Path) -> None:
    r = _result(CheckStatus.PASSED, CheckStatus.TIMEOUT)
    path = write_results([r], tmp_path / "results" / "results.json")
    doc = json.loads(path.read_text())
    assert set(doc) == {
        "score",
        "output",
        "tests",
        "execution_time",
        "visibility",
        "output_format",
        "test_output_format",
    }
    assert doc["output_format"] == doc["test_output_format"] == "md"
    assert (doc["score"], doc["execution_time"], doc["visibility"]) == (2.0, 4, "visible")
    assert doc["tests"][1] == {
        "name": "Check 1",
        "score": 0.0,
        "max_score": 2.0,
        "status": "failed",
        "output": "wrong\nHint: look again",
        "visibility": "visible",
    }
    assert to_gradescope([r])["tests"][0]["status"] == "passed"


def test_grade_command_writes_classroom_and_gradescope_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gh = tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(gh))
    for name in ("GITHUB_ENV", "GITHUB_STEP_SUMMARY"):  # never the real ones of a CI job
        monkeypatch.setenv(name, str(tmp_path / name))
    code = main(
        [
            "grade",
            str(solutions_dir() / "ex01_convolution.ipynb"),
            "--seed",
            "5",
            "--out",
            str(tmp_path / "reports"),
            "--classroom",
            "--gradescope",
            "--gradescope-out",
            str(tmp_path / "gs" / "results.json"),
        ]
    )
    assert code == 0
    line, runners = gh.read_text().splitlines()
    doc = _decode(line.removeprefix("result="))
    assert runners.startswith("runners=c01") and runners.count(",") == len(doc["tests"]) - 1
    assert (tmp_path / "GITHUB_ENV").read_text().count("_RESULTS=") == len(doc["tests"])
    assert "**Total** | **10 / 10**" in (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
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


def test_classroom_workflow_template_wires_the_grader_to_the_reporter() -> None:
    import yaml

    text = (Path(__file__).parents[2] / ".github" / "classroom" / "classroom.yml").read_text()
    workflow = yaml.safe_load(text)
    job = workflow["jobs"]["run-autograding-tests"]
    steps = {s.get("id") or s["name"]: s for s in job["steps"]}
    grade = steps["grader"]
    assert "--classroom" in grade["run"] and "$COURSE_BUNDLE" in grade["run"]
    assert grade["env"] == {"CNN_GRADER_BUNDLE_KEY": "${{ secrets.CNN_GRADER_BUNDLE_KEY }}"}
    reporter = steps["Autograding Reporter"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"] == {"runners": "${{ steps.grader.outputs.runners }}"}
    assert job["name"] == "Autograding Tests" and workflow["permissions"]["checks"] == "write"
    assert "\t" not in text
