"""An instructor's term, in small: a class graded against a roster (a Canvas export), an
override by hand, the grades exported for Canvas, a regrade that keeps the override."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from batch_fixtures import appended, commit, solution, starter, write

from grader.batch import roster as roster_io
from grader.cli import main
from grader.errors import ConfigurationError

EX = "ex01_convolution"
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section
"Ann Lee",101,S101,ann,A
"Ben Ode",102,S102,ben,A
"Cat Ruiz",103,S103,cat,B
"Dan Wu",104,S104,dan,B
"Eve Sato",105,S105,eve,A
"Fay Ng",106,S106,fay,B
"""


def test_rosters_of_each_kind_are_read_and_matched_by_alias() -> None:
    classroom = roster_io.parse(
        "identifier,github_username,github_id,name\n"
        "ann@uni.edu,ann-lee,1,Ann Lee\n,ben-o,2,Ben Ode\n"
    )
    assert [s.id for s in classroom.students] == ["ann@uni.edu", "ben-o"]
    assert classroom.match("ANN-LEE").id == "ann@uni.edu"  # the GitHub username, any case
    assert classroom.match("ann").id == "ann@uni.edu"  # the email's local part
    canvas = roster_io.parse(CANVAS_ROSTER)
    assert canvas.match("S103").id == "cat" and canvas.match("104").id == "dan"
    assert canvas.students[0].lms["Section"] == "A"
    plain = roster_io.parse("id,name,email,aliases\nzoe,Zoe Q,zq@x.org,zoeq;zq-gh\n")
    assert plain.match("zq-gh").id == "zoe" and plain.match("nobody") is None
    ids, unmatched = roster_io.assign(canvas, ["ann", "mallory", "S102"])
    assert ids == {"ann": "ann", "mallory": "mallory", "S102": "ben"} and unmatched == ["mallory"]
    with pytest.raises(ConfigurationError, match="not a roster"):
        roster_io.parse("who,what\nx,y\n")
    with pytest.raises(ConfigurationError, match="names both"):
        roster_io.parse("id,aliases\na,x\nb,x\n")


def _canvas(path: Path) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    return {r[3] or r[0]: r for r in rows[1:]}


def test_a_class_against_its_roster_with_an_override_kept_through_a_regrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs, out = tmp_path / "subs", tmp_path / "graded"
    subs.mkdir()
    good = solution(EX)
    write(subs / f"ann_{EX}.ipynb", good)
    write(subs / f"S102_{EX}.ipynb", good)  # ben, by his SIS id
    write(subs / f"cat_{EX}.ipynb", appended(good, "def sobel_edges(image):\n    return image\n"))
    write(subs / f"dan_{EX}.ipynb", starter(EX))
    write(subs / f"mallory_{EX}.ipynb", good)  # on no roster
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_ROSTER)
    gradebook = str(out / "gradebook.sqlite")

    args = ["batch", str(subs), "--out", str(out), "--roster", str(roster), "--workers", "2"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "mallory: not on the roster" in err
    dashboard = (out / "dashboard.html").read_text()
    assert "On the roster, nothing submitted (2): eve, fay" in dashboard
    assert (
        main(
            [
                "override",
                "dan",
                EX,
                "--points",
                "4",
                "--why",
                "oral exam",
                "--by",
                "prof",
                "--gradebook",
                gradebook,
            ]
        )
        == 0
    )
    dan = out / "students" / "dan" / f"{EX}.html"
    assert "Your instructor (prof) set this exercise to 4 points: oral exam" in dan.read_text()
    assert (
        main(
            [
                "override",
                "cat",
                EX,
                "sobel_edges_3x3",
                "--points",
                "0.5",
                "--why",
                "x",
                "--gradebook",
                gradebook,
            ]
        )
        == 2
    )  # no such check: said, nothing recorded
    assert (
        main(["override", "ann", EX, "--points", "11", "--why", "x", "--gradebook", gradebook]) == 2
    )  # more than the exercise is worth
    export = tmp_path / "canvas_export.csv"
    assert (
        main(["export", "--format", "canvas", "--gradebook", gradebook, "--out", str(export)]) == 0
    )
    rows = _canvas(export)
    assert list(rows) == ["Points Possible", "ann", "ben", "cat", "dan", "eve", "fay"]
    assert rows["Points Possible"][5] == "10"
    assert rows["ann"][:5] == ["Ann Lee", "101", "S101", "ann", "A"]
    assert rows["ann"][5] == rows["ben"][5] == "10"
    assert 0 < float(rows["cat"][5]) < 10  # a wrong sobel_edges
    assert rows["dan"][5] == "4"  # the override, not the starter's 0
    assert rows["eve"][5] == rows["fay"][5] == ""  # missing: no grade, not a zero
    assert "mallory" not in rows

    assert main([*args, "--force"]) == 0  # a regrade of everyone
    assert "set this exercise to 4 points: oral exam" in dan.read_text()  # said again
    capsys.readouterr()
    assert main(["export", "--format", "csv", "--gradebook", gradebook]) == 0
    plain = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert plain["dan"][EX] == "4" and "oral exam" in plain["dan"]["notes"]
    assert "by prof" in plain["dan"]["notes"]


def test_classroom_repositories_with_deadlines_extensions_and_late_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs, out = tmp_path / "clones", tmp_path / "graded"
    good = solution(EX)
    commit(subs / "ann-gh", good, f"{EX}.ipynb", "2026-10-01T20:00:00+00:00")  # on time
    commit(subs / "ben-gh", good, f"{EX}.ipynb", "2026-10-03T10:00:00+00:00")  # 2 days late
    commit(subs / "cat-gh", good, f"{EX}.ipynb", "2026-10-03T10:00:00+00:00")  # her extension
    commit(subs / "dan-gh", good, f"{EX}.ipynb", "2026-10-20T10:00:00+00:00")  # after the hard
    roster = tmp_path / "classroom.csv"
    roster.write_text(
        "identifier,github_username,github_id,name\n"
        + "".join(
            f"{s}@uni.edu,{s}-gh,{i},{s.title()}\n"
            for i, s in enumerate(["ann", "ben", "cat", "dan", "eve"])
        )
    )
    term = tmp_path / "term.toml"
    term.write_text(f"""
[deadlines]
{EX} = 2026-10-01T23:59:00Z

[extensions."cat@uni.edu"]
{EX} = 2026-10-04T23:59:00Z

[late]
per = "day"
penalty = 0.1
cap = 0.5
hard = 2026-10-10T23:59:00Z
""")
    assert (
        main(
            [
                "batch",
                str(subs),
                "--out",
                str(out),
                "--roster",
                str(roster),
                "--exercise",
                EX,
                "--workers",
                "2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "export",
                "--format",
                "csv",
                "--gradebook",
                str(out / "gradebook.sqlite"),
                "--term",
                str(term),
            ]
        )
        == 0
    )
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["ann@uni.edu"][EX] == "10" and rows["ann@uni.edu"]["notes"] == ""
    assert rows["ben@uni.edu"][EX] == "8"  # two started days: −20%
    assert "late (2 days): −20%" in rows["ben@uni.edu"]["notes"]
    assert rows["cat@uni.edu"][EX] == "10"  # within her extension
    assert rows["dan@uni.edu"][EX] == "0" and "hard deadline" in rows["dan@uni.edu"]["notes"]
    assert rows["eve@uni.edu"][EX] == ""  # nothing submitted


def test_a_late_submission_says_so_in_its_report_and_only_regrades_one_student(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs, out = tmp_path / "clones", tmp_path / "graded"
    good = solution(EX)
    commit(subs / "ann", good, f"{EX}.ipynb", "2026-10-01T20:00:00+00:00")
    commit(subs / "ben", good, f"{EX}.ipynb", "2026-10-02T10:00:00+00:00")  # 1 day late
    term = tmp_path / "term.toml"
    term.write_text(f"[deadlines]\n{EX} = 2026-10-01T23:59:00Z\n[late]\npenalty = 0.1\n")
    base = ["batch", str(subs), "--out", str(out), "--exercise", EX, "--term", str(term)]
    assert main(base) == 0
    ben = (out / "students" / "ben" / f"{EX}.html").read_text()
    assert "submitted 10.0 h late (1 day): −10%" in ben and "by its git commit" in ben
    assert "submitted" not in (out / "students" / "ann" / f"{EX}.html").read_text()
    before = (out / "students" / "ann" / f"{EX}.html").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*base, "--force", "--only", "ben"]) == 0
    assert "1 submissions: 1 graded" in capsys.readouterr().out
    assert (out / "students" / "ann" / f"{EX}.html").stat().st_mtime_ns == before
