"""Kernels ready before they are needed: one pre-started sandboxed kernel per worker.

    pool = KernelPool()                     # a batch worker's, for its whole life
    opts = Options(executor=pool)           # grader.pipeline claims a kernel through it
    ...
    pool.close()

Starting a kernel (the launcher, ipykernel, IPython) takes about 0.5 s, and the first cell's
imports (NumPy and matplotlib, or TensorFlow) as much again or far more. While a worker checks
one submission's evidence and writes its reports, its pool starts the next kernel, with
exactly what the last submission's kernel was started with (a `KernelSpec`: the limits, the
environment, the sandbox and the folders it hides) and then imports the modules the
exercise's notebooks import first (`prelude`), silently, with nothing bound in the student's
namespace and no execution count used.

Isolation is as strong as with a fresh kernel: every warm kernel has its own scratch folder,
sandbox (its own uid, cgroup, namespaces) and watchdog, made for it alone; it is handed to one
submission whose spec equals its own, and destroyed with that grading, like any kernel. One
whose spec differs (another exercise kind, another submissions folder) is destroyed unused. A
submission never gets a kernel another one has used.

Everything runs on one event loop in a thread of the pool's own (jupyter_client's objects
belong to the loop that made them), so a grading through the pool runs its kernel there too.

With `fork=True` the kernels of NumPy exercises are forked from a warm parent
(grader.execution.forkserver) instead of started as new Pythons: the pool's own (`size` ahead,
0 for none) and every other start of the worker's gradings, a restart after a crash included.
Each fork is as fresh and as isolated as a started kernel (its own uid, cgroup, namespaces,
folder and connection file, applied by the launcher's own code before any cell runs) and
used once. Training exercises keep started kernels (TensorFlow is not fork-safe), as does a
machine where forking is not possible (`fork_problem` says why).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.execution import forkserver, kernel, sandbox
from grader.execution.executor import ExecutionRequest
from grader.execution.kernel_session import KernelManager
from grader.execution.kernel_types import RunResult
from grader.execution.sandbox import policy
from grader.models import Limits

# What a kind of notebook imports first, imported in a throw-away namespace, so a notebook sees
# the modules loaded (as after its own import) and no name it did not define (NumPy's and what
# a zygote imports besides: grader.execution.forkserver).
NUMPY_PRELUDE = forkserver.NUMPY_PRELUDE
FORKED_EXTRA = forkserver.FORKED_EXTRA
TRAINING_PRELUDE = ("numpy", "tensorflow", "keras")  # under the default backend


def training_prelude(backend: str | None = None) -> tuple[str, ...]:
    """A training kernel's prelude on the grading's Keras backend (grader.backends): its
    backend's package, then Keras; TensorFlow only where it is the backend."""
    from grader import backends

    name = backend or backends.current()
    return ("numpy", backends.distribution(name), "keras")


HIST = "--HistoryManager.hist_file=:memory:"  # what nbclient passes to every kernel it starts


def start_limits(limits: Limits) -> Limits:
    """The limits a kernel is started under: the sandbox's caps (memory, processes, disk:
    its cgroup, rlimits and watchdog) and the start's own time. The timeouts of cells and
    probes and the output cap are the runner's, applied to the cells of whichever
    submission the kernel serves (ex03's probe timeout is not ex01's, their kernels are alike)."""
    return Limits(
        memory_bytes=limits.memory_bytes,
        max_processes=limits.max_processes,
        disk_bytes=limits.disk_bytes,
        startup_timeout=limits.startup_timeout,
    )


@dataclass(frozen=True)
class KernelSpec:
    """Everything a kernel's start depends on: two submissions with equal specs would get
    identical kernels (save for the fresh uid, folders and cgroup each kernel gets)."""

    limits: Limits
    env: tuple[tuple[str, str], ...]
    sandbox_env: tuple[tuple[str, str], ...]  # what the sandbox keeps visible (a Keras home)
    # The submissions' folders the sandbox hides (policy.submission_folders; none without a
    # sandbox): a batch's whole folder, so its kernels fit any of its students.
    folders: tuple[str, ...]
    launch_prefix: tuple[str, ...]
    sandboxed: bool
    prelude: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        limits: Limits,
        env: dict[str, str],
        sandbox_env: dict[str, str],
        submission: Path,
        launch_prefix: tuple[str, ...],
        sandboxed: bool,
        prelude: tuple[str, ...],
        hide: Sequence[Path] = (),
    ) -> KernelSpec:
        folders = policy.submission_folders(submission, hide) if sandboxed else ()
        return cls(
            start_limits(limits),
            tuple(sorted(env.items())),
            tuple(sorted(sandbox_env.items())),
            tuple(str(f) for f in folders),
            tuple(launch_prefix),
            sandboxed,
            tuple(prelude),
        )

    @property
    def trains(self) -> bool:
        """A training exercise's kernel: its successor starts only once this one is done
        (two training kernels at once would share the cores, and the memory, with training)."""
        return "keras" in self.prelude

    def note(self) -> str:
        """The report's line: a pre-warmed kernel is a fact of how the notebook ran."""
        imported = (
            (
                f"; the grader imported {', '.join(self.prelude)} in it before the first "
                "cell (no name defined)"
            )
            if self.prelude
            else ""
        )
        return (
            "pre-warmed kernel: started before this submission was handed to it, with its "
            "own sandbox and this submission's limits, and used by no other submission" + imported
        )


@dataclass
class WarmKernel:
    """A started kernel in its own scratch folder and sandbox, waiting for one submission."""

    spec: KernelSpec
    root: Path
    workdir: Path
    box: sandbox.Sandbox | None
    km: KernelManager  # started
    prelude_ok: bool = False
    started_s: float = 0.0

    def kill(self) -> None:
        """Stop the kernel process now if it still runs (a grading that ended before its
        kernel ran, on an error of the grader's); its sandbox and folder go with the grading."""
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    async def destroy(self) -> None:
        """Stop the kernel, everything it started, its sandbox and its folder."""
        try:
            self.kill()
            await self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - gone already is fine
            pass
        if self.box is not None:
            self.box.stopped()
            self.box.close()
        shutil.rmtree(self.root, ignore_errors=True)


async def prestart(spec: KernelSpec, forker: forkserver.ForkServer | None = None) -> WarmKernel:
    """Start a kernel for `spec` in a new scratch folder (forked from `forker` where that gives
    the same kernel), then import its prelude."""
    t0 = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="cnn-grader-"))
    workdir = root / "work"
    workdir.mkdir()
    km = KernelManager(kernel_name="python3")
    km.launch_prefix = list(spec.launch_prefix)
    km.forker = forker
    warm = WarmKernel(spec, root, workdir, None, km)
    try:
        if spec.sandboxed:
            warm.box = policy.for_grading(
                root,
                workdir,
                spec.limits,
                submission=Path(spec.folders[-1]) / "next.ipynb",
                hide=[Path(f) for f in spec.folders],
                env=dict(spec.sandbox_env),
            )
            warm.box.configure(km)
        with open(workdir.parent / f"{workdir.name}.kernel.log", "ab") as log:
            await km.start_kernel(
                env=dict(spec.env), cwd=str(workdir), stdout=log, stderr=log, extra_arguments=[HIST]
            )
        if warm.box is not None:
            warm.box.started(getattr(km.provisioner, "pid", None))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=spec.limits.startup_timeout)
            if spec.prelude:
                warm.prelude_ok = await _import(kc, spec.prelude, spec.limits.startup_timeout)
        finally:
            kc.stop_channels()
    except BaseException:
        await warm.destroy()
        raise
    warm.started_s = time.monotonic() - t0
    return warm


async def _import(kc: Any, modules: tuple[str, ...], timeout: float) -> bool:
    """Import `modules` in the kernel without touching the user's namespace or history."""
    lines = "\n".join(
        f"  try:\n    __import__({m!r})\n  except Exception:\n    pass" for m in modules
    )
    body = "def _w():\n" + lines + "\n_w()\n"
    code = f"exec({body!r}, {{}})"
    msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return bool(reply.get("content", {}).get("status") == "ok")
    return False


class KernelPool:
    """A `NotebookExecutor` whose kernels are started ahead: when a grading claims its kernel, the
    next one (same spec) starts, and boots while that grading's notebook runs (for a training
    exercise: once that kernel is done, while the grader checks and reports). `size` warm
    kernels at most; a claim that matches none gets a fresh kernel, as without the pool.
    `train_ahead` False starts no training kernel ahead (a check server, idle between checks,
    holds no TensorFlow kernel in memory)."""

    def __init__(self, *, size: int = 1, fork: bool = False, train_ahead: bool = True) -> None:
        self.size = size
        self.fork = fork
        self.train_ahead = train_ahead
        self.fork_problem: str | None = None  # why kernels are not forked here, when asked to
        self._forker: forkserver.ForkServer | None = None  # for the last claimed spec
        self._forker_key: tuple[object, ...] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="cnn-grader-kernels"
        )
        self._thread.start()
        self._ready: list[concurrent.futures.Future[WarmKernel]] = []
        self._spec: KernelSpec | None = None
        self._closed = False
        self.hits = 0
        self.misses = 0

    def _submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def claim(self, spec: KernelSpec) -> WarmKernel | None:
        """A warm kernel started with exactly `spec` (waiting for one still starting), or None.
        Warm kernels of other specs are destroyed: the worker has moved on to another kind."""
        self._spec = spec
        self._fork_for(spec)
        found: WarmKernel | None = None
        for fut in list(self._ready):
            self._ready.remove(fut)
            try:
                warm = fut.result(timeout=spec.limits.startup_timeout + 30)
            except Exception:  # noqa: BLE001 - a warm start that failed: a fresh one follows
                continue
            if found is None and warm.spec == spec and warm.km.has_kernel:
                found = warm
            else:
                self._submit(warm.destroy()).result(60)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        if not spec.trains:
            self.replenish()  # the next one boots while this submission's notebook runs
        return found

    def _fork_for(self, spec: KernelSpec) -> None:
        """The zygote for `spec`'s kernels (started in this thread, which the zygote's life is
        tied to: the worker's), or none: a training exercise, or no forking on this machine.
        One at a time: another environment's is stopped."""
        if not self.fork or self._closed:
            return
        why = forkserver.why_not(spec.prelude)
        key = (spec.env, spec.prelude)
        if why is None and key == self._forker_key and self._forker and self._forker.alive:
            try:
                self._forker.ready()  # one started ahead (adopt) may still be importing
                return
            except OSError as exc:
                why = str(exc)
        if self._forker is not None:
            self._forker.close()
            self._forker, self._forker_key = None, None
        if why is None:
            try:
                self._forker = forkserver.ForkServer.start(
                    dict(spec.env), (*spec.prelude, *FORKED_EXTRA)
                )
                self._forker_key = key
            except OSError as exc:
                why = str(exc)
        if why is not None and not spec.trains:
            self.fork_problem = why

    def adopt(self, forker: forkserver.ForkServer, env: dict[str, str]) -> None:
        """A zygote started ahead for NumPy kernels of environment `env` (a batch worker starts
        it before its own imports): the first claim whose kernels it fits uses it."""
        if self._forker is not None:
            self._forker.close()
        self._forker = forker
        self._forker_key = (tuple(sorted(env.items())), NUMPY_PRELUDE)

    def replenish(self) -> None:
        """Start the next kernel (the last claimed spec), unless the pool is full."""
        if self._closed or self._spec is None:
            return
        if self._spec.trains and not self.train_ahead:
            return
        while len(self._ready) < self.size:
            self._ready.append(self._submit(prestart(self._spec, self._forker)))

    def run(self, request: ExecutionRequest) -> RunResult:
        """The `NotebookExecutor` method: the grading's kernel runs on the pool's loop; the next
        warm kernel starts as soon as this one is done with."""
        try:
            result: RunResult = self._submit(
                kernel.run_async(
                    request.nb,
                    request.workdir,
                    limits=request.limits,
                    env=dict(request.env),
                    launch_prefix=request.launch_prefix,
                    extras=request.extras,
                    before_extras=request.before_extras,
                    guard=request.guard,
                    warm=request.warm,
                    forker=self._forker,  # forks only what it reproduces exactly (env, command)
                )
            ).result()
        finally:
            self.replenish()  # a training kernel's next: now, beside this one's checks
        return result

    def close(self) -> None:
        """Destroy every warm kernel (one still starting is cancelled, then destroyed) and stop
        the loop; quick, so a worker told to stop is gone before its parent stops waiting."""
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(self._shutdown()).result(timeout=60)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        self._ready.clear()
        if self._forker is not None:
            self._forker.close()
            self._forker = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        me = asyncio.current_task()
        starting = [t for t in asyncio.all_tasks() if t is not me]
        for task in starting:
            task.cancel()  # prestart() destroys what it had started
        await asyncio.gather(*starting, return_exceptions=True)
        for fut in self._ready:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                await fut.result().destroy()
