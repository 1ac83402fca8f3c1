"""What the machine (or the container) the grader runs in allows, against what an exercise needs.

A platform runs the grader under limits of its own: Gradescope's default container has 768 MB of
memory and half a CPU; a CI runner or a Kubernetes pod has its cgroup's. The grader and the
notebook's kernel share that memory. A training exercise that does not fit would end in a
killed kernel, which reads as a student's failure; it must be an error for the instructor
instead, saying what to raise and to how much, before the notebook runs.

- `container()` reads the limits: cgroup v2 (`memory.max`, `cpu.max`, from this process's group
  up to the root of the hierarchy it sees), cgroup v1 (`memory.limit_in_bytes`,
  `cpu.cfs_quota_us` / `cpu.cfs_period_us`), the machine's memory (`/proc/meminfo`), and
  `CNN_GRADER_MEMORY_LIMIT` where the platform states a limit the grader cannot read ("768M").
  The tightest wins.
- `need(...)`: the reference solution's peak kernel memory (measured at calibration, grader.
  calibrate) plus a margin, plus the grader's own share (TensorFlow in the grader for a
  training exercise, which evaluates the model).
- `fit(...)`: ResourcesTooSmall when the need is over the limit; else the kernel's memory cap
  lowered to what the container leaves after the grader's share.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from grader.errors import ConfigurationError
from grader.models import Limits

MEMORY_ENV = "CNN_GRADER_MEMORY_LIMIT"
MARGIN = 1.2  # on the reference's peak: a student's notebook is rarely as lean
GRADER_SHARE_TRAINING = 640 * 2**20  # the grader process with TensorFlow loaded
GRADER_SHARE_NUMPY = 160 * 2**20
_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a number near 2^63


class ResourcesTooSmall(ConfigurationError):
    """The container cannot hold the exercise's grading: the instructor raises a limit."""


@dataclass(frozen=True)
class Resources:
    memory_bytes: int | None  # None: no limit found
    cpus: float | None
    source: str  # where the memory limit came from

    def describe(self) -> str:
        memory = format_size(self.memory_bytes) if self.memory_bytes else "no memory limit"
        cpus = f"{self.cpus:g} CPU" if self.cpus else "no CPU limit"
        return f"{memory} ({self.source}), {cpus}"


def format_size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.2f}".rstrip("0").rstrip(".") + " GiB"
    return f"{math.ceil(n / 2**20)} MiB"


def parse_size(text: str) -> int:
    """Bytes from "768M", "1.5G", "805306368" (K, M, G, T: powers of 1024; MB as M)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise ConfigurationError(f"{MEMORY_ENV}={text!r}: expected a size such as 768M or 2G")
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * 1024**power)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _own_groups(proc: Path) -> dict[str, str]:
    """controller (or "" for v2) → this process's group path."""
    out: dict[str, str] = {}
    for line in (_read(proc / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                out[controller] = parts[2]
    return out


def _upwards(base: Path, group: str) -> list[Path]:
    """The group's folder and every parent up to `base` (a container sees its own root)."""
    folder = base / group.lstrip("/")
    out = []
    while True:
        out.append(folder)
        if folder == base or base not in folder.parents:
            break
        folder = folder.parent
    return out


def _v2(root: Path, group: str) -> tuple[int | None, float | None]:
    memory: int | None = None
    cpus: float | None = None
    for folder in _upwards(root, group):
        text = _read(folder / "memory.max")
        if text and text != "max" and text.isdigit():
            memory = min(memory or _UNLIMITED, int(text))
        quota = (_read(folder / "cpu.max") or "").split()
        if len(quota) == 2 and quota[0] != "max" and quota[1].isdigit() and int(quota[1]) > 0:
            value = int(quota[0]) / int(quota[1])
            cpus = min(cpus or float("inf"), value)
    return memory, cpus


def _v1(root: Path, groups: dict[str, str]) -> tuple[int | None, float | None]:
    memory: int | None = None
    cpus: float | None = None
    mem_root = root / "memory"
    for folder in _upwards(mem_root, groups.get("memory", "/")):
        text = _read(folder / "memory.limit_in_bytes")
        if text and text.isdigit() and int(text) < _UNLIMITED:
            memory = min(memory or _UNLIMITED, int(text))
    for name in ("cpu,cpuacct", "cpu"):
        cpu_root = root / name
        if not cpu_root.is_dir():
            continue
        for folder in _upwards(cpu_root, groups.get("cpu", "/")):
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
            if (
                quota
                and period
                and quota.lstrip("-").isdigit()
                and period.isdigit()
                and int(quota) > 0
                and int(period) > 0
            ):
                cpus = min(cpus or float("inf"), int(quota) / int(period))
        break
    return memory, cpus


def _machine_memory(proc_root: Path) -> int | None:
    for line in (_read(proc_root / "meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def container(
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    proc: Path = Path("/proc/self"),
    proc_root: Path = Path("/proc"),
) -> Resources:
    """The limits this process runs under (the tightest of cgroup v2 or v1, the machine's
    memory and MEMORY_ENV)."""
    groups = _own_groups(proc)
    if (cgroup_root / "cgroup.controllers").exists():
        memory, cpus = _v2(cgroup_root, groups.get("", "/"))
        how = "cgroup v2"
    else:
        memory, cpus = _v1(cgroup_root, groups)
        how = "cgroup v1"
    source = how if memory else "no cgroup limit"
    machine = _machine_memory(proc_root)
    if machine and (memory is None or machine < memory):
        memory, source = machine, "the machine's memory"
    stated = os.environ.get(MEMORY_ENV)
    if stated:
        value = parse_size(stated)
        if memory is None or value < memory:
            memory, source = value, MEMORY_ENV
    return Resources(memory, cpus, source)


def grader_share(training: bool) -> int:
    return GRADER_SHARE_TRAINING if training else GRADER_SHARE_NUMPY


def need(reference_peak: int | None, *, training: bool) -> int | None:
    """The memory grading needs: the reference's kernel peak with a margin, and the grader's
    own share; None where the peak was never measured (nothing to hold the container to)."""
    if not reference_peak:
        return None
    return int(reference_peak * MARGIN) + grader_share(training)


def fit(
    limits: Limits,
    resources: Resources,
    *,
    exercise: str,
    reference_peak: int | None,
    training: bool,
) -> tuple[Limits, list[str]]:
    """The kernel's limits within the container, and the report's note on them; raises
    ResourcesTooSmall when the exercise's measured need does not fit."""
    if resources.memory_bytes is None:
        return limits, []
    wanted = need(reference_peak, training=training)
    if wanted is not None and wanted > resources.memory_bytes:
        raise ResourcesTooSmall(
            f"{exercise} needs about {format_size(wanted)} of memory to grade (its reference "
            f"solution's kernel used {format_size(int(reference_peak or 0))} at calibration, "
            f"plus {round((MARGIN - 1) * 100)}% and {format_size(grader_share(training))} for "
            f"the grader), and this container allows {format_size(resources.memory_bytes)} "
            f"({resources.source}). Raise its memory limit to at least "
            f"{format_size(_round_up(wanted))} (Gradescope: the assignment's autograder "
            "settings; a CI job: its runner or container) and grade again. Nothing was graded."
        )
    room = resources.memory_bytes - grader_share(training)
    if room < limits.memory_bytes:
        return (
            replace(limits, memory_bytes=max(room, 64 * 2**20)),
            [
                f"kernel memory capped at {format_size(max(room, 64 * 2**20))}: the "
                f"container allows {format_size(resources.memory_bytes)} "
                f"({resources.source}), less the grader's share"
            ],
        )
    return limits, []


def _round_up(n: int) -> int:
    """To the next 256 MiB: a limit a person would type."""
    step = 256 * 2**20
    return -(-n // step) * step
