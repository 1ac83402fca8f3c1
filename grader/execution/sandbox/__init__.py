"""The sandbox around a student's kernel: limits, isolation, and what the report says of them.

    box = Sandbox(root, workdir, limits, hide=[course_dir, submission.parent])
    box = policy.for_grading(root, workdir, limits, submission=..., env=...)  # what to hide
    kernel.run(..., guard=box)          # configure → started → stopped, per kernel start
    box.notes()                         # "sandbox: own user (uid …), network off, …"
    box.close()

What is available depends on the machine, probed once per process (`capabilities()`):

- as root: each kernel runs as a uid of its own (no other process has it, so RLIMIT_NPROC and
  "kill everything of this uid" are exact, and concurrent kernels cannot read each other's
  folders), in its own network namespace (loopback only) and mount namespace (course folder,
  submissions' folder and private folders hidden; /tmp and /dev/shm private);
- not root: the same namespaces through a user namespace where the system allows one, else
  only resource limits and the watchdog;
- everywhere: rlimits (file size, data segment, no core files), a scrubbed environment,
  the watchdog (memory, processes, disk), and cgroups where /sys/fs/cgroup is writable.

This is the mechanism: how a kernel is isolated. The policy, what a grading's kernel may see
(which folders are hidden, which paths inside them stay visible), is `policy.py`. The launcher
(`launcher.py`) applies all of it inside the kernel's own process before exec; `machine.py`
finds out what this machine allows, `cgroups.py` and `watchdog.py` enforce the limits; this
module prepares the grading's folders, builds the launcher's command line, and turns what the
launcher reports into a sentence for the report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from grader.execution.sandbox import cgroups, seed
from grader.execution.sandbox.machine import (
    LAUNCHER,
    PRIVATE_TMP,
    PRIVATE_TMP_BYTES,
    Capabilities,
    capabilities,
    free_uid,
    launcher_cmd,
    python_paths,
    task_cap,
)
from grader.execution.sandbox.watchdog import Verdict, Watchdog, format_bytes, tree_size
from grader.models import Limits


@dataclass
class Sandbox:
    """One submission's sandbox; it is the `guard` that `kernel.run` calls around each kernel.

    `root` is the grading's private folder (root-owned, 0711), `workdir` the kernel's folder
    inside it. `hide` are folders the kernel must not see (course, submissions); `keep` are
    paths it must see even if inside them (a dataset cache).
    """

    root: Path
    workdir: Path
    limits: Limits
    hide: Sequence[Path] = ()
    keep: Sequence[Path] = ()
    caps: Capabilities = field(default_factory=lambda: capabilities())

    def __post_init__(self) -> None:
        self.uid: int | None = free_uid(*self.caps.uid_range) if self.caps.uid_range else None
        self.home = self.root / "home"
        self.kernel_log = self.root / f"{self.workdir.name}.kernel.log"  # the kernel's stderr
        self.ipc = self.root / "ipc"
        self.cg = (
            cgroups.create(self.limits.memory_bytes, task_cap(self.limits.max_processes))
            if self.caps.cgroup
            else None
        )
        self.reports: list[dict[str, Any]] = []
        self.events: list[str] = []
        self._starts = 0
        self._pid: int | None = None
        self._closed = False
        self._wipe = False
        self._disk_stopped = False
        self._prepare_folders()
        self.watchdog = Watchdog(
            procs=self.procs,
            kill=self._enforce,
            memory_bytes=self.limits.memory_bytes,
            max_processes=self.limits.max_processes,
            disk_bytes=self.limits.disk_bytes,
            disk_roots=[self.workdir, self.home, self.kernel_log],
            oom_kills=self.cg.oom_kills if self.cg else None,
            peak=self.cg.peak if self.cg else None,
        )

    # -- folders ------------------------------------------------------------------------
    def _own(self, path: Path, mode: int) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        os.chmod(path, mode)

    def _prepare_folders(self) -> None:
        os.chmod(self.root, 0o711 if self.uid is not None else 0o700)
        for d in (self.home, self.ipc):
            d.mkdir(exist_ok=True)
        for d in (self.workdir, self.home, self.ipc):
            self._own(d, 0o700)
        seed.seed_home(self.home, self.uid)
        for f in self.workdir.iterdir():
            if f.is_file() and not f.is_symlink():
                self._own(f, 0o600)

    def adopt(self, path: Path) -> None:
        """A file the grader put in the kernel's folder after the kernel started (a warm
        kernel's submission): the kernel's own, as the files there before its start are."""
        self._own(path, 0o600)

    def inputs_written(self, probe_dir: Path, *, link: Path) -> None:
        """The probe's folder (in root): inputs readable by this kernel only, outputs writable
        by it; `link` in the kernel's folder points to it (whatever the notebook put there
        before is removed: the grader never writes through it)."""
        for _ in range(10):
            try:
                if link.is_symlink() or link.is_file():
                    link.unlink()
                elif link.exists():
                    shutil.rmtree(link)
                os.symlink(probe_dir, link)
                break
            except FileExistsError:
                continue  # the notebook raced us to the name: try again
            except OSError:
                break  # the probe then cannot find its folder: its calls fail, nothing passes
        if self.uid is None:
            return
        os.chown(probe_dir, 0, self.uid)
        os.chmod(probe_dir, 0o750)
        for dirpath, dirnames, filenames in os.walk(probe_dir):
            for name in dirnames:
                os.chown(Path(dirpath, name), 0, self.uid)
                os.chmod(Path(dirpath, name), 0o750)
            for name in filenames:
                os.chown(Path(dirpath, name), 0, self.uid)
                os.chmod(Path(dirpath, name), 0o640)
        self._own(probe_dir / "out", 0o700)

    # -- the KernelGuard protocol (grader.execution.kernel_types) ---------------------
    def configure(self, km: Any) -> None:
        """Before a kernel starts: Unix-socket transport (works across the network namespace),
        a connection file the kernel's user can read, and the launcher in front."""
        self._starts += 1
        km.transport = "ipc"
        km.ip = str(self.ipc / f"k{self._starts}")
        km.connection_file = str(self.root / f"kernel-{self._starts}.json")
        km.launch_prefix = [*km.launch_prefix, *self.launcher_args(km.connection_file), "--"]

    def launcher_args(self, connection_file: str) -> list[str]:
        lim = self.limits
        args = [
            "--home",
            str(self.home),
            "--fsize",
            str(2 * lim.disk_bytes),
            "--nproc",
            str(task_cap(lim.max_processes)),
            "--report",
            str(self.root / f"sandbox-{self._starts}.json"),
        ]
        if self.cg is None and not os.path.exists("/dev/nvidiactl"):
            # Without a cgroup, a hard cap on the data segment keeps one huge allocation from
            # outrunning the watchdog (it fails with MemoryError instead). Generous, because
            # it counts reserved, not used, memory; not with a GPU, whose driver maps a lot.
            args += ["--data", str(max(2 * lim.memory_bytes, lim.memory_bytes + 2 * 2**30))]
        if self.uid is not None:
            args += ["--uid", str(self.uid), "--chown", connection_file]
        elif self.caps.userns:
            args += ["--userns"]
        if self.caps.network_off:
            args += ["--no-net"]
        if self.caps.mount_ns:
            args += ["--mount-ns", "--tmp-size", str(PRIVATE_TMP_BYTES)]
            args += [a for p in self._hide_targets() for a in ("--hide", p)]
            keeps = [*python_paths(), str(self.root), *(str(k) for k in self.keep)]
            args += [a for p in keeps for a in ("--keep", p)]
            args += [a for t in PRIVATE_TMP for a in ("--private-tmp", t)]
        for d in self.cg.dirs if self.cg else []:
            args += ["--cgroup", str(d)]
        return launcher_cmd(*args)

    def _hide_targets(self) -> list[str]:
        out = []
        for h in self.hide:
            real = os.path.realpath(h)
            if real != "/" and os.path.isdir(real):
                out.append(real)
        return out

    def started(self, pid: int | None) -> None:
        self._pid = pid
        self.watchdog.start()

    def peak_memory(self) -> int | None:
        """The most memory the kernel used, as far as the sandbox saw (None: nothing seen)."""
        seen = self.watchdog.peak_bytes
        if self.cg is not None:
            seen = max(seen, self.cg.peak() or 0)
        return seen or None

    def stopped(self) -> None:
        """After a kernel's shutdown: nothing it started may outlive it."""
        self.watchdog.stop()
        self.kill_all()
        self._load_reports()
        if self._wipe:
            self._wipe = False
            self.wipe_files()

    def _enforce(self, verdict: Verdict) -> None:
        """The watchdog found the kernel over a limit: stop all of it (files go at the next
        `stopped`, or a restarted kernel would start over the disk limit)."""
        if verdict.ename == "DiskLimit":
            self._wipe = self._disk_stopped = True
        self.kill_all()

    def wipe_files(self) -> None:
        """Delete what the notebook wrote (the submission and the probe's link stay)."""
        keep = {"submission.ipynb", ".cnn_grader_probe"}
        for folder in (self.workdir, self.home):
            for entry in list(folder.iterdir()):
                if entry.name in keep and folder == self.workdir:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        if self.kernel_log.is_file():  # what it wrote to its stderr counts as well
            self.kernel_log.write_bytes(b"")
        self.events.append("the files the notebook wrote were deleted (over the disk limit)")

    def _load_reports(self) -> None:
        """What each launcher says it applied (written before it became the kernel)."""
        while len(self.reports) < self._starts:
            path = self.root / f"sandbox-{len(self.reports) + 1}.json"
            try:
                self.reports.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                self.reports.append({})

    def check_now(self) -> bool:
        """One watchdog round now, disk included; True when it stopped the kernel."""
        return self.watchdog.poll(disk=True)

    def verdict(self, *, said: bool = True) -> tuple[str, str] | None:
        v: Verdict | None = self.watchdog.take_verdict()
        if v is None:
            return None
        if v.ename == "DiskLimit":  # found after the death: wipe before the next kernel starts
            self._wipe = self._disk_stopped = True
        if said:
            self.events.append(f"the kernel was stopped: {v.message}")
        return v.ename, v.message

    # -- processes ------------------------------------------------------------------------
    def procs(self) -> set[int]:
        """Every process of this kernel, however it was started."""
        if self.cg is not None:
            return self.cg.procs()
        if self.uid is not None:
            found = set()
            for p in psutil.process_iter(["uids"]):
                try:
                    if p.info["uids"].real == self.uid:
                        found.add(p.pid)
                except (psutil.Error, AttributeError):
                    pass
            return found
        if self._pid is None:
            return set()
        try:
            proc = psutil.Process(self._pid)
            return {proc.pid, *(c.pid for c in proc.children(recursive=True))}
        except psutil.Error:
            return set()

    def kill_all(self) -> None:
        """Stop every process of the kernel. A cgroup holds them all (they cannot leave it);
        else every process of the kernel's own uid; else the process tree (an orphan that
        double-forked away from it escapes: see docs/security.md)."""
        if self.cg is not None:
            self.cg.kill_all()
        elif self.uid is not None:
            if self.procs():
                subprocess.run(
                    launcher_cmd("--kill-uid", str(self.uid)),
                    check=False,
                    timeout=30,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        else:
            pids = self.procs()
            if self._pid is not None:
                try:
                    os.killpg(self._pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.watchdog.stop()
        self.kill_all()
        if self.cg is not None:
            self.cg.remove()
        self._load_reports()
        written = tree_size([self.workdir, self.home], self.limits.disk_bytes)
        if written > self.limits.disk_bytes and not self._disk_stopped:
            # written faster than the watchdog looks, at the very end: say so at least
            limit = format_bytes(self.limits.disk_bytes)
            self.events.append(f"the notebook wrote more than {limit} of files")

    # -- what the report says ------------------------------------------------------------
    def notes(self) -> list[str]:
        return [describe(self), *self.events]


def describe(box: Sandbox) -> str:
    """One sentence: which isolation and limits were in force for this kernel."""
    rep = next((r for r in box.reports if r), {})
    parts = []
    if rep.get("uid") is not None:
        parts.append(f"the kernel ran as a user of its own (uid {rep['uid']})")
    elif os.geteuid() == 0:
        parts.append("the kernel ran as root (no separate user: not isolated)")
    elif rep.get("userns"):
        parts.append("the kernel ran as the grader's own user, in a user namespace")
    else:
        parts.append("the kernel ran as the grader's own user (not isolated)")
    if rep.get("forked"):  # grader.execution.forkserver
        parts.append(
            "forked from a warm parent that had imported " + ", ".join(rep["forked"]) + " (its "
            "own process from then on, sandboxed as a fresh kernel is, before any cell ran)"
        )
    parts.append("network off" if rep.get("network") == "off" else "network on")
    hidden = rep.get("hidden") or []
    if hidden:
        parts.append("hidden from it: " + ", ".join(hidden))
    if rep.get("private_tmp"):
        parts.append("private " + ", ".join(rep["private_tmp"]))
    lim = box.limits
    how = "cgroup" if rep.get("cgroups") else "watchdog"
    limits = (
        f"memory {format_bytes(lim.memory_bytes)} ({how}), "
        f"{lim.max_processes} processes, {format_bytes(lim.disk_bytes)} of files, "
        f"{format_bytes(lim.max_output_bytes)} of output, "
        f"{lim.cell_timeout:g}s per cell"
    )
    text = "sandbox: " + "; ".join(parts) + "; limits: " + limits
    if rep.get("errors"):
        text += "; not applied: " + "; ".join(str(e) for e in rep["errors"][:3])
    return text


__all__ = [
    "LAUNCHER",
    "Capabilities",
    "Sandbox",
    "capabilities",
    "describe",
    "python_paths",
]
