"""The pipeline without a kernel: a fake executor (Options(executor=...)) replays evidence.

The fake implements the execution seam (`grader.execution.executor.NotebookExecutor`) and does
what the kernel would: it lets the grader write the hidden inputs, then runs the real probe
(`grader.probe.kernel_side.Probe`, in this process) against the reference functions, so the
records are genuine. Tests then tamper with those records as a hostile
notebook could, and check that nothing unreadable ever passes or becomes a grader `error`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import pytest

from grader import GradeResult, Options, calibrate, grade, profiles
from grader.checks.reference import load_reference
from grader.execution import kernel
from grader.execution.executor import ExecutionRequest, NotebookExecutor
from grader.execution.kernel_types import ExtraOutcome, RunResult
from grader.exercises import get
from grader.models import Calibration, ExecutionStatus, ExecutionSummary
from grader.probe import plan
from grader.probe.kernel_side import Probe

EX = "ex02_pooling"
Tamper = Callable[[Path, str], None]
MISSING = object()  # an override that removes the name, as if the student never defined it


class ReplayExecutor:
    """Stands in for the nbclient executor: no kernel, the reference functions answer every
    call."""

    def __init__(
        self,
        *,
        overrides: dict[str, Any] | None = None,
        tamper: Tamper | None = None,
        outcomes: dict[str, str] | None = None,
    ) -> None:
        self.overrides = overrides or {}
        self.tamper = tamper
        self.outcomes = outcomes or {}  # call name -> how its probe cell ended
        self.calls = 0

    def run(self, request: ExecutionRequest) -> RunResult:
        self.calls += 1
        assert request.before_extras is not None
        request.before_extras()
        probe_dir = request.workdir / plan.PROBE_DIRNAME
        namespace = dict(vars(load_reference(helpers.solution_path(EX))))
        namespace.update(self.overrides)
        namespace = {k: v for k, v in namespace.items() if v is not MISSING}
        probe = Probe(namespace, str(probe_dir))
        outcomes = {}
        for extra in request.extras:
            if extra.setup:
                continue
            name = probe.calls[extra.key]["name"]
            status = self.outcomes.get(name, "ok")
            if status == "ok":
                probe.run(extra.key)
                if self.tamper is not None:
                    self.tamper(probe_dir / "out", extra.key)
            outcomes[extra.key] = ExtraOutcome(extra.key, status)
        summary = ExecutionSummary(
            status=ExecutionStatus.OK, duration_s=0.0, cells_total=1, cells_executed=1
        )
        return RunResult(summary, outcomes, request.nb)


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a real kernel fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(kernel, "run", refuse)
    monkeypatch.setattr(kernel, "run_async", refuse)


def replay(executor: NotebookExecutor) -> GradeResult:
    return grade(helpers.solution_path(EX), Options(seed=helpers.SEED, executor=executor))


def test_replayed_reference_gets_full_marks_without_a_kernel(no_kernel: None) -> None:
    replay(ReplayExecutor())  # warm the caches (reference module, imports)
    executor = ReplayExecutor()
    result = replay(executor)
    assert executor.calls == 1  # the no_kernel fixture guarantees no real kernel was started
    assert result.score == result.max_score, helpers.describe(result)


def test_calibration_is_settled_before_the_kernel_starts(
    no_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    resolve = calibrate.resolve

    def recording(exercise: Any, profile: str, **kw: Any) -> Calibration:
        events.append(f"calibrate {exercise.id}")
        return resolve(exercise, profile, **kw)

    class Recording(ReplayExecutor):
        def run(self, request: ExecutionRequest) -> RunResult:
            events.append("kernel")
            return super().run(request)

    monkeypatch.setattr(calibrate, "resolve", recording)
    replay(Recording())
    assert events == [f"calibrate {EX}", "kernel"]


def test_a_calibration_settled_ahead_is_used_as_it_is(
    no_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a batch does: resolved once, carried to every grading on this kind of machine."""
    settled = calibrate.resolve(get(EX), profiles.resolve(None))
    monkeypatch.setattr(calibrate, "resolve", lambda *a, **k: pytest.fail("resolved again"))
    result = grade(
        helpers.solution_path(EX),
        Options(seed=helpers.SEED, calibration=settled, executor=ReplayExecutor()),
    )
    assert result.score == result.max_score, helpers.describe(result)


def test_probe_outcomes_map_to_statuses(no_kernel: None) -> None:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("division by zero in my loop")

    executor = ReplayExecutor(
        overrides={"global_avg_pool": stub, "avg_pool2d": broken, "max_pool2d": 3}
    )
    result = replay(executor)
    status = helpers.statuses(result)
    assert status["global_avg_pool"] == "not_attempted"
    assert "NotImplementedError" in helpers.by_id(result)["global_avg_pool"].message
    assert {status[c] for c in status if c.startswith("avg_pool")} == {"failed"}
    assert (
        "raised ZeroDivisionError: division by zero in my loop"
        in helpers.by_id(result)["avg_pool_overlap"].message
    )
    assert "not a function" in helpers.by_id(result)["max_pool_pair"].message
    assert {status[c] for c in status if c.startswith("max_pool")} == {"failed"}

    result = replay(
        ReplayExecutor(
            outcomes={
                "global_avg_pool": "timeout",
                "avg_pool2d": "kernel_died",
                "max_pool2d": "not_run",
            }
        )
    )
    checks = helpers.by_id(result)
    assert checks["global_avg_pool"].status.value == "timeout"
    assert "kernel died" in checks["avg_pool_same"].message
    assert "could not be called" in checks["max_pool_pair"].message
    assert result.score == 0


def test_a_missing_name_is_not_attempted(no_kernel: None) -> None:
    check = helpers.by_id(replay(ReplayExecutor(overrides={"global_avg_pool": MISSING})))[
        "global_avg_pool"
    ]
    assert check.status.value == "not_attempted"
    assert "not defined" in check.message


# -- records a hostile kernel could leave behind -------------------------------------------


def _record(out: Path, key: str) -> dict[str, Any]:
    return json.loads((out / f"{key}.json").read_text(encoding="utf-8"))


def _write(out: Path, key: str, record: Any) -> None:
    (out / f"{key}.json").write_text(json.dumps(record), encoding="utf-8")


def _set_value(value: Any) -> Tamper:
    def tamper(out: Path, key: str) -> None:
        record = _record(out, key)
        record["value"] = value
        _write(out, key, record)

    return tamper


def _replace_array(make: Callable[[Path], None]) -> Tamper:
    """Overwrite the array file the genuine record points to."""

    def tamper(out: Path, key: str) -> None:
        make(out / _record(out, key)["value"]["__ndarray__"])

    return tamper


def _pickled(path: Path) -> None:
    path.unlink()
    with open(path, "wb") as fh:
        np.save(fh, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)


def _symlinked(path: Path) -> None:
    target = path.with_name("elsewhere.npy")
    path.rename(target)
    os.symlink(target, path)


TAMPERS: dict[str, Tamper] = {
    "bad_json": lambda out, key: (out / f"{key}.json").write_text("{not json", encoding="utf-8"),
    "not_an_object": lambda out, key: _write(out, key, [1, 2, 3]),
    "key_of_another_call": lambda out, key: _write(
        out, key, {**_record(out, key), "key": key + "x"}
    ),
    "unknown_status": lambda out, key: _write(
        out, key, {**_record(out, key), "status": "passed", "score": 1}
    ),
    "no_record": lambda out, key: (out / f"{key}.json").unlink(),
    "huge_record": lambda out, key: (out / f"{key}.json").write_text(
        json.dumps({**_record(out, key), "pad": "x" * 2_500_000}), encoding="utf-8"
    ),
    "path_traversal": _set_value({"__ndarray__": "../../etc/passwd"}),
    "absolute_path": _set_value({"__ndarray__": "/etc/passwd.npy"}),
    "other_suffix": _set_value({"__ndarray__": "calls.json"}),
    "keras_traversal": _set_value({"__keras__": "../in/model.keras"}),
    "deep_nesting": _set_value(json.loads("[" * 40 + "]" * 40)),
    "bad_float_marker": _set_value({"__float__": "__import__('os')"}),
    "bad_int_marker": _set_value({"__bigint__": "9" * 1000}),
    "unknown_marker": _set_value({"__reduce__": ["os.system", ["true"]]}),
    "pickled_array": _replace_array(_pickled),
    "structured_array": _replace_array(
        lambda p: np.save(p, np.zeros(3, dtype=[("a", "f8")]), allow_pickle=False)
    ),
    "string_array": _replace_array(lambda p: np.save(p, np.array(["1.0", "2.0"]))),
    "not_npy": _replace_array(lambda p: p.write_bytes(b"\x93NUMPY garbage")),
    "symlinked_array": _replace_array(_symlinked),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampered_records_fail_as_unreadable(name: str, no_kernel: None) -> None:
    result = replay(ReplayExecutor(tamper=TAMPERS[name]))
    assert {c.status.value for c in result.checks} == {"failed"}, helpers.describe(result)
    for check in result.checks:
        assert "could not be read" in check.message, check.message
        assert check.score == 0
    assert result.score == 0


def test_records_of_one_call_only_affect_its_checks(no_kernel: None) -> None:
    def only_global(out: Path, key: str) -> None:
        if key.startswith("global_avg_pool"):
            TAMPERS["path_traversal"](out, key)

    result = replay(ReplayExecutor(tamper=only_global))
    assert helpers.not_passed(result) == {"global_avg_pool"}


def test_without_the_scan_the_students_view_is_the_same(tmp_path: Path, no_kernel: None) -> None:
    """Options(scan=False) (`check`, `grade --view student`) skips the integrity scan, which only
    the instructor's view shows: what a student's view says is the same, word for word."""
    nb = json.loads(helpers.solution_path(EX).read_text(encoding="utf-8"))
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "import gc\nseen = gc.get_objects()\ntext = open('../secret').read()",
        }
    )
    path = tmp_path / f"{EX}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    views = []
    for scan in (True, False):
        options = Options(seed=helpers.SEED, executor=ReplayExecutor(), scan=scan, sandbox=False)
        result = grade(path, options)  # no sandbox: its notes could differ from run to run
        assert bool(result.integrity) is scan
        doc = result.student_view().to_dict()
        for timed in (doc, doc["execution"], *doc["checks"]):  # the clock's, not the grading's
            timed.pop("duration_s", None)
        views.append({k: v for k, v in doc.items() if k != "graded_at"})
    assert views[0] == views[1]
