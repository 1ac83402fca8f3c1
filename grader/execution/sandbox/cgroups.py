"""Per-kernel control groups: a memory limit the Linux kernel enforces, and a cap on tasks.

A cgroup counts every process the notebook starts, however it detaches, and its memory limit
is enforced at allocation time (the OOM killer acts inside the group only, never on a random
process of the machine). The grader creates one group per kernel under its own group, on
cgroup v2 where the memory controller is delegated to it, else on cgroup v1 (memory and pids
hierarchies). Containers usually mount /sys/fs/cgroup read-only: then `create` returns None
and the watchdog's polling is the only memory limit.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "cnn-grader-"


def _mounts() -> dict[str, Path]:
    """Mount points by controller: "unified" for cgroup v2, controller names for v1."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        pre, _, post = line.partition(" - ")
        fields, post_fields = pre.split(), post.split()
        if len(fields) < 5 or len(post_fields) < 3:
            continue
        mount_point, fstype, options = Path(fields[4]), post_fields[0], post_fields[2]
        if fstype == "cgroup2":
            found.setdefault("unified", mount_point)
        elif fstype == "cgroup":
            for opt in options.split(","):
                if opt in ("memory", "pids"):
                    found.setdefault(opt, mount_point)
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller ("unified" for the v2 line)."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            out["unified"] = path
        for c in controllers.split(","):
            if c in ("memory", "pids"):
                out[c] = path
    return out


def _write(path: Path, value: str) -> None:
    path.write_text(value)


@dataclass
class KernelCgroups:
    """The group(s) of one kernel. `dirs` are what the launcher joins."""

    version: int
    memory: Path
    pids: Path | None

    @property
    def dirs(self) -> list[Path]:
        return [self.memory] + ([self.pids] if self.pids and self.pids != self.memory else [])

    def procs(self) -> set[int]:
        pids: set[int] = set()
        for d in self.dirs:
            try:
                pids.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return pids

    def oom_kills(self) -> int:
        """How many times the memory limit made the Linux kernel kill a process here."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def peak(self) -> int | None:
        """The most memory the group has used (the Linux kernel's own record: v2's
        memory.peak, v1's memory.max_usage_in_bytes), else what it uses now; None unreadable."""
        names = (
            ("memory.peak", "memory.current")
            if self.version == 2
            else ("memory.max_usage_in_bytes", "memory.usage_in_bytes")
        )
        for name in names:
            try:
                return int((self.memory / name).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return None

    def kill_all(self, *, attempts: int = 100) -> None:
        """SIGKILL every process in the group, until it is empty (a fork bomb races this)."""
        if self.version == 2:
            try:
                _write(self.memory / "cgroup.kill", "1")
            except OSError:
                pass
        for _ in range(attempts):
            pids = self.procs()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # the last killed processes are still exiting


def create(memory_bytes: int, max_tasks: int) -> KernelCgroups | None:
    """New groups for one kernel with its limits, or None where this machine does not let us.
    The name carries this process's pid, so that `sweep_orphans` can tell whose it was."""
    mounts, own = _mounts(), _own_paths()
    name = f"{_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    if "unified" in mounts and "unified" in own and "memory" not in mounts:
        made = _create_v2(
            mounts["unified"] / own["unified"].lstrip("/") / name, memory_bytes, max_tasks
        )
        if made is not None:
            return made
    if "memory" in mounts and "memory" in own:
        return _create_v1(mounts, own, name, memory_bytes, max_tasks)
    return None


def _create_v2(path: Path, memory_bytes: int, max_tasks: int) -> KernelCgroups | None:
    try:
        path.mkdir()
    except OSError:
        return None
    try:
        if not (path / "memory.max").exists():
            raise OSError("the memory controller is not delegated here")
        _write(path / "memory.max", str(memory_bytes))
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")
        if (path / "memory.oom.group").exists():
            _write(path / "memory.oom.group", "1")
        if (path / "pids.max").exists():
            _write(path / "pids.max", str(max_tasks))
        return KernelCgroups(2, path, path if (path / "pids.max").exists() else None)
    except OSError:
        try:
            path.rmdir()
        except OSError:
            pass
        return None


def _create_v1(
    mounts: dict[str, Path], own: dict[str, str], name: str, memory_bytes: int, max_tasks: int
) -> KernelCgroups | None:
    mem = mounts["memory"] / own["memory"].lstrip("/") / name
    try:
        mem.mkdir()
    except OSError:
        return None
    try:
        _write(mem / "memory.limit_in_bytes", str(memory_bytes))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            try:
                _write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
            except OSError:
                pass  # swap accounting off: the machine has no swap to escape to anyway
    except OSError:
        try:
            mem.rmdir()
        except OSError:
            pass
        return None
    pids: Path | None = None
    if "pids" in mounts and "pids" in own:
        candidate = mounts["pids"] / own["pids"].lstrip("/") / name
        try:
            candidate.mkdir()
            _write(candidate / "pids.max", str(max_tasks))
            pids = candidate
        except OSError:
            try:
                candidate.rmdir()
            except OSError:
                pass
    return KernelCgroups(1, mem, pids)


def sweep_orphans() -> int:
    """Remove the groups whose grader process is gone (killed with -9, or by the OOM killer,
    while it graded): whatever still runs in them is killed first. Groups of live processes,
    and groups whose name carries no pid, are left alone. Returns how many were removed."""
    mounts, own = _mounts(), _own_paths()
    removed = 0
    for controller in ("unified", "memory", "pids"):
        if controller not in mounts or controller not in own:
            continue
        parent = mounts[controller] / own[controller].lstrip("/")
        try:
            groups = [d for d in parent.iterdir() if d.name.startswith(_PREFIX) and d.is_dir()]
        except OSError:
            continue
        for group in groups:
            owner = group.name[len(_PREFIX) :].split("-", 1)[0]
            if not owner.isdigit() or _alive(int(owner)):
                continue
            KernelCgroups(2 if controller == "unified" else 1, group, None).remove()
            removed += not group.exists()
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
