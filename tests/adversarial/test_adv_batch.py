"""A class where hostile notebooks sit between good ones: `cnn-grader batch` grades every good
submission correctly, with the default limits, two kernels at a time on a 2-core machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import helpers
import pytest
from adv_cases import DEFS, DISK_FILLER, EX1, EX2, EX3, FORK_BOMB, MEMORY_BOMB, by_name

CLI = str(Path(sys.executable).with_name("cnn-grader"))

GOOD = {  # student -> (exercise, notebook cells)
    "alice": (EX1, [DEFS[EX1]]),
    "bob": (EX2, [DEFS[EX2]]),
    "carol": (EX3, [DEFS[EX3]]),
    "dave": (EX2, [DEFS[EX2], "print('all done')"]),
}
HOSTILE = {  # student -> (exercise, cells, execution status, first problem, score)
    "mallory": (EX2, [DEFS[EX2], MEMORY_BOMB], "kernel_died", "MemoryLimit", 10.0),
    "forky": (EX3, [DEFS[EX3], FORK_BOMB], "kernel_died", "ProcessLimit", 10.0),
    "filler": (EX2, [DEFS[EX2], DISK_FILLER], "kernel_died", "DiskLimit", 10.0),
    "looper": (EX2, by_name("endless_loop_in_function").cells, "ok", None, 9.0),
    "peeker": (EX2, by_name("import_grader").cells, "ok", None, 0.0),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    subs = tmp_path_factory.mktemp("class")
    for student, (ex, cells, *_) in {**GOOD, **HOSTILE}.items():
        helpers.write_notebook(subs, f"{student}_{ex}.ipynb", cells, ex)
    (subs / f"trudy_{EX1}.ipynb").write_text("{ not json", encoding="utf-8")
    out = subs.parent / f"{subs.name}-graded"
    proc = subprocess.run(
        [
            CLI,
            "batch",
            str(subs),
            "--out",
            str(out),
            "--workers",
            "2",
            "--seed",
            "5",
            "--cell-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def report(out: Path, student: str, exercise: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (out / "students" / student / f"{exercise}.json").read_text(encoding="utf-8")
    )
    return data


@pytest.mark.parametrize("student", sorted(GOOD))
def test_every_good_submission_gets_full_marks(graded: Path, student: str) -> None:
    doc = report(graded, student, GOOD[student][0])
    assert doc["score"] == doc["max_score"] == 10.0, doc["checks"]
    assert doc["execution"]["status"] == "ok"  # type: ignore[index]


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_every_hostile_submission_gets_its_status(graded: Path, student: str) -> None:
    exercise, _, status, problem, score = HOSTILE[student]
    doc = report(graded, student, exercise)
    execution: dict[str, Any] = doc["execution"]  # type: ignore[assignment]
    assert execution["status"] == status
    if problem is not None:
        assert execution["problems"][0]["ename"] == problem
    assert doc["score"] == score


def test_a_file_that_is_not_json_is_reported_as_such(graded: Path) -> None:
    doc = report(graded, "trudy", EX1)
    assert doc["execution"]["status"] == "invalid_notebook"  # type: ignore[index]
    assert doc["score"] == 0
