"""A class laid out one folder per student (as `gh classroom clone` leaves it): no student's
kernel sees another student's folder, whatever path it tries.

The class sits in a folder no kernel has hidden for other reasons (not /tmp, which every
kernel gets a private one of, nor the course or a home folder), so only the batch's own
hiding stands between the two students.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from adv_cases import DEFS, EX2

CLI = str(Path(sys.executable).with_name("cnn-grader"))
PEEK = """
import glob, os
_seen = [p for p in ({bob!r}, '../bob', '../../class/bob') if os.path.exists(p)]
_seen += glob.glob('/**/bob/*.ipynb', recursive=False) + glob.glob({pattern!r})
if _seen:  # what a kernel that can see its classmates does: its work is lost
    del max_pool2d
print('seen:', _seen)
"""


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    base = Path("/opt")
    if not os.access(base, os.W_OK):
        pytest.skip("no writable folder outside /tmp and the course to put a class in")
    folder = Path(tempfile.mkdtemp(prefix="cnn-grader-class-", dir=base))
    folder.chmod(0o755)  # as a shared class folder is: anyone may read it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_student_folder_is_hidden_from_every_other_students_kernel(outside_tmp: Path) -> None:
    subs = outside_tmp / "class"
    bob = subs / "bob"
    bob.mkdir(parents=True)
    helpers.write_notebook(bob, f"{EX2}.ipynb", [DEFS[EX2]], EX2)
    (subs / "alice").mkdir()
    for path in (subs, bob, bob / f"{EX2}.ipynb"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    peek = PEEK.format(bob=str(bob / f"{EX2}.ipynb"), pattern=str(subs / "*" / "*.ipynb"))
    helpers.write_notebook(subs / "alice", f"{EX2}.ipynb", [DEFS[EX2], peek], EX2)
    out = outside_tmp / "graded"
    proc = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), "--seed", "3", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for student in ("alice", "bob"):
        report = json.loads((out / "students" / student / f"{EX2}.json").read_text())
        assert report["score"] == report["max_score"], (student, report["checks"])
