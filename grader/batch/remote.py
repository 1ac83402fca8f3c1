"""One grading on a machine that is not the batch's: the notebook's bytes in, documents out.

A worker of a cluster may be another machine, so nothing here reads a path the batch's machine
chose: the notebook travels as bytes (written into a scratch folder under its own file name),
and the answer is plain data (the results JSON, the HTML report, a bounded log tail) that the
batch's machine writes into its output folder. Before a worker grades, `prepare_worker` makes it
the driver's grader: same grader version and source, same course (a bundle's bytes shipped once,
or a course folder on a shared filesystem, checked by content), and says how well the sandbox
works there. Nothing in this module imports Dask: `grader.batch.dask_worker` wires it in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.batch.worker import Task
from grader.version import __version__, source_digest

MAX_DOCUMENT = 32 * 2**20  # a result or report larger than this is a grader failure
LOG_TAIL = 8000  # characters of a grading's log that come back
KERNEL_THREADS_ENV = "CNN_GRADER_KERNEL_THREADS"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

ReplyKind = Literal["ok", "unknown", "failed", "refused"]


@dataclass(frozen=True)
class CourseShipment:
    """The driver's course as a worker can find it: a bundle's bytes, or a folder's path (a
    shared filesystem) with a digest of its solutions to check that it holds the same files."""

    kind: Literal["bundle", "course"]
    identity: str  # a bundle's manifest identity; a folder's solutions digest
    path: str  # the folder, or the bundle's file name
    data: bytes = b""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker must match before it grades, and how its kernels are to run."""

    grader_version: str
    fingerprint: str
    course: CourseShipment
    require_sandbox: bool = False
    kernel_threads: int | None = None  # None: this worker's CPUs / its threads


@dataclass(frozen=True)
class Job:
    """One submission, as it travels to a worker."""

    task: Task
    notebook: bytes
    name: str  # the notebook's file name (reports name it)
    grader_version: str
    fingerprint: str
    course_identity: str
    token: str = ""  # the future's key: the driver matches start announcements with it


@dataclass(frozen=True)
class Reply:
    """What comes back: "ok" (payload: results JSON, html: the report), "unknown" (no such
    exercise), "failed" (a grader failure: payload says what) or "refused" (this worker may
    not grade: payload says why)."""

    kind: ReplyKind
    payload: str
    html: str = ""
    log: str = ""
    wall_s: float = 0.0


@dataclass
class WorkerState:
    """What `prepare_worker` found: `problems` refuse every job; `sandbox` is the sentence the
    preflight shows; `gaps` what the sandbox lacks here (refused when the spec requires it)."""

    spec: WorkerSpec
    problems: list[str] = field(default_factory=list)
    sandbox: str = ""
    gaps: list[str] = field(default_factory=list)
    kernel_threads: int = 1
    fingerprint: str = ""  # this worker's grader source, when it was set up

    @property
    def ok(self) -> bool:
        return not self.problems and not (self.spec.require_sandbox and self.gaps)

    def refusal(self, job: Job) -> str:
        """Why this worker must not grade `job` ("" when it may)."""
        why = list(self.problems)
        if self.spec.require_sandbox and self.gaps:
            why.append(
                "the sandbox is required (--require-sandbox) and this worker lacks: "
                + "; ".join(self.gaps)
            )
        if job.grader_version != __version__ or job.fingerprint != self.fingerprint:
            why.append(
                f"this worker's grader (version {__version__}) is not the batch's "
                f"(version {job.grader_version}): install the same grader on every worker"
            )
        if job.course_identity != self.spec.course.identity:
            why.append(
                "this worker was set up for another course (another batch shares the cluster)"
            )
        return "; ".join(why)


def grader_fingerprint() -> str:
    """The grader's whole source: two workers with the same version but different code would
    give different grades under one cache key."""
    return source_digest()[:24]


def folder_digest(root: Path) -> str:
    """The solutions of a course folder, by name and content."""
    digest = hashlib.sha256()
    for path in sorted((root / "solutions").glob("*.ipynb")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def ship_course() -> CourseShipment:
    """The course this process grades with (grader.course.current()), ready to travel."""
    from grader.course import current

    course = current()
    if course.kind == "bundle":
        return CourseShipment(
            "bundle", course.identity, course.source.name, course.source.read_bytes()
        )
    return CourseShipment("course", folder_digest(course.root), str(course.root))


def driver_spec(*, require_sandbox: bool = False, kernel_threads: int | None = None) -> WorkerSpec:
    return WorkerSpec(
        __version__,
        grader_fingerprint(),
        ship_course(),
        require_sandbox=require_sandbox,
        kernel_threads=kernel_threads,
    )


def sandbox_gaps(caps: object) -> list[str]:
    """What a kernel here would lack next to full isolation (own user or user namespace,
    network off, own mount namespace); the report of every grading states what was in force."""
    gaps = []
    if not (getattr(caps, "uid_range", None) or getattr(caps, "userns", False)):
        gaps.append("no separate user for the kernel (not root, and no user namespace)")
    if not getattr(caps, "network_off", False):
        gaps.append("the kernel's network cannot be turned off")
    if not getattr(caps, "mount_ns", False):
        gaps.append("the course and submissions cannot be hidden from the kernel")
    return gaps + [str(p) for p in getattr(caps, "problems", ())][:3]


def prepare_worker(spec: WorkerSpec, *, scratch: Path, nthreads: int) -> WorkerState:
    """Make this process grade as the driver does; never raises (problems refuse jobs).

    The kernels' thread variables are set here, in this process's environment, which kernels
    inherit: Dask's nanny sets OMP/MKL/OPENBLAS_NUM_THREADS to 1 in its workers, which would
    make a training kernel crawl. Each kernel gets this worker's share of its machine's CPUs:
    `CNN_GRADER_KERNEL_THREADS` where the worker was started with it, else the spec's value
    (the driver sizes its own local cluster), else CPUs / this worker's threads.
    """
    state = WorkerState(spec, fingerprint=grader_fingerprint())
    if spec.grader_version != __version__ or spec.fingerprint != state.fingerprint:
        state.problems.append(
            f"grader version {__version__} ({state.fingerprint}) here, the batch's is "
            f"{spec.grader_version} ({spec.fingerprint}): install the same grader on every worker"
        )
    try:
        _install_course(spec.course, scratch)
    except Exception as exc:  # noqa: BLE001 - any failure here refuses the worker, with why
        state.problems.append(f"the course cannot be used here: {exc}")
    try:
        from grader.execution.sandbox import capabilities
        from grader.execution.sandbox.machine import Capabilities

        caps: Capabilities = capabilities()
        state.gaps = sandbox_gaps(caps)
        state.sandbox = (
            "full isolation" if not state.gaps else "weaker isolation: " + "; ".join(state.gaps)
        )
    except Exception as exc:  # noqa: BLE001 - a probe that fails is a gap to report, not a crash
        state.gaps = [f"the sandbox could not be probed: {exc}"]
        state.sandbox = state.gaps[0]
    state.kernel_threads = _kernel_threads(spec, nthreads)
    for var in THREAD_VARS:
        os.environ[var] = str(state.kernel_threads)
    try:
        from grader.execution.sandbox import cgroups

        cgroups.sweep_orphans()  # groups a killed predecessor of this worker left behind
    except Exception:  # noqa: BLE001 - cleaning up is best effort
        pass
    return state


def _kernel_threads(spec: WorkerSpec, nthreads: int) -> int:
    named = os.environ.get(KERNEL_THREADS_ENV, "").strip()
    if named.isdigit() and int(named) > 0:
        return int(named)
    if spec.kernel_threads:
        return max(1, spec.kernel_threads)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, nthreads))


def _install_course(course: CourseShipment, scratch: Path) -> None:
    """Point this process's CNN_GRADER_COURSE at the driver's course, and check it is that."""
    from grader.course import COURSE_ENV, current

    if course.kind == "bundle":
        folder = scratch / "cnn-grader-course"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{course.identity[:16] or 'course'}-{Path(course.path).name}"
        if not path.is_file() or path.read_bytes() != course.data:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(course.data)
        os.environ[COURSE_ENV] = str(path)
        found = current()
        if found.identity != course.identity:
            raise RuntimeError(
                f"the bundle opened here is {found.identity[:16]}, not {course.identity[:16]}"
            )
        return
    root = Path(course.path)
    if not (root / "solutions").is_dir():
        raise RuntimeError(
            f"no course folder at {root} on this worker (a course folder must "
            "be on a filesystem every worker shares; or grade with a bundle)"
        )
    os.environ[COURSE_ENV] = str(root)
    if folder_digest(current().root) != course.identity:
        raise RuntimeError(f"the course folder {root} here holds other solutions than the batch's")


def grade_job(job: Job) -> Reply:
    """Grade one submission from its bytes; answer with its documents (nothing is written
    here but a scratch copy of the notebook, removed before returning)."""
    from grader.api import grade
    from grader.errors import UnknownExercise
    from grader.reporting import render_html, to_json

    t0 = time.monotonic()
    task = job.task
    scratch = Path(tempfile.mkdtemp(prefix="cnn-grader-job-"))
    try:
        path = _same_file(Path(task.path), job.notebook)
        if path is None:
            path = scratch / (Path(job.name).name or "submission.ipynb")
            path.write_bytes(job.notebook)
        try:
            result = grade(path, task.options())
        except UnknownExercise as exc:
            return Reply("unknown", str(exc), wall_s=time.monotonic() - t0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload, html = to_json(result), render_html(result.student_view())
    if max(len(payload), len(html)) > MAX_DOCUMENT:
        return Reply(
            "failed",
            f"the grading's documents are larger than {MAX_DOCUMENT} bytes",
            wall_s=time.monotonic() - t0,
        )
    return Reply("ok", payload, html=html, wall_s=time.monotonic() - t0)


def _same_file(path: Path, data: bytes) -> Path | None:
    """The driver's own file where this worker sees it with the same bytes (this machine, or a
    shared filesystem): graded in place, the sandbox hides its folder, where the other
    students' notebooks are, exactly as the local executor's does."""
    try:
        return path if path.is_file() and path.read_bytes() == data else None
    except OSError:
        return None


class ThreadLog(logging.Handler):
    """The last LOG_TAIL characters logged by one thread (a Dask worker grades in threads)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.lines: deque[str] = deque()
        self.size = 0
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            line = self.format(record)[:LOG_TAIL]
        except Exception:  # noqa: BLE001 - a log line is never worth a failure
            return
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > LOG_TAIL and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1

    def tail(self) -> str:
        return "\n".join(self.lines)
