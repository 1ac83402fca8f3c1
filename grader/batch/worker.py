"""What runs inside one worker process: grade one submission, write its reports, answer.

A worker is a separate process so that anything going wrong while one submission is graded
(a grader bug, memory blown by a huge output, a kernel that kills its parent) ends that worker
only. It holds no state between tasks besides warm imports, one kernel started ahead for the next
submission (grader.execution.warm: used by that submission alone) and the warm judge
(grader.keras_support.judge), answers with plain data (the results
file as JSON text), and exits by itself when the batch's parent process disappears, taking its
kernel with it, so a killed batch leaves nothing running.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from grader import timing
from grader.execution.executor import NotebookExecutor
from grader.models import Calibration, GradeResult
from grader.options import Options


@dataclass(frozen=True)
class Task:
    """One grading to do; plain data only, so it crosses the process boundary as it is.
    `calibration` is what the batch settled for the exercise before fanning out (thresholds,
    the reference's grading time): a worker grades with it and never calibrates, unless it
    is a machine of another kind (then `grade()` resolves its own)."""

    key: int
    student: str
    exercise: str
    path: str
    seed: int
    profile: str
    cell_timeout: float | None
    notebook_timeout: float | None
    report_dir: str
    report_stem: str
    training: bool = False
    attempt: int = 1
    calibration: Calibration | None = None
    notes: tuple[str, ...] = ()  # the batch's own, for the student's report (lateness)
    hide: tuple[str, ...] = ()  # the class's folders, hidden from the kernel (plan.class_folders)

    def options(self, executor: NotebookExecutor | None = None) -> Options:
        """What `grade()` is given for this task, here or on a remote worker."""
        return Options(
            exercise=self.exercise,
            profile=self.profile,
            seed=self.seed,
            cell_timeout=self.cell_timeout,
            notebook_timeout=self.notebook_timeout,
            calibration=self.calibration,
            executor=executor,
            hide=tuple(Path(h) for h in self.hide),
        )


# This worker's pool of kernels started ahead (grader.execution.warm.KernelPool), made on the
# first grading in a worker process (`worker_main` sets `_pooling`); elsewhere None, and a
# grading starts its kernel when it needs it.
_pooling = False
_kernels: Any = None

# How a worker's kernels are had (read in the worker; the batch's environment reaches it):
#   fork-ahead  the pool, its NumPy kernels forked (the default; training exercises, and a
#               machine that cannot fork, get started kernels, as with `pool`)
#   pool        one kernel started ahead for the next submission
#   fresh       a new kernel when a grading needs it, nothing ahead
#   fork        NumPy exercises' kernels forked from a warm parent when needed (training
#               exercises: fresh); grader.execution.forkserver
KERNELS_ENV = "CNN_GRADER_KERNELS"
KERNEL_MODES = ("pool", "fresh", "fork", "fork-ahead")


# The zygote of this worker's NumPy kernels and its kernels' environment, had before the
# worker's own imports (which it overlaps): the batch's, shared by its workers, at the path the
# batch gives (grader.batch.pool.start_early), else one of the worker's own. The pool adopts it.
_zygote: Any = None


def numpy_zygote(**start: Any) -> tuple[Any, dict[str, str]] | None:
    """A zygote for NumPy kernels of this process's kernel environment, and that environment
    (`start`: ForkServer.start's `wait` or `listen`); None where kernels are not forked
    (CNN_GRADER_KERNELS) or cannot be (the pool then says why, on its first claim)."""
    if os.environ.get(KERNELS_ENV, "fork-ahead") not in ("fork", "fork-ahead"):
        return None
    from grader.execution import forkserver, kernel_env

    if forkserver.why_not(forkserver.NUMPY_PRELUDE) is not None:
        return None
    env = kernel_env.default_kernel_env()
    prelude = (*forkserver.NUMPY_PRELUDE, *forkserver.FORKED_EXTRA)
    try:
        return forkserver.ForkServer.start(env, prelude, **start), env
    except OSError:
        return None  # the pool starts one when its first NumPy kernel is wanted


def _start_zygote(shared: str | None = None) -> None:
    """This worker's zygote: the batch's at `shared` (its batch checked that kernels are forked
    here), else one of its own, started without waiting for its imports."""
    global _zygote
    if shared is None:
        _zygote = numpy_zygote(wait=False)
        return
    from grader.execution import forkserver, kernel_env

    try:
        _zygote = (forkserver.ForkServer.connect(Path(shared)), kernel_env.default_kernel_env())
    except OSError:
        pass  # the pool starts one when its first NumPy kernel is wanted


def _kernel_pool() -> Any:
    global _kernels, _zygote
    mode = os.environ.get(KERNELS_ENV, "fork-ahead")
    if _pooling and _kernels is None and mode != "fresh":
        from grader.execution.warm import KernelPool

        if mode == "fork":
            _kernels = KernelPool(size=0, fork=True)
        else:
            _kernels = KernelPool(fork=mode == "fork-ahead")
        if _zygote is not None and _kernels.fork:
            _kernels.adopt(*_zygote)
            _zygote = None
    return _kernels


def grade_task(task: Task) -> tuple[str, str]:
    """("ok", results JSON) or ("unknown", why): runs the submission and writes its reports.

    The reports are written into a scratch folder and moved into place, so a worker killed
    mid-write never leaves a half-written report where a student would open it.
    """
    from grader.api import grade
    from grader.errors import UnknownExercise
    from grader.reporting import to_json

    with timing.grading(f"{task.student}/{task.exercise}#{task.key}"):
        try:
            result = grade(Path(task.path), task.options(executor=_kernel_pool()))
        except UnknownExercise as exc:
            return "unknown", str(exc)
        result.notes = [*result.notes, *task.notes]
        with timing.span("reports"):
            write_both_views(result, Path(task.report_dir), task.report_stem)
            return "ok", to_json(result)


def write_both_views(result: GradeResult, report_dir: Path, stem: str) -> None:
    """The student's reports into `report_dir` and the instructor's copy beside the class's
    (`instructor_dir`), each written into a scratch folder first and moved, so a worker killed
    mid-write never leaves a half-written report where a student would open it."""
    from grader.reporting import write_reports

    report_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=report_dir, prefix=".partial-"))
    try:
        for view, folder in (("student", report_dir), ("instructor", instructor_dir(report_dir))):
            folder.mkdir(parents=True, exist_ok=True)
            for path in write_reports(result, scratch, stem, view=view).values():
                os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def instructor_dir(report_dir: Path) -> Path:
    """Where the instructor's copy of a student's report goes: `<out>/instructor/<student>/`,
    apart from `<out>/students/<student>/`, which is returned to the student."""
    return report_dir.parent.parent / "instructor" / report_dir.name


def worker_main(
    conn: Connection,
    parent_pid: int,
    handler: Callable[[Task], tuple[str, str]] = grade_task,
    zygote: str | None = None,
) -> None:
    """Serve tasks until told to stop (None) or the parent goes away. `handler` is the seam
    the pool's tests use to crash or hang a worker on purpose."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    warnings.simplefilter("ignore")  # a warning would tear the parent's progress line
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    timing.mark("worker")
    _start_zygote(zygote)
    from grader.prewarm import warm_up

    warm_up()
    with timing.span("worker.imports"):
        import grader.api  # noqa: F401 - warm the imports while the parent is still planning
        import grader.execution.warm  # noqa: F401 - and the kernel machinery (nbclient)

    global _pooling, _kernels
    _pooling = True
    try:
        _serve(conn, handler)
    finally:
        if _kernels is not None:
            _kernels.close()
            _kernels = None
        if _zygote is not None:  # never adopted: no grading came
            _zygote[0].close()


def _serve(conn: Connection, handler: Callable[[Task], tuple[str, str]]) -> None:
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        try:
            reply: tuple[str, str] = handler(task)
        except BaseException:  # noqa: BLE001 - any failure here is the grader's, reported as such
            reply = ("failed", traceback.format_exc(limit=8)[-4000:])
        try:
            conn.send(reply)
        except (EOFError, OSError):
            break


def _watch_parent(parent_pid: int) -> None:
    """Exit when the batch is gone (kill -9 included): no orphan keeps grading into its folder."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            kill_tree(os.getpid(), include_root=False)
            os._exit(3)


def kill_tree(pid: int, *, include_root: bool = True) -> None:
    """SIGKILL a process's descendants (its kernels run in their own sessions, so a process
    group would miss them), then the process. Linux /proc only; elsewhere the kernels stop by
    themselves a second later, when they see their parent gone."""
    for child in _descendants(pid):
        _kill(child)
    if include_root:
        _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    try:
        entries: Any = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out
