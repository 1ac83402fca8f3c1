"""Joinable extra cells (the probe's calls) run as one cell, and when that cell does not end
well, each runs again alone: what every cell ends with is what it would have ended with alone,
and nothing the joined attempt wrote is kept."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from grader.execution import kernel
from grader.execution.kernel_types import ExtraCell
from grader.models import Limits

LIMITS = Limits(cell_timeout=30, startup_timeout=60, probe_timeout=2)
NOTEBOOK = nbformat.v4.new_notebook(
    cells=[
        nbformat.v4.new_code_cell(
            "import json, os, time\n"
            "runs = []\n"
            "def call(key, what='ok'):\n"
            "    runs.append(key)\n"
            "    if what == 'interrupt':\n"
            "        raise KeyboardInterrupt  # out of its cell, as no probe call lets an error\n"
            "    if what == 'hang':\n"
            "        time.sleep(60)\n"
            "    with open(key + '.json', 'w') as f:\n"
            "        cell = get_ipython().execution_count\n"
            "        json.dump({'key': key, 'runs': runs.count(key), 'cell': cell}, f)\n"
        )
    ]
)


def _extras(workdir: Path, *whats: str) -> list[ExtraCell]:
    return [
        ExtraCell(
            f"k{i}",
            f"call('k{i}', {what!r})",
            timeout=2,
            calls=f"f{i}",
            joinable=True,
            output=workdir / f"k{i}.json",
        )
        for i, what in enumerate(whats)
    ]


def _run(tmp_path: Path, *whats: str) -> tuple[dict[str, str], int, Path]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = kernel.run(NOTEBOOK, workdir, limits=LIMITS, extras=_extras(workdir, *whats))
    statuses = {k: o.status for k, o in result.extras.items()}
    return statuses, result.summary.kernel_restarts, workdir


def test_calls_that_end_well_run_as_one_cell(tmp_path: Path) -> None:
    statuses, restarts, workdir = _run(tmp_path, "ok", "ok", "ok")
    assert statuses == {"k0": "ok", "k1": "ok", "k2": "ok"}
    assert restarts == 0
    records = [json.loads((workdir / f"k{i}.json").read_text()) for i in range(3)]
    assert [r["runs"] for r in records] == [1, 1, 1]
    assert len({r["cell"] for r in records}) == 1  # one cell ran them all


def test_a_call_that_escapes_its_cell_sends_every_call_back_alone(tmp_path: Path) -> None:
    statuses, restarts, workdir = _run(tmp_path, "ok", "interrupt", "ok")
    assert statuses["k0"] == "ok" and statuses["k2"] == "ok"
    assert statuses["k1"] == "error"  # as it ends alone
    assert restarts == 0
    # k0 ran in the joined attempt and again alone; what the attempt wrote was removed first
    # (the record that stays is the lone run's).
    records = [json.loads((workdir / f"k{i}.json").read_text()) for i in (0, 2)]
    assert records[0]["runs"] == 2
    assert records[0]["cell"] != records[1]["cell"]  # alone, each in a cell of its own
    assert not (workdir / "k1.json").exists()


def test_a_hanging_call_times_out_alone_and_the_others_still_count(tmp_path: Path) -> None:
    statuses, _, workdir = _run(tmp_path, "ok", "hang", "ok")
    assert statuses["k0"] == "ok" and statuses["k2"] == "ok"
    assert statuses["k1"] == "timeout"
    assert (workdir / "k2.json").exists()
