"""Batch workers grade on kernels started ahead (grader.execution.warm): the same verdicts as a
grading on a fresh kernel, and the report says which kernel was pre-warmed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from batch_fixtures import ALT_EX01, solution, starter, with_functions, write

from grader.api import Options, grade

CLI = str(Path(sys.executable).with_name("cnn-grader"))


def test_a_flat_class_is_graded_on_prewarmed_kernels_with_unchanged_verdicts(
    tmp_path: Path,
) -> None:
    subs = tmp_path / "subs"
    made = [
        write(subs / "ann_ex01_convolution.ipynb", solution("ex01_convolution")),
        write(subs / "ben_ex01_convolution.ipynb", starter("ex01_convolution")),
        write(
            subs / "cat_ex01_convolution.ipynb",
            with_functions(starter("ex01_convolution"), ALT_EX01),
        ),
        write(subs / "dan_ex01_convolution.ipynb", solution("ex01_convolution")),
    ]
    out = tmp_path / "out"
    proc = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), "--seed", "5", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    reports = {
        p.parent.name: json.loads(p.read_text())
        for p in out.glob("students/*/ex01_convolution.json")
    }
    assert sorted(reports) == ["ann", "ben", "cat", "dan"]
    warmed = [
        s
        for s, doc in reports.items()
        if any("pre-warmed kernel" in n for n in doc["execution"].get("notes", []))
    ]
    assert warmed, "no submission was graded on a kernel started ahead"
    assert len(warmed) < 4, "the first kernel of a worker cannot have been started ahead"
    for path in made:
        student = path.name.split("_")[0]
        fresh = grade(path, Options(seed=5, exercise="ex01_convolution"))
        got = reports[student]
        assert [(c["id"], c["status"], c["score"]) for c in got["checks"]] == [
            (c.id, c.status.value, c.score) for c in fresh.checks
        ], student
