"""`cnn-grader batch` end to end, on a small class in every layout with the usual accidents.

One run (module fixture, ~15 s on 2 cores) grades ten submissions: nbgrader layout, flat files,
a zip holding both (and a member that tries to escape), a file that is not JSON, an endless
loop, a notebook that ends its own kernel, a renamed copy of another student's code and a
student name that is HTML. The tests read what that run left behind. (Workers that die or hang
are test_batch_pool's business: here the sandbox keeps kernels from touching their worker.)
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest
from batch_fixtures import (
    ALT_EX01,
    INFINITE_LOOP,
    KILL_KERNEL,
    appended,
    renamed,
    solution,
    starter,
    with_functions,
    write,
    zip_of,
)

CLI = str(Path(sys.executable).with_name("cnn-grader"))
HOSTILE = "<b>mal<script>"
FAST = ["--cell-timeout", "3", "--timeout", "20", "--seed", "11", "--workers", "2"]


def batch(subs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), *FAST, *extra],
        capture_output=True,
        text=True,
        timeout=240,
    )


def rows(out: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {r["student"]: dict(r) for r in db.execute("SELECT * FROM submissions")}
    finally:
        db.close()


def _make_class(subs: Path) -> None:
    write(
        subs / "submitted/alice/ex01_convolution/ex01_convolution.ipynb",
        solution("ex01_convolution"),
    )
    write(subs / "submitted/bob/ex02/ex02_pooling.ipynb", starter("ex02_pooling"))
    write(subs / "carol_ex01.ipynb", with_functions(starter("ex01_convolution"), ALT_EX01))
    write(subs / "dave_ex01.ipynb", with_functions(starter("ex01_convolution"), renamed(ALT_EX01)))
    write(subs / "erin_ex02_pooling.ipynb", "{ this is not json")
    write(subs / "frank_ex01.ipynb", appended(solution("ex01_convolution"), INFINITE_LOOP))
    write(subs / "ivan_ex03.ipynb", appended(solution("ex03_parameters"), KILL_KERNEL))
    write(subs / f"{HOSTILE}_ex03.ipynb", solution("ex03_parameters"))
    zip_of(
        subs / "late.zip",
        {
            "submitted/gina/ex03_parameters/ex03_parameters.ipynb": json.dumps(
                solution("ex03_parameters")
            ),
            "harry_ex02.ipynb": json.dumps(solution("ex02_pooling")),
            "../escaped_ex01.ipynb": json.dumps(solution("ex01_convolution")),
        },
    )


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The class, graded once per test session: under xdist, the workers share one run
    through a lock (pytest-xdist's recipe for once-only fixtures), and no test changes it."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "batch-class"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "proc.json").exists():
            _make_class(root / "subs")
            proc = batch(root / "subs", root / "graded")
            (root / "proc.json").write_text(
                json.dumps(
                    {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
                )
            )
    out = root / "graded"
    return {
        "root": root,
        "subs": root / "subs",
        "out": out,
        "proc": SimpleNamespace(**json.loads((root / "proc.json").read_text())),
        "rows": rows(out),
        "csv": (out / "grades.csv").read_text(),
        "html": (out / "dashboard.html").read_text(),
    }


def test_each_submission_gets_its_own_fate(klass: dict[str, Any]) -> None:
    got = {s: (r["exercise"], r["status"], r["score"]) for s, r in klass["rows"].items()}
    assert got == {
        "alice": ("ex01_convolution", "ok", 10.0),
        "bob": ("ex02_pooling", "ok", 0.0),
        "carol": ("ex01_convolution", "ok", 10.0),
        "dave": ("ex01_convolution", "ok", 10.0),
        "erin": ("ex02_pooling", "invalid_notebook", 0.0),
        "frank": ("ex01_convolution", "timeout", 10.0),  # the loop ran last; all else counted
        "gina": ("ex03_parameters", "ok", 10.0),
        "harry": ("ex02_pooling", "ok", 10.0),
        "ivan": ("ex03_parameters", "kernel_died", 10.0),  # its last cell ends the kernel
        HOSTILE: ("ex03_parameters", "ok", 10.0),
    }, klass["proc"].stderr


def test_a_hostile_notebook_costs_only_its_own_grade(klass: dict[str, Any]) -> None:
    assert klass["proc"].returncode == 0, "no grader failure: every submission got a report"
    frank, ivan = klass["rows"]["frank"], klass["rows"]["ivan"]
    assert frank["attempts"] == 1 and ivan["attempts"] == 1
    assert "timed out" in json.loads(frank["result"])["execution"]["problems"][0]["evalue"]


def test_progress_is_plain_lines_in_a_log(klass: dict[str, Any]) -> None:
    err = klass["proc"].stderr
    assert "\r" not in err
    assert re.search(r"^\[10/10\] \S+ ex0\d_\w+: .*\(ETA 0:00\)$", err, re.M), err
    assert "late.zip: skipped '../escaped_ex01.ipynb'" in err


def test_the_escaping_zip_member_went_nowhere(klass: dict[str, Any]) -> None:
    assert not list(klass["root"].rglob("escaped_ex01.ipynb"))


def test_reports_are_written_per_student(klass: dict[str, Any]) -> None:
    out = klass["out"]
    for student, row in klass["rows"].items():
        if row["status"] == "error":
            assert row["report"] is None
            continue
        html = out / row["report"]
        assert html.is_file() and html.with_suffix(".json").is_file(), student
        assert json.loads(html.with_suffix(".json").read_text())["score"] == row["score"]
    assert not list(out.rglob(".partial-*")), "no half-written report folders left"


def test_csv_has_every_student_and_the_similarity_flag(klass: dict[str, Any]) -> None:
    lines = klass["csv"].splitlines()
    students = [ln.split(",", 1)[0] for ln in lines[1:]]
    assert sorted(students) == sorted(klass["rows"])
    carol = next(ln for ln in lines if ln.startswith("carol,"))
    assert carol.endswith(",ex01: dave (1.00)")
    alice = next(ln for ln in lines if ln.startswith("alice,"))
    assert "frank" in alice.rsplit(",", 1)[1] and "carol" not in alice.rsplit(",", 1)[1]


def test_similarity_pairs_are_the_copies_and_only_them(klass: dict[str, Any]) -> None:
    db = sqlite3.connect(klass["out"] / "gradebook.sqlite")
    pairs = {(a, b) for a, b in db.execute("SELECT student_a, student_b FROM similarity")}
    db.close()
    # carol/dave: a renamed copy. The others all handed in the official solution (frank and
    # ivan with one hostile cell more), which is the same code too.
    assert pairs == {
        ("carol", "dave"),
        ("alice", "frank"),
        (HOSTILE, "gina"),
        (HOSTILE, "ivan"),
        ("gina", "ivan"),
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k in ("href", "src") and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_dashboard_lists_everyone_links_reports_and_stays_offline(klass: dict[str, Any]) -> None:
    html = klass["html"]
    parser = _Links()
    parser.feed(html)
    text = " ".join(parser.text)
    for student in klass["rows"]:
        assert student in text
    assert "<script" not in html.lower() and "&lt;b&gt;mal&lt;script&gt;" in html
    reports = [h for h in parser.hrefs if not h.startswith("#")]
    assert reports and all("//" not in h for h in reports)
    for href in reports:  # relative links that resolve to the files next to the dashboard
        assert (klass["out"] / unquote(href)).is_file(), href
    similar = html.split('id="similarity"')[1].split("</section>")[0]
    assert re.search(
        r">carol</a></td>\s*<td><a [^>]*>dave</a></td>\s*<td class=\"num\">1.00<", similar
    )
    assert "bob" not in similar and "harry" not in similar
    problems = html.split('id="problems"')[1].split("</section>")[0]
    for student in ("erin", "frank", "ivan"):
        assert student in problems


def test_rerun_executes_only_what_changed(klass: dict[str, Any], tmp_path: Path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "graded"  # a copy: the class stays as graded
    shutil.copytree(klass["subs"], subs)
    shutil.copytree(klass["out"], out)
    write(subs / "bob_late_ex02.ipynb", "")  # bob hands in a newer (empty) ex02
    proc = batch(subs, out)
    after = rows(out)
    executed = {s for s in after if after[s]["executions"] > klass["rows"][s]["executions"]}
    assert executed == {"bob"}, proc.stderr
    assert after["bob"]["status"] == "invalid_notebook"
    assert after["alice"]["graded_at"] == klass["rows"]["alice"]["graded_at"]
    assert "10 submissions: 9 unchanged since the last run, 1 to grade" in proc.stderr
