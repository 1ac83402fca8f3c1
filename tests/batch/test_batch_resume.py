"""Nothing lost, nothing repeated: kill -9 a batch mid-run, start it again, and get what an
uninterrupted run gets; an unchanged class is not run again; --force runs it all again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from batch_fixtures import ALT_EX01, gradebook_rows, solution, starter, with_functions, write

CLI = str(Path(sys.executable).with_name("cnn-grader"))
OPTS = ["--seed", "7", "--cell-timeout", "10", "--timeout", "60"]


def _class(root: Path) -> Path:
    subs = root / "subs"
    write(subs / "amy_ex01.ipynb", solution("ex01_convolution"))
    write(subs / "ben_ex02.ipynb", starter("ex02_pooling"))
    write(subs / "cat_ex03.ipynb", solution("ex03_parameters"))
    write(subs / "dan_ex01.ipynb", with_functions(starter("ex01_convolution"), ALT_EX01))
    return subs


def _verdicts(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a grading decided, without when it happened or how long it took."""
    out = {}
    for student, r in rows.items():
        result = json.loads(r["result"])
        out[student] = (
            r["exercise"],
            r["status"],
            r["score"],
            r["seed"],
            [(c["id"], c["status"], c["score"], c["message"]) for c in result["checks"]],
        )
    return out


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    subs = _class(tmp_path)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [CLI, "batch", str(subs), "--out", str(killed), "--workers", "1", *OPTS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not gradebook_rows(killed) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()  # type: ignore[union-attr]
    before = gradebook_rows(killed)
    assert 1 <= len(before) < 4, "killed after the first commit, before the last"

    resumed = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(killed), *OPTS],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} unchanged since the last run" in resumed.stderr
    after = gradebook_rows(killed)
    for student in before:  # what was committed before the kill was not run again
        assert after[student]["executions"] == 1
        assert after[student]["graded_at"] == before[student]["graded_at"]

    straight = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(tmp_path / "straight"), *OPTS],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert straight.returncode == 0, straight.stderr
    assert _verdicts(after) == _verdicts(gradebook_rows(tmp_path / "straight"))
    assert (killed / "grades.csv").read_text() == (tmp_path / "straight" / "grades.csv").read_text()


def test_unchanged_class_is_a_cache_hit_and_force_regrades(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs / "amy_ex02.ipynb", solution("ex02_pooling"))
    write(subs / "ben_ex03.ipynb", starter("ex03_parameters"))
    out = tmp_path / "out"
    first = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), *OPTS],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert first.returncode == 0, first.stderr
    graded = gradebook_rows(out)

    again = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out)],  # seed from content
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "2 submissions: 0 unchanged" in again.stderr, "other options, other grading"
    assert all(r["executions"] == 2 for r in gradebook_rows(out).values())

    cached = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out)], capture_output=True, text=True, timeout=240
    )
    assert "2 submissions: 2 unchanged since the last run, 0 to grade" in cached.stderr
    assert "0 graded, 2 unchanged" in cached.stdout
    assert all(r["executions"] == 2 for r in gradebook_rows(out).values()), "nothing ran again"

    forced = subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), "--force"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "2 graded, 0 unchanged" in forced.stdout
    regraded = gradebook_rows(out)
    assert all(r["executions"] == 3 for r in regraded.values())
    assert {s: r["score"] for s, r in regraded.items()} == {
        s: r["score"] for s, r in graded.items()
    }
