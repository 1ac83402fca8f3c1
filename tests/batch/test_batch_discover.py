"""Discovery of a class's submissions, and the zip extraction that must not trust the zip."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from batch_fixtures import solution, starter, write, zip_of

from grader.batch.discover import discover, student_slug
from grader.batch.safezip import extract_notebooks
from grader.errors import ConfigurationError


def _nb(exercise: str | None) -> str:
    nb = starter("ex01_convolution")
    if exercise is None:
        nb["metadata"].pop("cnn_grader", None)
    else:
        nb["metadata"]["cnn_grader"] = {"exercise": exercise}
    return json.dumps(nb)


def test_every_layout_and_a_zip_in_one_folder(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs / "submitted/alice/ex02/pool.ipynb", _nb(None))  # exercise from the folder
    write(subs / "bob/ex03_parameters.ipynb", _nb(None))  # a folder per student
    write(subs / "carol_x_ex01.ipynb", _nb(None))  # flat
    write(subs / "dave_whatever.ipynb", _nb("ex02_pooling"))  # metadata wins
    write(subs / ".ipynb_checkpoints/erin_ex01-checkpoint.ipynb", _nb(None))  # ignored
    zip_of(
        subs / "late.zip",
        {
            "late/submitted/gina/ex01_convolution/ex01.ipynb": _nb(None),
            "harry_ex03.ipynb": _nb(None),
        },
    )
    found = discover(subs, extract_to=tmp_path / "out/.extracted")
    got = {(s.student, s.exercise, s.layout) for s in found.submissions}
    assert got == {
        ("alice", "ex02_pooling", "nbgrader"),
        ("bob", "ex03_parameters", "folder"),
        ("carol", "ex01_convolution", "flat"),
        ("dave", "ex02_pooling", "flat"),
        ("gina", "ex01_convolution", "nbgrader"),
        ("harry", "ex03_parameters", "flat"),
    }
    gina = next(s for s in found.submissions if s.student == "gina")
    assert gina.label.startswith("late.zip:") and gina.path.is_file()
    assert gina.path.is_relative_to(tmp_path / "out/.extracted")


def test_explicit_exercise_wins_and_unknown_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "s/zoe_homework.ipynb", _nb(None))
    found = discover(tmp_path / "s", extract_to=tmp_path / "x")
    (zoe,) = found.submissions
    assert zoe.exercise is None and "pass --exercise" in zoe.problem
    found = discover(tmp_path / "s", extract_to=tmp_path / "x", exercise="ex03_parameters")
    assert found.submissions[0].exercise == "ex03_parameters"


def test_two_notebooks_for_one_exercise_keep_the_newest(tmp_path: Path) -> None:
    old = write(tmp_path / "s/amy_ex01_v1.ipynb", _nb(None))
    new = write(tmp_path / "s/amy_ex01_final.ipynb", json.dumps(solution("ex01_convolution")))
    os.utime(old, (1_000_000, 1_000_000))
    found = discover(tmp_path / "s", extract_to=tmp_path / "x")
    assert [s.path for s in found.submissions] == [new]
    assert any("amy_ex01_v1.ipynb" in w for w in found.warnings)


def test_the_output_folder_inside_the_submissions_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "s/amy_ex01.ipynb", _nb(None))
    write(tmp_path / "s/graded/reports/old_ex01.ipynb", _nb(None))
    found = discover(
        tmp_path / "s", extract_to=tmp_path / "s/graded/.x", exclude=(tmp_path / "s/graded",)
    )
    assert [s.student for s in found.submissions] == ["amy"]


def test_links_and_special_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    """A FIFO named like a notebook would block the reader forever; a link could point at
    any file of the machine. Neither is read; the instructor is told, nothing is lost quietly."""
    write(tmp_path / "s/amy_ex01.ipynb", _nb(None))
    os.mkfifo(tmp_path / "s/ben_ex01.ipynb")
    os.symlink("/etc/passwd", tmp_path / "s/cat_ex01.ipynb")
    os.symlink(tmp_path / "s/amy_ex01.ipynb", tmp_path / "s/dee_ex01.ipynb")
    found = discover(tmp_path / "s", extract_to=tmp_path / "x")
    assert [s.student for s in found.submissions] == ["amy"]
    assert sorted(found.warnings) == [
        "skipped ben_ex01.ipynb: not a regular file (only regular files are graded)",
        "skipped cat_ex01.ipynb: a link (only regular files are graded)",
        "skipped dee_ex01.ipynb: a link (only regular files are graded)",
    ]


def test_zip_members_cannot_leave_the_target(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape_ex01.ipynb", "{}")
        zf.writestr("/abs/root_ex01.ipynb", "{}")
        zf.writestr("ok/..\\..\\win_ex01.ipynb", "{}")
        link = zipfile.ZipInfo("link_ex01.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("notes.txt", "ignored")
        zf.writestr("fine/amy_ex01.ipynb", "{}")
    dest = tmp_path / "out" / "x"
    got = extract_notebooks(archive, dest)
    assert got.files == [dest / "fine" / "amy_ex01.ipynb"]
    assert len(got.skipped) == 4
    assert sorted(p.name for p in tmp_path.rglob("*.ipynb")) == ["amy_ex01.ipynb"]


def test_zip_bomb_is_cut_off_while_streaming(tmp_path: Path) -> None:
    archive = zip_of(
        tmp_path / "bomb.zip", {"a_ex01.ipynb": b"0" * 3_000_000, "b_ex01.ipynb": b"{}"}
    )
    got = extract_notebooks(archive, tmp_path / "x", max_member_bytes=1_000_000)
    assert [p.name for p in got.files] == ["b_ex01.ipynb"]
    assert "a_ex01.ipynb" in got.skipped[0]
    with pytest.raises(ConfigurationError, match="zip bomb"):
        extract_notebooks(
            archive, tmp_path / "y", max_total_bytes=2_000_000, max_member_bytes=10_000_000
        )


def test_a_file_that_is_not_a_zip_is_the_instructors_problem(tmp_path: Path) -> None:
    bad = write(tmp_path / "class.zip", "not a zip")
    with pytest.raises(ConfigurationError, match="not a readable zip"):
        discover(bad, extract_to=tmp_path / "x")


def test_student_slug_is_safe_and_unique() -> None:
    assert student_slug("alice") == "alice"
    hostile = student_slug("<script>alert(1)</script>")
    assert "/" not in hostile and "<" not in hostile
    assert student_slug("a b") != student_slug("a_b")


def test_a_zip_given_directly_is_a_class(tmp_path: Path) -> None:
    archive = zip_of(
        tmp_path / "week1.zip",
        {
            "week1/amy_ex01.ipynb": _nb(None),  # the zip's own top folder is not a student
            "week1/submitted/bo/ex02_pooling/any_name.ipynb": _nb(None),
        },
    )
    found = discover(archive, extract_to=tmp_path / "out/.extracted")
    assert {(s.student, s.exercise, s.layout) for s in found.submissions} == {
        ("amy", "ex01_convolution", "flat"),
        ("bo", "ex02_pooling", "nbgrader"),
    }
    assert all(s.label.startswith("week1.zip:") for s in found.submissions)
