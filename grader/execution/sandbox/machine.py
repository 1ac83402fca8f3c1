"""What this machine lets the grader do to a kernel, found out once per process.

Each isolation step is tried for real, by the launcher in `--selftest` mode, in a throw-away
folder laid out like a grading's: a separate user (as root), network and mount namespaces
(as root, or through a user namespace without root), and cgroups. What failed is kept in
`Capabilities.problems`, so that the report can say why a step was not in force.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from grader.execution.sandbox import cgroups

LAUNCHER = Path(__file__).with_name("launcher.py")
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
PRIVATE_TMP_BYTES = 256 * 2**20
# Where per-kernel uids are drawn from: far above real accounts; the second range is for
# containers that map only 65536 uids.
UID_RANGES = ((1_900_000_000, 1_000_000), (50_000, 9_000))


def task_cap(max_processes: int) -> int:
    """Hard cap on tasks (threads count): room for TensorFlow's thread pools in every process."""
    return 4 * max_processes + 512


def python_paths() -> list[str]:
    """What the kernel's Python needs to see: its prefixes (venv and base installation)."""
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))),
    }
    return sorted(os.path.realpath(p) for p in paths if p and os.path.isdir(p))


def launcher_cmd(*args: str, site: bool = False) -> list[str]:
    """`python -I` (no current folder on sys.path: the launcher runs as root in the student's
    folder) and `-S` (no site-packages: it needs only the standard library, and starts 30 ms
    sooner), except for the self-test, which checks that ipykernel can be found."""
    return [sys.executable, "-I", *([] if site else ["-S"]), str(LAUNCHER), *args]


@dataclass(frozen=True)
class Capabilities:
    """What this machine lets the grader do to a kernel, probed once."""

    uid_range: tuple[int, int] | None = None  # per-kernel users (needs root)
    userns: bool = False  # namespaces without root
    network_off: bool = False
    mount_ns: bool = False
    cgroup: int = 0  # 2, 1, or 0 for none
    problems: tuple[str, ...] = ()


def _selftest(extra: Sequence[str], workdir: Path) -> dict[str, Any] | None:
    cmd = launcher_cmd(
        *extra,
        "--no-net",
        "--mount-ns",
        "--selftest",
        *[a for p in python_paths() for a in ("--keep", p)],
        "--keep",
        str(workdir.parent),
        *[a for t in PRIVATE_TMP for a in ("--private-tmp", t)],
        site=True,
    )
    try:
        out = subprocess.run(
            cmd, cwd=workdir, capture_output=True, text=True, timeout=30, check=False
        )
        report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return report
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


_probe_lock = threading.Lock()


def capabilities() -> Capabilities:
    """What this machine allows, probed on the first call in this process (callers in other
    threads wait for that probe rather than run their own)."""
    with _probe_lock:
        return _probe()


@functools.lru_cache(maxsize=1)
def _probe() -> Capabilities:
    """Try each isolation step once, in a throw-away folder laid out like a real grading."""
    problems: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="cnn-grader-probe-"))
    try:
        work = root / "work"
        work.mkdir()
        uid_range: tuple[int, int] | None = None
        report: dict[str, Any] | None = None
        userns = False
        if os.geteuid() == 0:
            os.chmod(root, 0o711)
            for base, size in UID_RANGES:
                uid = base + secrets.randbelow(size)
                os.chown(work, uid, uid)
                report = _selftest(["--uid", str(uid), "--home", str(work)], work)
                if report and report.get("python_ok") and report.get("uid_now") == uid:
                    uid_range = (base, size)
                    break
                problems.append(
                    f"a separate user (uid {uid}) could not run Python"
                    + (f": {report['errors']}" if report and report["errors"] else "")
                )
                report = None
        if os.geteuid() != 0:
            report = _selftest(["--userns"], work)
            userns = bool(report and report.get("userns") and report.get("python_ok"))
            if not userns:
                problems.append(
                    "no user namespace for the kernel"
                    + (f": {report['errors']}" if report and report["errors"] else "")
                )
                report = None
        # Root without a user of its own gets no namespaces: root undoes them (umount, setns),
        # and the report must not claim an isolation that is not there.
        if report is not None:
            problems += [str(e) for e in report.get("errors", [])]
        cg = cgroups.create(64 * 2**20, 64)
        version = cg.version if cg else 0
        if cg:
            cg.remove()
        net_off = bool(
            report and report.get("network") == "off" and report.get("interfaces") == ["lo"]
        )
        mount_ns = bool(report and (report.get("hidden") or report.get("private_tmp")))
        return Capabilities(
            uid_range=uid_range,
            userns=userns,
            network_off=net_off,
            mount_ns=mount_ns,
            cgroup=version,
            problems=tuple(problems),
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_uid(base: int, size: int) -> int:
    """A uid no account has and no process runs as (so 'kill all of it' hits only our kernel)."""
    used = set()
    for p in psutil.process_iter(["uids"]):
        try:
            used.add(p.info["uids"].real)
        except (psutil.Error, AttributeError):
            pass
    for _ in range(100):
        uid = base + secrets.randbelow(size)
        if uid in used:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError("no free uid for the kernel")
