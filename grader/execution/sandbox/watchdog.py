"""The grader-side watchdog: polls one kernel's processes and stops it when over a limit.

It is the limit of last resort and the one that works everywhere: where the machine gives no
cgroup it is the memory limit (resident memory of all the kernel's processes), where the
kernel has no user of its own it is the process limit, and it is always the disk limit of the
scratch folder. When it stops a kernel it records why, so the report can say "the notebook
used more than 6 GiB of memory" instead of "the kernel died".
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

MAX_SCAN_ENTRIES = 200_000


@dataclass(frozen=True)
class Verdict:
    """Why the sandbox stopped a kernel: an exception-like name and a sentence for the student."""

    ename: str
    message: str


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            text = f"{n:.1f}".rstrip("0").rstrip(".") if unit != "bytes" else f"{int(n)}"
            return f"{text} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _charge(st: os.stat_result) -> int:
    """What one entry costs: its allocated blocks, or its length where that is more. Some
    filesystems (ZFS, btrfs) count a file's blocks only when they reach the disk, seconds
    later, and a sparse file is as big as what it would take to fill."""
    allocated = st.st_blocks * 512
    return max(allocated, st.st_size) if stat.S_ISREG(st.st_mode) else allocated


def tree_size(roots: Iterable[Path], stop_at: int) -> int:
    """Bytes used under `roots` (symlinks not followed; see `_charge`), stopping once past
    `stop_at`."""
    total, seen = 0, 0
    stack = []
    for root in roots:
        try:
            st = os.stat(root, follow_symlinks=False)
        except OSError:
            continue
        if os.path.isdir(root) and not os.path.islink(root):
            stack.append(str(root))
        else:
            total += _charge(st)
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    seen += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += _charge(st)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    if total > stop_at or seen > MAX_SCAN_ENTRIES:
                        return total
        except OSError:
            continue
    return total


def resident_bytes(pids: Iterable[int], *, proportional: bool = False) -> int:
    """Memory of the processes: resident set sizes (cheap), or proportional set sizes, where
    a page shared by n forked processes counts 1/n in each (exact, but reads smaps)."""
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += proc.memory_full_info().pss if proportional else proc.memory_info().rss
        except (psutil.Error, OSError, AttributeError):
            pass
    return total


def over_memory(pids: set[int], limit: int) -> bool:
    """Resident sizes first; forked processes share pages that each one's RSS counts, so a
    sum over the limit is confirmed with proportional sizes before anyone is stopped."""
    if resident_bytes(pids) <= limit:
        return False
    return len(pids) == 1 or resident_bytes(pids, proportional=True) > limit


class Watchdog:
    """Polls every `interval` seconds on a daemon thread; `poll()` is one round (tests call it)."""

    def __init__(
        self,
        *,
        procs: Callable[[], set[int]],
        kill: Callable[[Verdict], None],
        memory_bytes: int,
        max_processes: int,
        disk_bytes: int,
        disk_roots: list[Path],
        oom_kills: Callable[[], int] | None = None,
        peak: Callable[[], int | None] | None = None,
        interval: float = 0.2,
        disk_every: int = 2,
    ) -> None:
        """`oom_kills` counts the cgroup's kills where a cgroup holds the memory limit; without
        it the watchdog enforces the limit itself on the processes' resident memory.
        `kill(verdict)` stops every process of the kernel."""
        self._procs = procs
        self._kill = kill
        self.memory_bytes = memory_bytes
        self.max_processes = max_processes
        self.disk_bytes = disk_bytes
        self.disk_roots = disk_roots
        self._oom_kills = oom_kills
        self._oom_seen = oom_kills() if oom_kills else 0
        self._peak = peak
        self.peak_bytes = 0  # the most memory seen (the cgroup's record, or polled sizes)
        self.interval = interval
        self.disk_every = disk_every
        self._rounds = 0
        self._lock = threading.Lock()
        self._verdict: Verdict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the verdict --------------------------------------------------------------------
    def _convict(self, verdict: Verdict) -> bool:
        with self._lock:
            if self._verdict is None:
                self._verdict = verdict
        self._kill(verdict)
        return True

    def take_verdict(self) -> Verdict | None:
        """Why the kernel was stopped since the last call, if the sandbox stopped it.

        Asked when a kernel died, so it looks once more at what the polls may have missed: the
        OOM killer, and files written faster than the disk poll (the per-file cap then kills the
        kernel with SIGXFSZ between two polls).
        """
        self._check_oom(kill=False)
        if self.disk_bytes and tree_size(self.disk_roots, self.disk_bytes) > self.disk_bytes:
            with self._lock:
                self._verdict = self._verdict or self._disk_verdict()
        with self._lock:
            verdict, self._verdict = self._verdict, None
        return verdict

    def _disk_verdict(self) -> Verdict:
        return Verdict(
            "DiskLimit", f"the notebook wrote more than {format_bytes(self.disk_bytes)} of files"
        )

    def _memory_verdict(self) -> Verdict:
        return Verdict(
            "MemoryLimit",
            f"the notebook used more than {format_bytes(self.memory_bytes)} of memory",
        )

    def _check_oom(self, *, kill: bool) -> bool:
        if self._oom_kills is None:
            return False
        count = self._oom_kills()
        if count > self._oom_seen:
            self._oom_seen = count
            if kill:
                return self._convict(self._memory_verdict())
            with self._lock:
                self._verdict = self._verdict or self._memory_verdict()
        return False

    # -- one round ----------------------------------------------------------------------
    def poll(self, *, disk: bool = False) -> bool:
        """One round; the disk is scanned every `disk_every` rounds, or now when `disk`.
        True when this round stopped the kernel."""
        self._rounds += 1
        pids = self._procs()
        if len(pids) > self.max_processes:
            return self._convict(
                Verdict(
                    "ProcessLimit", f"the notebook started more than {self.max_processes} processes"
                )
            )
        if self._peak is not None:
            self.peak_bytes = max(self.peak_bytes, self._peak() or 0)
        elif pids:
            self.peak_bytes = max(self.peak_bytes, resident_bytes(pids))
        if self._oom_kills is None and pids:
            if over_memory(pids, self.memory_bytes):
                return self._convict(self._memory_verdict())
        if self._check_oom(kill=True):
            return True
        if (disk or self._rounds % self.disk_every == 0) and self.disk_bytes:
            if tree_size(self.disk_roots, self.disk_bytes) > self.disk_bytes:
                return self._convict(self._disk_verdict())
        return False

    # -- the thread ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cnn-grader-watchdog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a watchdog that dies protects nothing
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
