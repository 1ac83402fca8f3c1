"""The worker pool: a worker that dies, hangs or raises fails only its own task, once retried.

The workers run `batch_fixtures.fake_grade` instead of the grader, which crashes, hangs or
raises as its task's student is named, so these tests need no kernel.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from batch_fixtures import fake_grade

from grader.batch.pool import Finished, run_tasks
from grader.batch.worker import Task


def _task(key: int, student: str, log: Path, training: bool = False) -> Task:
    return Task(
        key=key,
        student=student,
        exercise="ex01_convolution",
        path="",
        seed=0,
        profile="smoke",
        cell_timeout=None,
        notebook_timeout=None,
        report_dir=str(log),
        report_stem="x",
        training=training,
    )


def _run(
    tasks: list[Task], *, deadline: float = 60, **kw: int
) -> tuple[dict[str, Finished], list[str]]:
    done: dict[str, Finished] = {}
    retried: list[str] = []
    run_tasks(
        tasks,
        workers=kw.get("workers", 2),
        training_workers=kw.get("training", 1),
        deadline_s=lambda t: deadline,
        on_finish=lambda f: done.__setitem__(f.task.student, f),
        on_retry=lambda t, why: retried.append(t.student),
        handler=fake_grade,
    )
    return done, retried


def test_one_dead_or_broken_worker_fails_only_its_own_task(tmp_path: Path) -> None:
    names = ["ok1", "crash", "crash_once", "raise", "ok2", "ok3"]
    done, retried = _run([_task(i, n, tmp_path) for i, n in enumerate(names)])
    assert {n: f.kind for n, f in done.items()} == {
        "ok1": "ok",
        "crash": "failed",
        "crash_once": "ok",
        "raise": "failed",
        "ok2": "ok",
        "ok3": "ok",
    }
    assert sorted(retried) == ["crash", "crash_once", "raise"], "each retried exactly once"
    assert done["crash"].task.attempt == 2 and done["crash_once"].task.attempt == 2
    assert "died (exit code 9)" in done["crash"].payload
    assert "RuntimeError: grader bug" in done["raise"].payload
    assert json.loads(done["crash_once"].payload)["attempt"] == 2


def test_a_hanging_worker_is_killed_at_its_deadline(tmp_path: Path) -> None:
    t0 = time.monotonic()
    done, retried = _run([_task(0, "hang", tmp_path), _task(1, "ok1", tmp_path)], deadline=8)
    assert time.monotonic() - t0 < 30
    assert done["hang"].kind == "failed" and "longer than 8 s" in done["hang"].payload
    assert done["ok1"].kind == "ok" and retried == ["hang"]


def test_training_exercises_have_their_own_limit(tmp_path: Path) -> None:
    tasks = [_task(i, f"t{i}", tmp_path, training=True) for i in range(3)]
    tasks += [_task(10 + i, f"n{i}", tmp_path) for i in range(3)]
    done, _ = _run(tasks, workers=3, training=1)
    assert all(f.kind == "ok" for f in done.values()) and len(done) == 6
    runs = [json.loads((tmp_path / f"{s}.json").read_text()) for s in done]
    training = sorted((r["start"], r["end"]) for r in runs if r["training"])
    assert all(
        a_end <= b_start for (_, a_end), (b_start, _) in zip(training, training[1:], strict=False)
    ), "never two trainings at once"
    assert len({r["pid"] for r in runs}) > 1, "the rest ran beside them"
