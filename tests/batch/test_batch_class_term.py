"""A whole class's term in one batch: 30 students on a GitHub Classroom roster, their
repositories cloned as Classroom's CLI lays them out, with real git commit times (two late, one
within an extension, one whose last commit came after the hard deadline), two students who
submitted nothing and one repository of nobody on the roster; an override by hand; the Canvas
export; a regrade that keeps the override. Also: a Gradescope export, the Blackboard export and
overrides from a CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from batch_fixtures import appended, commit, solution, starter, write

from grader.cli import main

EX = "ex01_convolution"
PREFIX = "ex01-convolution-"  # Classroom names each repository <assignment>-<username>
DUE = "2026-10-01T23:59:00+00:00"
STUDENTS = [f"s{i:02d}" for i in range(30)]
NOTHING = {"s28", "s29"}  # on the roster, never pushed
LATE = {"s03": "2026-10-02T10:00:00+00:00", "s04": "2026-10-04T08:00:00+00:00"}  # 1 and 3 days
EXTENDED = "s06"  # their own due date is 2026-10-05
STARTER_ONLY = {"s08", "s09"}  # submitted the starter unchanged
WRONG_SOBEL = {"s10"}
PINNED = "s05"  # the starter before the deadline, the solution after the hard deadline

TERM = f"""
[deadlines]
{EX} = {DUE.replace("+00:00", "Z")}

[extensions."s06@uni.edu"]
{EX} = 2026-10-05T23:59:00Z

[late]
per = "day"
penalty = 0.1
cap = 0.5
hard = 2026-10-08T23:59:00Z
"""


@pytest.fixture(scope="module")
def term_class(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("term")
    clones = root / "student-repos" / "ex01-convolution-submissions"
    good = solution(EX)
    for s in STUDENTS:
        if s in NOTHING:
            continue
        repo = clones / f"{PREFIX}{s}-gh"
        if s == PINNED:
            commit(repo, starter(EX), f"{EX}.ipynb", "2026-09-30T12:00:00+00:00")
            commit(
                repo, good, f"{EX}.ipynb", "2026-10-09T12:00:00+00:00"
            )  # after the hard deadline
            continue
        notebook = (
            starter(EX)
            if s in STARTER_ONLY
            else appended(solution(EX), "def sobel_edges(image):\n    return image\n")
            if s in WRONG_SOBEL
            else good
        )
        when = LATE.get(s, "2026-10-04T20:00:00+00:00" if s == EXTENDED else "2026-10-01T18:00:00")
        commit(repo, notebook, f"{EX}.ipynb", when if "+" in when else when + "+00:00")
    commit(
        clones / f"{PREFIX}mallory-gh", good, f"{EX}.ipynb", "2026-10-01T12:00:00+00:00"
    )  # not a student
    roster = root / "classroom_roster.csv"
    roster.write_text(
        "identifier,github_username,github_id,name\n"
        + "".join(
            f"{s}@uni.edu,{s}-gh,{1000 + i},Student {s.upper()}\n" for i, s in enumerate(STUDENTS)
        )
    )
    term = root / "term.toml"
    term.write_text(TERM)
    return {"root": root, "clones": root / "student-repos", "roster": roster, "term": term}


def _canvas(text: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0] == "Points Possible"
    return {r[3]: r for r in rows[2:]}


def test_a_thirty_student_term_in_one_batch(
    term_class: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = term_class["root"] / "graded"
    gradebook = str(out / "gradebook.sqlite")
    batch = [
        "batch",
        str(term_class["clones"]),
        "--out",
        str(out),
        "--roster",
        str(term_class["roster"]),
        "--term",
        str(term_class["term"]),
        "--workers",
        "2",
    ]
    assert main(batch) == 0
    err = capsys.readouterr().err
    assert "mallory-gh: not on the roster" in err  # the repository's name less the prefix
    # s05's newest commit is after the hard deadline: the one before it is graded, and said
    assert f"{PINNED}@uni.edu {EX}: graded git commit" in err and "is not graded" in err

    assert main(["override", "s12@uni.edu", EX, "--points", "7", "--why", "oral exam"]) == 2
    assert (
        main(
            [
                "override",
                "s12@uni.edu",
                EX,
                "--points",
                "7",
                "--why",
                "oral exam",
                "--by",
                "prof",
                "--gradebook",
                gradebook,
                "--term",
                str(term_class["term"]),
            ]
        )
        == 0
    )
    capsys.readouterr()
    dashboard = (out / "dashboard.html").read_text()  # rewritten by the override
    assert "oral exam" in dashboard and dashboard.count('class="badge s-late"') == 2
    export = ["export", "--format", "canvas", "--gradebook", gradebook]
    assert main([*export, "--term", str(term_class["term"])]) == 0
    rows = _canvas(capsys.readouterr().out)
    ids = [f"{s}@uni.edu" for s in STUDENTS]
    assert sorted(rows) == sorted(ids)  # every roster student, the two missing ones included
    assert "mallory-gh" not in rows
    points = {s: rows[f"{s}@uni.edu"][5] for s in STUDENTS}
    for s in STUDENTS:
        expected = {
            "s03": "9",  # one started day late: −10%
            "s04": "7",  # three days late: −30%
            "s12": "7",  # the override
        }.get(s, "" if s in NOTHING else None)
        if expected is not None:
            assert points[s] == expected, s
        elif s in STARTER_ONLY or s == PINNED:
            assert points[s] == "0", s  # s05: the starter of the commit before the deadline
        elif s in WRONG_SOBEL:
            assert 0 < float(points[s]) < 10, s
        else:
            assert points[s] == "10", s  # on time, or within the extension (s06)

    reports = {p.parent.name: p for p in (out / "students").glob(f"*/{EX}.html")}
    s04 = next(p for name, p in reports.items() if name.startswith("s04"))
    assert "late (3 days)" in s04.read_text() and "git commit" in s04.read_text()
    s06 = next(p for name, p in reports.items() if name.startswith("s06"))
    assert "late (" not in s06.read_text()  # within the extension
    dashboard = (out / "dashboard.html").read_text()
    assert "On the roster, nothing submitted (2): s28@uni.edu, s29@uni.edu" in dashboard

    # A regrade of the overridden student keeps the override, says it again, and the
    # dashboard now shows it beside the late submissions.
    assert main([*batch, "--only", "s12@uni.edu", "--force"]) == 0
    s12 = next(p for name, p in reports.items() if name.startswith("s12"))
    assert "Your instructor (prof) set this exercise to 7 points: oral exam" in s12.read_text()
    dashboard = (out / "dashboard.html").read_text()
    assert "Late and set by hand" in dashboard and "oral exam" in dashboard
    assert dashboard.count('class="badge s-late"') == 2  # s03 and s04 (s05's commit was on time)
    capsys.readouterr()
    assert main([*export, "--term", str(term_class["term"])]) == 0
    assert _canvas(capsys.readouterr().out)["s12@uni.edu"][5] == "7"


def test_a_gradescope_export_is_read_with_its_submitters_and_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "assignment_4242_export"
    good = solution(EX)
    write(export / "submission_101" / f"{EX}.ipynb", good)
    write(export / "submission_102" / f"{EX}.ipynb", starter(EX))
    (export / "submission_metadata.yml").write_text(
        "submission_101:\n"
        "  :submitters:\n"
        "  - :name: Ann Lee\n"
        "    :sid: '9001'\n"
        "    :email: ann@uni.edu\n"
        "  :created_at: 2026-10-01 20:00:00.123456000 +00:00\n"
        "submission_102:\n"
        "  :submitters:\n"
        "  - :name: Ben Ode\n"
        "    :sid: '9002'\n"
        "    :email: ben@uni.edu\n"
        "  :created_at: 2026-10-03 10:00:00.000000000 +00:00\n"
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,aliases\nann,Ann Lee,ann@uni.edu,\nben,Ben Ode,ben@uni.edu,\n")
    term = tmp_path / "term.toml"
    term.write_text(f"[deadlines]\n{EX} = 2026-10-01T23:59:00Z\n[late]\npenalty = 0.1\n")
    out = tmp_path / "graded"
    args = ["batch", str(tmp_path), "--out", str(out), "--roster", str(roster), "--workers", "1"]
    assert main([*args, "--term", str(term)]) == 0
    capsys.readouterr()
    from grader.batch.gradebook import Gradebook

    with Gradebook(out / "gradebook.sqlite") as gb:
        submitted = gb.submitted()
        scores = {e.student: e.score for e in gb.entries()}
    assert scores == {"ann": 10.0, "ben": 0.0}
    assert submitted[("ben", EX)] == ("2026-10-03T10:00:00+00:00", "Gradescope's created_at")
    ben = (out / "students" / "ben" / f"{EX}.html").read_text()
    assert "late (2 days)" in ben

    # Blackboard: Username, the points column named as its Grade Center upload wants them
    assert (
        main(["export", "--format", "blackboard", "--gradebook", str(out / "gradebook.sqlite")])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f'"Last Name","First Name","Username","Student ID","{EX} [Total Pts: 10 Score]"'
    )
    assert lines[1] == '"Lee","Ann","ann","","10"'


def test_overrides_from_a_csv_are_checked_before_any_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs, out = tmp_path / "subs", tmp_path / "graded"
    for who in ("ann", "ben"):
        write(subs / f"{who}_{EX}.ipynb", starter(EX))
    assert main(["batch", str(subs), "--out", str(out), "--workers", "1"]) == 0
    gradebook = str(out / "gradebook.sqlite")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"student,exercise,check,points,why\nann,{EX},,5,viva\nben,{EX},,50,too many\n")
    assert main(["override", "--csv", str(bad), "--gradebook", gradebook]) == 2
    assert "row 3" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(
        f"student,exercise,check,points,why,by\nann,{EX},,5,viva,ta1\nben,{EX},,6,resubmitted,ta2\n"
    )
    assert main(["override", "--csv", str(good), "--gradebook", gradebook]) == 0
    capsys.readouterr()
    assert main(["export", "--gradebook", gradebook]) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (rows["ann"][EX], rows["ben"][EX]) == ("5", "6")
    assert "by ta2" in rows["ben"]["notes"]
    report = json.loads((out / "students" / "ben" / f"{EX}.json").read_text())
    assert any("resubmitted" in n for n in report["notes"])
