"""Instructor findings never reach students: every report a student may receive (`grade` and
`check` output, the per-student reports `batch` writes for returning, Gradescope's visible
output) carries none of them; the instructor's copies and outputs do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import helpers

from grader.models import SCHEMA_VERSION, GradeResult
from grader.reporting.gradescope import to_gradescope

IMPORT_GRADER = (
    "try:\n"
    "    import grader.models\n"
    "    grader.models.points_for = lambda status, max_points: float(max_points)\n"
    "except Exception as exc:\n"
    "    print('no grader here:', exc)\n"
)


def _notebook(tmp_path: Path) -> Path:
    return helpers.write_notebook(
        tmp_path / "subs",
        "ex02_pooling.ipynb",
        [helpers.solution_definitions("ex02_pooling"), IMPORT_GRADER],
        exercise="ex02_pooling",
    )


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def _holds_findings(folder: Path, stem: str) -> tuple[bool, bool]:
    html = (folder / f"{stem}.html").read_text(encoding="utf-8")
    data = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
    return "For your instructor to look at" in html, bool(data["integrity"])


def test_grade_writes_the_student_view_unless_asked(tmp_path: Path) -> None:
    nb = _notebook(tmp_path)
    proc = _cli("grade", str(nb), "--out", "student", "--seed", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _holds_findings(tmp_path / "student", "ex02_pooling") == (False, False)
    proc = _cli(
        "grade", str(nb), "--out", "teacher", "--seed", "1", "--view", "instructor", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert _holds_findings(tmp_path / "teacher", "ex02_pooling") == (True, True)


def test_batch_returns_student_reports_and_keeps_an_instructor_copy(tmp_path: Path) -> None:
    _notebook(tmp_path)
    proc = _cli("batch", "subs", "--out", "out", "--seed", "1", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (student,) = [p.parent for p in (tmp_path / "out" / "students").rglob("*.html")]
    (copy,) = [p.parent for p in (tmp_path / "out" / "instructor").rglob("*.html")]
    stem = next(student.glob("*.html")).stem
    assert _holds_findings(student, stem) == (False, False)
    assert _holds_findings(copy, stem) == (True, True)


def test_gradescope_shows_findings_to_instructors_only() -> None:
    result = GradeResult.from_dict(
        {
            "exercise": "ex02_pooling",
            "title": "",
            "notebook": "nb.ipynb",
            "seed": 1,
            "profile": "",
            "execution": {"status": "ok", "duration_s": 1.0},
            "checks": [],
            "grader_version": "x",
            "graded_at": "",
            "schema_version": SCHEMA_VERSION,
            "integrity": ["imports the grader (cell 2)"],
        }
    )
    doc = to_gradescope([result])
    hidden = [t for t in doc["tests"] if t["visibility"] == "hidden"]
    assert hidden and "imports the grader" in hidden[0]["output"]
    visible = json.dumps([t for t in doc["tests"] if t["visibility"] != "hidden"]) + doc["output"]
    assert "imports the grader" not in visible
    assert result.student_view().integrity == [] and result.integrity
    # the messages name code in backticks: Gradescope renders them as Markdown when told
    assert doc["output_format"] == doc["test_output_format"] == "md"
