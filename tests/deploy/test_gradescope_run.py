"""What run_autograder grades in a submission folder, and what the student reads first."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from grader.deploy import gradescope_run
from grader.deploy.gradescope_run import pick_notebook
from grader.deploy.gradescope_scripts import ENV_FILE, RUN_AUTOGRADER
from grader.models import CheckResult, CheckStatus, ExecutionStatus, ExecutionSummary, GradeResult
from grader.reporting.gradescope import to_gradescope

EX = "ex01_convolution"


def _tree(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    return root


@pytest.mark.parametrize(
    "files, graded",
    [
        # Jupyter's checkpoint copy is never the notebook, wherever it lies
        (
            [".ipynb_checkpoints/ex01_convolution-checkpoint.ipynb", "ex01_convolution.ipynb"],
            "ex01_convolution.ipynb",
        ),
        (["ex01_convolution-checkpoint.ipynb", "zz_ex01.ipynb"], "zz_ex01.ipynb"),
        # the exercise's own name, then a name holding its id, then its number, then any
        (
            ["alice_ex01_convolution.ipynb", "ex01_convolution.ipynb", "a.ipynb"],
            "ex01_convolution.ipynb",
        ),
        (
            ["a.ipynb", "hw/alice_ex01_convolution.ipynb", "ex01.ipynb"],
            "hw/alice_ex01_convolution.ipynb",
        ),
        (["notes.ipynb", "Ex01-final.ipynb", "ex011.ipynb"], "Ex01-final.ipynb"),
        (["notes.ipynb", "ex011.ipynb"], "ex011.ipynb"),
        # macOS's shadows and hidden files are not notebooks
        (["__MACOSX/._ex01_convolution.ipynb", "._ex01_convolution.ipynb", "b.ipynb"], "b.ipynb"),
        ([".hidden/ex01_convolution.ipynb", "hw.ipynb", "readme.md"], "hw.ipynb"),
    ],
)
def test_the_notebook_of_the_exercise_is_graded(
    tmp_path: Path, files: list[str], graded: str
) -> None:
    pick = pick_notebook(_tree(tmp_path, *files), EX)
    assert pick.notebook == Path(graded)


def test_the_output_names_the_graded_file_and_what_was_left_aside(tmp_path: Path) -> None:
    pick = pick_notebook(
        _tree(
            tmp_path,
            "hw/ex01_convolution.ipynb",
            "scratch.ipynb",
            "hw/.ipynb_checkpoints/ex01_convolution-checkpoint.ipynb",
        ),
        EX,
    )
    text = pick.describe(EX)
    assert text.splitlines()[0] == "Graded notebook: hw/ex01_convolution.ipynb"
    assert "Not graded (one notebook is graded per submission): scratch.ipynb" in text
    assert "Ignored 1 Jupyter checkpoint copy" in text


def test_the_notebook_that_does_the_exercise_is_graded_whatever_its_name(tmp_path: Path) -> None:
    """A stub Untitled.ipynb (or the starter under the exercise's own name) beside a completed
    notebook of another name: the completed one is graded, and the output says why."""
    import shutil

    import helpers

    starter = Path(helpers.__file__).parents[1] / "exercises" / f"{EX}.ipynb"
    shutil.copy(starter, tmp_path / "Untitled.ipynb")
    shutil.copy(starter, tmp_path / f"{EX}.ipynb")
    shutil.copy(helpers.solution_path(EX), tmp_path / "notebook_final.ipynb")
    pick = pick_notebook(tmp_path, EX)
    assert pick.notebook == Path("notebook_final.ipynb")
    assert (
        "(it implements 3 of the 3 names the exercise grades; the others fewer)"
        in pick.describe(EX).splitlines()[0]
    )


def test_only_checkpoints_is_no_notebook(tmp_path: Path) -> None:
    pick = pick_notebook(
        _tree(tmp_path, ".ipynb_checkpoints/ex01_convolution-checkpoint.ipynb"), EX
    )
    assert pick.notebook is None and len(pick.checkpoints) == 1
    assert pick.describe(EX).startswith(
        "No notebook (.ipynb) found in your submission: upload ex01_convolution.ipynb"
    )


def test_the_note_leads_the_student_output() -> None:
    result = GradeResult(
        exercise=EX,
        title="Convolution",
        notebook="hw.ipynb",
        seed=1,
        profile="smoke",
        execution=ExecutionSummary(status=ExecutionStatus.OK, duration_s=1.0),
        checks=[CheckResult(id="c", status=CheckStatus.PASSED, score=1.0, max_score=1.0)],
        grader_version="0",
        graded_at="now",
        duration_s=1.0,
    )
    doc = to_gradescope([result], note="Graded notebook: hw.ipynb")
    assert doc["output"] == "Graded notebook: hw.ipynb\nConvolution: 1 / 1"
    assert to_gradescope([result])["output"] == "Convolution: 1 / 1"


def test_a_grader_failure_still_writes_results_that_do_not_blame_the_student(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path / "submission", "ex01_convolution.ipynb")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a grader bug")

    monkeypatch.setattr("grader.api.grade", broken)
    assert gradescope_run.main(["--root", str(tmp_path), "--exercise", EX]) == 1
    doc = json.loads((tmp_path / "results" / "results.json").read_text())
    assert doc["score"] == 0 and doc["tests"] == []
    assert "not a problem with your notebook" in doc["output"] and "RuntimeError" in doc["output"]


def test_run_autograder_writes_results_even_when_the_grader_cannot_start(tmp_path: Path) -> None:
    """No virtualenv at all (setup.sh failed half-way): still a results.json Gradescope reads."""
    source = tmp_path / "source"
    source.mkdir()
    (source / ENV_FILE).write_text(
        "EXERCISE=ex01_convolution\nBUNDLE=course.bundle\nNOTEBOOK_TIMEOUT=480\n"
    )
    (source / "run_autograder").write_text(RUN_AUTOGRADER)
    proc = subprocess.run(
        ["bash", str(source / "run_autograder")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CNN_GRADER_AUTOGRADER_ROOT": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "results" / "results.json").read_text())
    assert doc["score"] == 0 and "could not start" in doc["output"]
    assert "not a problem with your submission" in doc["output"]


def test_a_submission_of_only_checkpoints_gets_zero_and_is_told_what_to_upload(
    tmp_path: Path,
) -> None:
    _tree(tmp_path / "submission", ".ipynb_checkpoints/ex01_convolution-checkpoint.ipynb")
    assert gradescope_run.main(["--root", str(tmp_path), "--exercise", EX]) == 0
    doc = json.loads((tmp_path / "results" / "results.json").read_text())
    assert doc["score"] == 0 and doc["tests"] and all(t["score"] == 0 for t in doc["tests"])
    assert doc["output"].startswith(
        "No notebook (.ipynb) found in your submission: upload "
        "ex01_convolution.ipynb itself.\nIgnored 1 Jupyter checkpoint"
    )
    assert "invalid_notebook" in doc["output"]


def test_gradescope_dates_make_a_submission_late_with_the_course_policy(tmp_path: Path) -> None:
    """Gradescope's own dates (the student's extension first), the term file's penalty."""
    from grader.deploy.gradescope_dates import lateness

    meta = {
        "created_at": "2026-10-03T10:00:00.123456-07:00",
        "assignment": {"due_date": "2026-10-01T23:59:00-07:00", "late_due_date": None},
        "users": [{"email": "ann@uni.edu", "assignment": {"due_date": None}}],
    }
    (tmp_path / "submission_metadata.json").write_text(json.dumps(meta))
    assert lateness(tmp_path, EX) == (
        0.0,
        "submitted 34.0 h late (2 days): no points off (by Gradescope's submission time)",
    )
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "term.toml").write_text("[late]\npenalty = 0.1\ncap = 0.5\n")
    assert lateness(tmp_path, EX)[0] == pytest.approx(0.2)
    meta["users"][0]["assignment"] = {"due_date": "2026-10-05T23:59:00-07:00"}  # an extension
    (tmp_path / "submission_metadata.json").write_text(json.dumps(meta))
    assert lateness(tmp_path, EX) == (0.0, "")
    meta["assignment"]["late_due_date"] = "2026-10-02T23:59:00-07:00"
    meta["users"][0]["assignment"] = {}
    (tmp_path / "submission_metadata.json").write_text(json.dumps(meta))
    assert lateness(tmp_path, EX)[0] == 1.0  # after the late due date: nothing
    (tmp_path / "submission_metadata.json").write_text("not json")
    assert lateness(tmp_path, EX) == (0.0, "")


def test_a_late_gradescope_submission_loses_the_penalty_in_results_json(tmp_path: Path) -> None:
    from grader.course import solutions_dir

    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / f"{EX}.ipynb").write_bytes(
        (solutions_dir() / f"{EX}.ipynb").read_bytes()
    )
    (tmp_path / "submission_metadata.json").write_text(
        json.dumps(
            {
                "created_at": "2026-10-02T10:00:00+00:00",
                "assignment": {"due_date": "2026-10-01T23:59:00+00:00"},
                "users": [],
            }
        )
    )
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "term.toml").write_text("[late]\nper = 'day'\npenalty = 0.25\n")
    assert gradescope_run.main(["--root", str(tmp_path), "--exercise", EX]) == 0
    doc = json.loads((tmp_path / "results" / "results.json").read_text())
    assert sum(t["score"] for t in doc["tests"]) == 10
    assert doc["score"] == 7.5
    assert "submitted 10.0 h late (1 day): −25%" in doc["output"]
