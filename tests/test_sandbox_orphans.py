"""A grading process killed with -9 leaves its kernels' cgroups behind (and whatever still
runs in them): the next grader process on the machine sweeps them, and only them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.execution.sandbox import cgroups

MAKE = (
    "import sys, subprocess\n"
    "from grader.execution.sandbox import cgroups\n"
    "cg = cgroups.create(64 * 2**20, 64)\n"
    "child = subprocess.Popen(['sleep', '300'], stdout=subprocess.DEVNULL,\n"
    "                         stderr=subprocess.DEVNULL)\n"
    "for d in cg.dirs:\n"
    "    (d / 'cgroup.procs').write_text(str(child.pid))\n"
    "print(cg.memory, child.pid, flush=True)\n"
    "import os; os._exit(0)\n"
)


def test_groups_of_dead_owners_are_swept_with_their_processes() -> None:
    mine = cgroups.create(64 * 2**20, 64)
    if mine is None:
        pytest.skip("no writable cgroups on this machine")
    try:
        out = subprocess.run(
            [sys.executable, "-c", MAKE], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
        orphan, pid = Path(out[0]), int(out[1])
        assert orphan.is_dir() and Path(f"/proc/{pid}").exists()
        assert cgroups.sweep_orphans() >= 1
        assert not orphan.exists(), "the dead owner's group is gone"
        assert mine.memory.is_dir(), "a live owner's group stays"
        for _ in range(100):  # the orphan's process was killed
            if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)
    finally:
        mine.remove()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
