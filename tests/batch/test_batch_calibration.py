"""A batch settles calibration once per exercise, before any task starts, and every task
carries it: no worker calibrates. Its rows come from the results documents the workers sent."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from batch_fixtures import solution, write

from grader import calibrate
from grader.batch import BatchOptions, run
from grader.batch.gradebook import Gradebook
from grader.batch.pool import Finished
from grader.batch.worker import Task
from grader.models import (
    BatchOutcome,
    Calibration,
    CheckResult,
    CheckStatus,
    ExecutionStatus,
    ExecutionSummary,
    GradeResult,
)
from grader.reporting import to_json


class Recorder:
    """An executor that grades nothing: it records the tasks and answers each with a results
    document (or a grader failure, for `fail`)."""

    workers = 1

    def __init__(self, events: list[str], fail: set[str]) -> None:
        self.events, self.fail = events, fail
        self.tasks: list[Task] = []

    def run(
        self,
        tasks: Iterable[Task],
        *,
        deadline_s: Callable[[Task], float],
        on_finish: Callable[[Finished], None],
        **_: Any,
    ) -> None:
        self.events.append("run")
        for task in tasks:
            self.tasks.append(task)
            if task.student in self.fail:
                on_finish(Finished(task, "failed", "the worker died", 0.1))
                continue
            result = GradeResult(
                exercise=task.exercise,
                title="T",
                notebook="n.ipynb",
                seed=task.seed,
                profile=task.profile,
                grader_version="0",
                graded_at="now",
                execution=ExecutionSummary(status=ExecutionStatus.OK, duration_s=0.5),
                checks=[
                    CheckResult("c1", CheckStatus.PASSED, 2.0, 2.0),
                    CheckResult("c2", CheckStatus.ERROR, 0.0, 1.0, message="bug"),
                ],
            )
            on_finish(Finished(task, "ok", to_json(result), 0.5))


def test_calibration_is_settled_once_per_exercise_before_the_tasks_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = tmp_path / "subs"
    for name, eid in (
        ("amy_ex01", "ex01_convolution"),
        ("bo_ex01", "ex01_convolution"),
        ("cy_ex02", "ex02_pooling"),
    ):
        write(subs / f"{name}.ipynb", solution(eid))
    events: list[str] = []

    def resolve_all(ids: Iterable[str], profile: str, **_: Any) -> dict[str, Calibration]:
        events.append("calibrate " + " ".join(sorted(set(ids))))
        return {
            i: Calibration(profile=profile, machine="here", reference_seconds=len(i)) for i in ids
        }

    monkeypatch.setattr(calibrate, "resolve_all", resolve_all)
    executor = Recorder(events, fail={"bo"})
    summary = run(
        BatchOptions(
            submissions=subs,
            out=tmp_path / "out",
            profile="smoke",
            executor=executor,
            progress=False,
        ),
        stream=io.StringIO(),
    )
    assert events == ["calibrate ex01_convolution ex02_pooling", "run"]
    for task in executor.tasks:
        assert task.calibration == Calibration(
            profile="smoke", machine="here", reference_seconds=len(task.exercise)
        )
    assert (summary.graded, summary.failed) == (3, 1)
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as gb:
        rows = {e.student: e.row() for e in gb.entries()}
    assert rows["amy"].status is BatchOutcome.OK and rows["amy"].score == 2.0
    assert [(c.id, c.status) for c in rows["amy"].checks] == [
        ("c1", CheckStatus.PASSED),
        ("c2", CheckStatus.ERROR),
    ]
    assert rows["bo"].status is BatchOutcome.GRADER_FAILURE and rows["bo"].checks == ()
    csv = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0].startswith("student,ex01.score,ex01.max,ex01.status,ex01.c1,ex01.c2,")
    assert next(r for r in csv if r.startswith("bo,")).startswith("bo,0,10,grader_failure,")
