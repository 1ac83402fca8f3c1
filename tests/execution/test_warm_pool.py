"""Kernels started ahead (grader.execution.warm): same verdicts as a fresh kernel, one kernel
per submission, nothing of the prelude in the student's namespace, and a spec that differs
gets no warm kernel."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.api import Options, grade
from grader.execution import kernel, kernel_env, warm
from grader.execution.kernel_types import RunResult
from grader.models import CheckStatus, Limits

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pool() -> Iterator[warm.KernelPool]:
    p = warm.KernelPool()
    try:
        yield p
    finally:
        p.close()


def _copy(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    dest.write_bytes(src.read_bytes())
    return dest


def _uid(result: object) -> str:
    notes = " ".join(result.execution.notes)  # type: ignore[attr-defined]
    found = re.search(r"uid (\d+)", notes)
    return found.group(1) if found else ""


def test_a_warm_kernel_grades_as_a_fresh_one_and_serves_one_submission(
    tmp_path: Path, pool: warm.KernelPool
) -> None:
    subs = tmp_path / "subs"
    solution = _copy(
        ROOT / "solutions" / "ex01_convolution.ipynb", subs, "a_ex01_convolution.ipynb"
    )
    starter = _copy(ROOT / "exercises" / "ex01_convolution.ipynb", subs, "b_ex01_convolution.ipynb")
    again = _copy(ROOT / "solutions" / "ex01_convolution.ipynb", subs, "c_ex01_convolution.ipynb")

    first = grade(solution, Options(seed=7, executor=pool))  # no warm kernel yet: a fresh one
    assert pool.hits == 0 and pool.misses == 1
    warmed = [grade(p, Options(seed=7, executor=pool)) for p in (starter, again)]
    assert pool.hits == 2, "the kernels started ahead were not used"
    fresh = [grade(p, Options(seed=7)) for p in (starter, again)]

    for got, want in zip(warmed, fresh, strict=False):
        assert [(c.id, c.status, c.score) for c in got.checks] == [
            (c.id, c.status, c.score) for c in want.checks
        ]
        assert got.execution.status == want.execution.status
        assert any("pre-warmed kernel" in n for n in got.execution.notes)
        assert not any("pre-warmed" in n for n in want.execution.notes)
    assert warmed[0].score == 0 and warmed[1].score == warmed[1].max_score == first.score
    assert all(c.status is CheckStatus.NOT_ATTEMPTED for c in warmed[0].checks)
    uids = {_uid(r) for r in (first, *warmed)}
    assert len(uids) == 3 or uids == {""}, "a kernel (its uid) served two submissions"


def test_a_warm_kernel_for_another_folder_is_destroyed_unused(
    tmp_path: Path, pool: warm.KernelPool
) -> None:
    one = _copy(ROOT / "solutions" / "ex02_pooling.ipynb", tmp_path / "one", "ex02_pooling.ipynb")
    other = _copy(ROOT / "solutions" / "ex02_pooling.ipynb", tmp_path / "two", "ex02_pooling.ipynb")
    grade(one, Options(seed=3, executor=pool))
    started = pool._ready[0].result(timeout=120)  # the kernel started for `one`'s folder
    result = grade(other, Options(seed=3, executor=pool))
    assert pool.hits == 0 and pool.misses == 2
    assert not started.root.exists(), "the unused warm kernel's folder was left behind"
    assert not started.km.has_kernel
    assert result.score == result.max_score


def test_the_prelude_leaves_no_name_and_no_execution_count(tmp_path: Path) -> None:
    limits = Limits(cell_timeout=60, startup_timeout=60)
    env = kernel_env.default_kernel_env()
    spec = warm.KernelSpec.of(
        limits=limits,
        env=env,
        sandbox_env={},
        submission=tmp_path / "x.ipynb",
        launch_prefix=(),
        sandboxed=False,
        prelude=warm.NUMPY_PRELUDE,
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import sys, json\n"
                "names = [n for n in ('numpy', 'np', 'matplotlib', 'plt', '_w') if n in dir()]\n"
                "print(json.dumps({'names': names, 'loaded': 'numpy' in sys.modules}))"
            )
        ]
    )

    async def go() -> RunResult:
        ready = await warm.prestart(spec)
        assert ready.prelude_ok
        return await kernel.run_async(nb, ready.workdir, limits=limits, env=env, warm=ready)

    run = asyncio.run(go())
    assert run.summary.status.value == "ok" and run.summary.kernel_restarts == 0
    cell = run.notebook.cells[0]  # type: ignore[union-attr]
    assert cell.execution_count == 1
    out = json.loads(cell.outputs[0]["text"])
    assert out == {"names": [], "loaded": True}


def test_a_notebook_that_kills_its_warm_kernel_gets_a_fresh_one(
    tmp_path: Path, pool: warm.KernelPool
) -> None:
    subs = tmp_path / "subs"
    good = _copy(ROOT / "solutions" / "ex01_convolution.ipynb", subs, "a_ex01_convolution.ipynb")
    nb = nbformat.read(good, as_version=4)
    nb.cells.insert(
        2,
        nbformat.v4.new_code_cell(
            "import os\nif not os.path.exists('x'):\n    open('x', 'w').close()\n    os._exit(1)"
        ),
    )
    killer = subs / "b_ex01_convolution.ipynb"
    nbformat.write(nb, killer)
    grade(good, Options(seed=5, executor=pool))
    result = grade(killer, Options(seed=5, executor=pool))
    assert pool.hits == 1
    assert result.execution.status.value == "kernel_died"
    assert result.execution.kernel_restarts == 1
    assert result.score == result.max_score  # the cells that worked were replayed


@pytest.mark.parametrize("wait_s", [0.2, 8.0])  # mid-start, and warm and waiting
def test_closing_the_pool_leaves_no_kernel_and_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait_s: float
) -> None:
    import time

    import psutil

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    limits = Limits(startup_timeout=60)
    pool = warm.KernelPool()
    pool._spec = warm.KernelSpec.of(  # as after a first claim
        limits=limits,
        env=kernel_env.default_kernel_env(),
        sandbox_env={},
        submission=tmp_path / "x.ipynb",
        launch_prefix=(),
        sandboxed=False,
        prelude=warm.NUMPY_PRELUDE,
    )
    pool.replenish()
    time.sleep(wait_s)
    pool.close()
    kernels = [
        p for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())
    ]
    assert kernels == []
    assert list(scratch.iterdir()) == []
