"""Submissions that misbehave: the grading still finishes, says what happened, and never blames
the grader (status `error`) for the student's code, nor gives points the code did not earn.

The notebooks are built here from the definitions of the ex02 solution (pure NumPy, ten
one-point checks), with small time limits so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import pytest

from grader import GradeResult
from grader.checks.core import copy_value
from grader.checks.reference import load_reference
from grader.execution.executor import ExecutionRequest, NbclientExecutor
from grader.execution.kernel_types import RunResult
from grader.exercises import get
from grader.models import Limits

EX = "ex02_pooling"
DEFS = helpers.solution_definitions(EX)
FAST = Limits(cell_timeout=2, probe_timeout=2, notebook_timeout=60, startup_timeout=60)
MAX_POOL_CHECKS = {
    "max_pool_2d_default",
    "max_pool_3d_pool3",
    "max_pool_valid_uneven",
    "max_pool_overlap",
    "max_pool_same",
    "max_pool_same_wide",
    "max_pool_same_negative",
    "max_pool_pair",
}
AVG_POOL_CHECKS = {"avg_pool_default", "avg_pool_overlap", "avg_pool_same"}
ALL_CHECKS = MAX_POOL_CHECKS | AVG_POOL_CHECKS | {"global_avg_pool"}

# Wrong answers of the right shape, for notebooks that then try to pass them off as right.
ZEROS = (
    "_sol_max, _sol_avg = max_pool2d, avg_pool2d\n"
    "def max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
    "    return np.zeros_like(_sol_max(x, pool_size, stride, padding))\n"
    "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
    "    return np.zeros_like(_sol_avg(x, pool_size, stride, padding))\n"
    "def global_avg_pool(x):\n"
    "    return np.zeros(np.shape(x)[-1])\n"
)


def grade_cells(tmp_path: Path, *cells: str, **options: Any) -> GradeResult:
    path = helpers.write_notebook(tmp_path, "submission.ipynb", list(cells), EX)
    options.setdefault("limits", FAST)
    result = helpers.grade_nb(path, **options)
    assert result.exercise == EX
    assert "error" not in helpers.statuses(result).values(), helpers.describe(result)
    return result


def passed(result: GradeResult) -> set[str]:
    return {c.id for c in result.checks if c.status.value == "passed"}


def reference_answers(seed: int = helpers.SEED) -> dict[str, list[Any]]:
    """The right answer to every probe call of the exercise, as the grader will compute it."""
    exercise = get(EX)
    reference = load_reference(exercise.solution_path)
    cache: dict[int, Any] = {}
    out = {}
    for call in exercise.calls():
        args, kwargs = call.bind(seed, cache)
        out[call.key()] = np.asarray(
            getattr(reference, call.func)(*copy_value(args), **copy_value(kwargs))
        ).tolist()
    return out


PLANT = (
    "import json, os\n"
    "PLANTED = json.loads({data!r})\n"
    "def plant():\n"
    "    out = os.path.join('.cnn_grader_probe', 'out')\n"
    "    os.makedirs(out, exist_ok=True)\n"
    "    for key, value in PLANTED.items():\n"
    "        np.save(os.path.join(out, key + '__0.npy'), np.array(value))\n"
    "        with open(os.path.join(out, key + '.json'), 'w') as fh:\n"
    "            json.dump({{'key': key, 'name': key.rsplit('_', 1)[0], 'status': 'returned',\n"
    "                       'value': {{'__ndarray__': key + '__0.npy', 'scalar': False}}}}, fh)\n"
)


# -- the notebook itself misbehaves ---------------------------------------------------------


def test_endless_loop_at_top_level_times_out_and_earlier_work_is_graded(tmp_path: Path) -> None:
    result = grade_cells(tmp_path, DEFS, "while True:\n    pass", "x = 1")
    ex = result.execution
    assert ex.status.value == "timeout"
    assert [p.kind for p in ex.problems] == ["timeout"]
    assert ex.cells_executed == 3  # the cell after the loop still ran
    assert result.score == result.max_score, helpers.describe(result)


def test_kernel_killed_by_a_cell_is_restarted_and_earlier_work_is_graded(tmp_path: Path) -> None:
    result = grade_cells(tmp_path, DEFS, "import os\nos._exit(1)")
    ex = result.execution
    assert ex.status.value == "kernel_died"
    assert ex.kernel_restarts >= 1
    assert result.score == result.max_score, helpers.describe(result)


def test_flood_of_output_is_truncated_and_kept_small(tmp_path: Path) -> None:
    runs: list[RunResult] = []

    class Spy(NbclientExecutor):
        def run(self, request: ExecutionRequest) -> RunResult:
            runs.append(super().run(request))
            return runs[-1]

    limits = Limits(cell_timeout=30, probe_timeout=5, max_output_bytes=1_000_000)
    result = grade_cells(
        tmp_path,
        DEFS,
        "for _ in range(50):\n    print('x' * 1_000_000)",
        limits=limits,
        executor=Spy(),
    )
    assert result.execution.output_truncated is True
    assert result.score == result.max_score, helpers.describe(result)
    # What the grader holds of the 50 MB stays within the budget.
    kept = sum(
        len(str(out.get("text", ""))) + len(json.dumps(out.get("data", {})))
        for cell in runs[0].notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert kept <= limits.max_output_bytes + 10_000


# -- a student function misbehaves when the grader calls it ---------------------------------


def test_function_that_never_returns_gets_timeout_others_still_graded(tmp_path: Path) -> None:
    result = grade_cells(tmp_path, DEFS, "def global_avg_pool(x):\n    while True:\n        pass")
    status = helpers.statuses(result)
    assert status["global_avg_pool"] == "timeout"
    assert "did not finish" in helpers.by_id(result)["global_avg_pool"].message
    assert passed(result) == ALL_CHECKS - {"global_avg_pool"}


def test_function_that_kills_the_kernel_fails_others_still_graded(
    make_notebook: Callable[..., Path], grade_nb: Callable[..., GradeResult]
) -> None:
    path = make_notebook(
        [
            DEFS,
            "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
            "    import os\n    os._exit(1)",
        ],
        EX,
    )
    result = grade_nb(path, limits=FAST)
    assert "error" not in helpers.statuses(result).values()
    assert passed(result) == ALL_CHECKS - AVG_POOL_CHECKS, helpers.describe(result)
    for cid in AVG_POOL_CHECKS:
        check = helpers.by_id(result)[cid]
        assert check.status.value == "failed"
        assert "kernel died" in check.message


def test_odd_return_values_fail_with_a_message(tmp_path: Path) -> None:
    result = grade_cells(
        tmp_path,
        DEFS,
        "_sol_avg = avg_pool2d\n"
        "def max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    raise ValueError('pool_size does not fit')\n"
        "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    return _sol_avg(x, pool_size, stride, padding).tolist()  # a list is fine\n"
        "def global_avg_pool(x):\n"
        "    return 'forty-two'\n",
    )
    checks = helpers.by_id(result)
    assert passed(result) == AVG_POOL_CHECKS
    for cid in MAX_POOL_CHECKS:
        assert checks[cid].status.value == "failed"
        assert "raised ValueError: pool_size does not fit" in checks[cid].message
    assert checks["global_avg_pool"].status.value == "failed"
    assert "str" in checks["global_avg_pool"].message


def test_unreadable_return_values_fail_with_a_message(tmp_path: Path) -> None:
    result = grade_cells(
        tmp_path,
        DEFS,
        "_sol_max = max_pool2d\n"
        "def max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    return np.array(_sol_max(x, pool_size, stride, padding), dtype=object)\n"
        "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    return np.empty((9000, 9000))  # 648 MB, never touched\n"
        "def global_avg_pool(x):\n"
        "    return None\n",
    )
    checks = helpers.by_id(result)
    assert passed(result) == set()
    assert set(helpers.statuses(result).values()) == {"failed"}
    for cid in MAX_POOL_CHECKS:
        assert "dtype object" in checks[cid].message
    for cid in AVG_POOL_CHECKS:
        assert "larger than the grader reads" in checks[cid].message
    assert "None" in checks["global_avg_pool"].message


# -- the notebook tries to pass wrong answers off as right ones -----------------------------


def test_patched_numpy_comparisons_only_patch_the_kernel(tmp_path: Path) -> None:
    result = grade_cells(
        tmp_path,
        DEFS,
        ZEROS,
        "np.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_array_equal = lambda *a, **k: None\n",
    )
    assert set(helpers.statuses(result).values()) == {"failed"}, helpers.describe(result)
    assert all("differ from the expected" in c.message for c in result.checks)


def test_open_refused_under_the_probe_folder_yields_unreadable_not_passes(tmp_path: Path) -> None:
    """Right answers planted before grading, then the probe kept from writing its own records:
    the planted files must be gone before the probe runs, and nothing passes."""
    result = grade_cells(
        tmp_path,
        DEFS,
        ZEROS,
        PLANT.format(data=json.dumps(reference_answers())) + "plant()\n",
        "import builtins\n"
        "_real_open = builtins.open\n"
        "def _guarded(file, *args, **kwargs):\n"
        "    if '.cnn_grader_probe' in str(file):\n"
        "        raise PermissionError('not today')\n"
        "    return _real_open(file, *args, **kwargs)\n"
        "builtins.open = _guarded\n",
    )
    assert set(helpers.statuses(result).values()) == {"failed"}, helpers.describe(result)
    assert all("could not be read" in c.message for c in result.checks)


def test_records_planted_during_grading_do_not_count(tmp_path: Path) -> None:
    """The first grading call plants right answers for every call; the calls after it time out,
    are skipped because an earlier call of the same function hung, kill the kernel or never
    run, so the probe never overwrites the planted records."""
    result = grade_cells(
        tmp_path,
        DEFS,
        PLANT.format(data=json.dumps(reference_answers())),
        "_sol_max = max_pool2d\n"
        "_planted = []\n"
        "def max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    if not _planted:\n"
        "        plant()\n"
        "        _planted.append(True)\n"
        "    if padding == 'same':\n"
        "        while True:\n"
        "            pass\n"
        "    return _sol_max(x, pool_size, stride, padding)\n"
        "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    os._exit(1)\n",
        limits=Limits(cell_timeout=5, probe_timeout=1, max_restarts=0),
    )
    status = helpers.statuses(result)
    assert passed(result) == {
        "max_pool_2d_default",
        "max_pool_3d_pool3",
        "max_pool_valid_uneven",
        "max_pool_overlap",
    }, helpers.describe(result)
    assert status["max_pool_same"] == status["max_pool_same_negative"] == "timeout"
    assert status["max_pool_pair"] == "timeout"  # not run: max_pool2d hung before it
    checks = helpers.by_id(result)
    assert "an earlier call of `max_pool2d`" in checks["max_pool_pair"].message
    assert "kernel died" in checks["avg_pool_default"].message
    for cid in ("avg_pool_overlap", "avg_pool_same", "global_avg_pool"):
        assert status[cid] == "failed"
        assert "could not be called" in checks[cid].message


def test_replaced_probe_object_cannot_forge_passes(tmp_path: Path) -> None:
    """A hook swaps the grader's probe for a forger after its setup cell: the forged records
    (an unknown status, or wrong values) fail validation or comparison, never pass."""
    result = grade_cells(
        tmp_path,
        DEFS,
        ZEROS,
        "import json, os\n"
        "class _Forger:\n"
        "    def run(self, key):\n"
        "        status = 'passed' if key.startswith('max_pool2d') else 'returned'\n"
        "        with open(os.path.join('.cnn_grader_probe', 'out', key + '.json'), 'w') as fh:\n"
        "            json.dump({'key': key, 'status': status, 'score': 1.0, 'value': 0}, fh)\n"
        "def _swap(*args):\n"
        "    if not isinstance(globals().get('__cnn_grader_probe__'), _Forger):\n"
        "        globals()['__cnn_grader_probe__'] = _Forger()\n"
        "get_ipython().events.register('post_run_cell', _swap)\n",
    )
    checks = helpers.by_id(result)
    assert set(helpers.statuses(result).values()) == {"failed"}, helpers.describe(result)
    for cid in MAX_POOL_CHECKS:
        assert "could not be read: unknown status 'passed'" in checks[cid].message
    for cid in AVG_POOL_CHECKS:
        assert "expected shape" in checks[cid].message


# -- files that are not notebooks -----------------------------------------------------------

NOT_NOTEBOOKS: dict[str, Callable[[Path], None]] = {
    "not_json": lambda p: p.write_text("def max_pool2d(x):\n    return x\n", encoding="utf-8"),
    "empty": lambda p: p.write_bytes(b""),
    "json_not_notebook": lambda p: p.write_text(json.dumps({"cells": []}), encoding="utf-8"),
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 8),
    "a_folder": lambda p: p.mkdir(),
    "a_fifo": lambda p: os.mkfifo(p),  # reading it would block the grader forever
    # deeper than Python's JSON decoder recurses: must be a verdict, not a RecursionError
    "deeply_nested": lambda p: p.write_text(
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "x": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
        encoding="utf-8",
    ),
}


@pytest.mark.parametrize("kind", sorted(NOT_NOTEBOOKS))
def test_file_that_is_not_a_notebook(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}_{EX}.ipynb"  # the exercise comes from the file name
    NOT_NOTEBOOKS[kind](path)
    result = helpers.grade_nb(path)
    assert result.exercise == EX
    assert result.execution.status.value == "invalid_notebook"
    assert result.execution.message
    assert [c.id for c in result.checks] == [c.id for c in get(EX).checks]
    assert set(helpers.statuses(result).values()) == {"not_attempted"}
    assert result.score == 0


def test_a_notebook_saved_with_a_byte_order_mark_or_mended_ids_is_graded(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    """Windows editors write a UTF-8 BOM; hand-merged notebooks repeat or lose cell ids.
    Jupyter opens both (it mends the ids): so does the grader, quietly."""
    nb = json.loads(helpers.solution_path(EX).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["id"] = "same"
    path = tmp_path / f"bom_{EX}.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(nb).encode("utf-8"))
    result = helpers.grade_nb(path)
    assert result.execution.status.value == "ok", helpers.describe(result)
    assert result.score == result.max_score
    assert not [w for w in recwarn if "cell id" in str(w.message).lower()]


def test_cli_grade_of_non_notebooks_exits_1_and_still_writes_reports(tmp_path: Path) -> None:
    paths = []
    for kind, write in sorted(NOT_NOTEBOOKS.items()):
        paths.append(tmp_path / f"{kind}.ipynb")
        write(paths[-1])
    out = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "grade",
            *map(str, paths),
            "--exercise",
            EX,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    for path in paths:
        doc = json.loads((out / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert doc["execution"]["status"] == "invalid_notebook"
        assert doc["score"] == 0 and doc["max_score"] == get(EX).max_score
        assert {c["status"] for c in doc["checks"]} == {"not_attempted"}
        assert (out / f"{path.stem}.html").read_text(encoding="utf-8").strip()
