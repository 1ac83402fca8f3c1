"""One grading's cells in a Jupyter kernel, through nbclient, with a careful instructor's
recovery: a cell that times out is interrupted and the rest still run; a cell that kills the
kernel is skipped, a new kernel is started and the cells that worked before it are replayed,
so the work defined before the crash is still graded. The output a kernel may send is bounded.

`KernelSession` is driven by `grader.execution.kernel.run_async`, which turns what it recorded
into the run's `ExecutionSummary`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, DeadKernelError
from nbformat import NotebookNode
from traitlets import default

from grader import nbformat_typed
from grader.execution import cells
from grader.execution.kernel_types import CellStatus, ExtraCell, ExtraOutcome, KernelGuard
from grader.models import CellProblem, Limits

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMEOUT_ENAME = "CellTimeoutError"
# The most probe cells one joined cell runs (KernelSession._run_joined): a round trip to the
# kernel per call was a third of a NumPy exercise's probe time.
MAX_JOINED = 64


class ReadyClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel is. Its `wait_for_ready` proves
    IOPub connected by any message there, then drains IOPub until 0.2 s pass in silence: every
    kernel start, warm or not, waited those 0.2 s (a fifth of a NumPy grading in a batch).
    Here the proof is the `idle` status of the very request that was answered: IOPub is
    connected, and nothing this client asked for is still to come on it."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self._async_get_shell_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                asked = msg["parent_header"].get("msg_id")
                if await self._idle_after(asked, min(0.25, max(0.0, deadline - time.monotonic()))):
                    self._handle_kernel_info_reply(msg)
                    return
                # IOPub not connected yet (a SUB socket joins late): ask again
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _idle_after(self, msg_id: str, wait: float) -> bool:
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self._async_get_iopub_msg(timeout=left)
            except Empty:
                return False
            if (
                msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                return True
        return False

    wait_for_ready = _async_wait_for_ready  # the public name is bound to the base's, not looked up


class KernelManager(AsyncKernelManager):
    """Kernel manager that can prefix the launch command (resource limits, sandboxing), and
    fork its kernel from a warm parent (`forker`, grader.execution.forkserver.ForkServer)
    instead of starting a new Python, where the fork reproduces the command exactly."""

    launch_prefix: list[str] = []
    forker: Any = None
    forked = False  # the last start was a fork

    @default("client_factory")
    def _ready_client(self) -> type[ReadyClient]:
        return ReadyClient

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return [*self.launch_prefix, *cmd]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        self.forked = False
        prov = self.provisioner
        if self.forker is not None and isinstance(prov, LocalProvisioner):
            env = kw.get("env")
            proc = self.forker.fork(
                kernel_cmd,
                cwd=str(kw.get("cwd") or os.getcwd()),
                env=env if env is not None else os.environ,
                log=kw.get("stdout"),
            )
            if proc is not None:  # the provisioner's Popen: poll, wait, signal, kill
                prov.process = proc
                prov.pid = prov.pgid = proc.pid  # its own session, as Popen's start gives
                prov.cwd = kw.get("cwd")
                self._reconcile_connection_info(prov.connection_info)
                self.forked = True
                return
        await super()._async_launch_kernel(kernel_cmd, **kw)


class _Client(NotebookClient):
    """nbclient with a bound on the output it keeps: a flood of prints cannot exhaust memory."""

    def __init__(self, nb: NotebookNode, *, max_output_bytes: int, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self._budget = max_output_bytes
        self.output_truncated = False

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        size = _message_size(msg)
        if size > self._budget:
            if not self.output_truncated:
                self.output_truncated = True
                outs.append(
                    nbformat_typed.new_output(
                        "stream", name="stderr", text="[cnn-grader: further output dropped]\n"
                    )
                )
            return None
        self._budget -= size
        return super().output(outs, msg, display_id, cell_index)


def _message_size(msg: dict[str, Any]) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values()) + 64


def _short_traceback(lines: Sequence[str], limit: int) -> str:
    text = _ANSI.sub("", "\n".join(lines))
    if len(text) > limit:
        text = "…\n" + text[-limit:]
    return text


def _head(source: str, n: int = 3) -> str:
    lines = source.strip().splitlines()
    return "\n".join(lines[:n]) + ("\n…" if len(lines) > n else "")


class KernelSession:
    """The notebook's cells, then the extra cells, in one kernel at a time: started, restarted
    with the good cells replayed, stopped; what went wrong is kept in `problems`."""

    def __init__(
        self,
        nb: NotebookNode,
        workdir: Path,
        limits: Limits,
        env: dict[str, str],
        launch_prefix: list[str],
        guard: KernelGuard | None = None,
        warm: Any = None,
        forker: Any = None,
    ) -> None:
        self.nb = nb
        self.warm = warm  # a kernel started ahead (grader.execution.warm), used by start()
        self.forker = forker  # forks each kernel from a warm parent (grader.execution.forkserver)
        self.forks = 0  # kernels of this run that were forked
        self.guard = guard
        self.limits = limits
        self.env = env
        self.launch_prefix = launch_prefix
        self.client = _Client(
            nb,
            max_output_bytes=limits.max_output_bytes,
            timeout=int(limits.cell_timeout),
            startup_timeout=int(limits.startup_timeout),
            interrupt_on_timeout=True,
            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "cell timed out", "traceback": []},
            allow_errors=True,
            kernel_name="python3",
            kernel_manager_class=KernelManager,
            resources={"metadata": {"path": str(workdir)}},
            record_timing=False,
            shutdown_kernel="immediate",
            iopub_timeout=2,
        )
        self.kernel_log = workdir.parent / f"{workdir.name}.kernel.log"
        self.problems: list[CellProblem] = []
        self.restarts = 0
        self.succeeded: list[int] = []  # notebook cells that ran without killing the kernel
        self.numbers = cells.student_numbers(nb)  # index -> the number the student sees
        self.count_to_index: dict[int, int] = {}  # this kernel's execution counts -> index
        self.executed = 0
        self.wedged = False  # replaying the cells that worked leaves a kernel that cannot run code
        self._need_setup = True  # the extras' setup cells to run before the next extra cell
        self._join = True  # joinable extra cells may still run joined (run_extras)

    # -- kernel lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        warm, self.warm = self.warm, None
        if warm is not None:  # started ahead, with this run's sandbox: only connect to it
            self.client.km = warm.km
            try:
                await self.client.async_start_new_kernel_client()
                return
            except Exception:  # noqa: BLE001 - it died waiting: a fresh one, as always
                if self.client.km is not None:
                    await self.stop()
                elif self.guard is not None:
                    self.guard.stopped()
        km = self.client.create_kernel_manager()
        assert isinstance(km, KernelManager)
        km.launch_prefix = list(self.launch_prefix)
        km.forker = self.forker
        if self.guard is not None:
            self.guard.configure(km)
        # The kernel process's own stderr (C-level crashes, launcher warnings) goes to a log
        # beside the scratch folder, not to the grader's terminal.
        log = open(self.kernel_log, "ab")  # noqa: SIM115 - owned by the kernel process
        try:
            await self.client.async_start_new_kernel(env=self.env, stdout=log, stderr=log)
        finally:
            log.close()
        self.forks += km.forked
        if self.guard is not None:
            self.guard.started(getattr(km.provisioner, "pid", None))
        await self.client.async_start_new_kernel_client()

    async def stop(self) -> None:
        if self.client.km is None:
            return
        # Shutdown is "immediate" (a kill) anyway; killing and reaping the process here spares
        # jupyter_client's wait, which polls every 0.1 s (a tenth of a NumPy grading).
        proc = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.kill()
                proc.wait(5)
            except Exception:  # noqa: BLE001 - the usual shutdown below still runs
                pass
        try:
            await self.client._async_cleanup_kernel()
        except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
            self.client.km = None
            self.client.kc = None
        if self.guard is not None:
            self.guard.stopped()

    def _why_died(self) -> tuple[str, str] | None:
        return self.guard.verdict() if self.guard is not None else None

    def _over_limit(self, status: CellStatus) -> bool:
        """Did the cell that just ended take the kernel over a limit? The watchdog polls, so
        a fast writer can finish a cell between two polls (and meet the per-file cap as an
        OSError instead); looking once more at every cell's end makes the verdict the same
        however fast the machine is."""
        return status in ("ok", "error") and self.guard is not None and self.guard.check_now()

    async def restart(self, *, counted: bool = True) -> bool:
        """Start a fresh kernel and replay the cells that worked. False when out of restarts.
        Not `counted`: a restart the student's code did not cause alone (a joined cell's),
        which neither uses up a restart nor shows in the report."""
        await self.stop()
        if counted and self.restarts >= self.limits.max_restarts:
            return False
        self.restarts += counted
        try:
            await self.start()
        except Exception:  # noqa: BLE001 - a kernel that cannot start again ends the run
            await self.stop()
            return False
        self.count_to_index = {}
        for idx in list(self.succeeded):
            status, *_ = await self._run_source(self.nb.cells[idx], idx, self.limits.cell_timeout)
            self._counted(idx)
            if status == "kernel_died":
                return await self.restart()
        if self.succeeded and not await self._responsive():
            # The cells that "worked" leave the kernel unable to run more code (as Jupyter
            # would: e.g. `sys.stderr = None` breaks ipykernel's next request). Restarting
            # again would only repeat that, one timeout after another.
            self.wedged = True
            await self.stop()
            return False
        return True

    def _counted(self, idx: int) -> None:
        """Remember which cell the kernel's execution count names (`Cell In[k]`)."""
        count = self.nb.cells[idx].get("execution_count")
        if isinstance(count, int):
            self.count_to_index[count] = idx

    # -- running one cell -------------------------------------------------------------
    async def _run_source(
        self, cell: NotebookNode, index: int, timeout: float | None
    ) -> tuple[CellStatus, str, str, list[str]]:
        """Run one cell; returns (status, ename, evalue, traceback).

        A negative index marks a grader cell: it runs against a throw-away notebook so that
        nbclient's bookkeeping never touches the student's cells.
        """
        self.client.timeout = int(timeout) if timeout else None
        replies: list[dict[str, Any]] = []
        self.client.on_cell_executed = lambda **kw: replies.append(kw.get("execute_reply") or {})
        own_nb = self.client.nb
        if index < 0:
            self.client.nb = nbformat_typed.new_notebook(cells=[cell])
            index = 0
        try:
            await self.client.async_execute_cell(cell, index, execution_count=None)
        except DeadKernelError:
            return "kernel_died", "DeadKernelError", "the kernel died", []
        except (CellControlSignal, RuntimeError) as exc:
            return "kernel_died", type(exc).__name__, str(exc), []
        finally:
            self.client.nb = own_nb
        content = (replies[-1] if replies else {}).get("content", {})
        if content.get("status") == "error":
            if content.get("ename") == _TIMEOUT_ENAME:
                return "timeout", _TIMEOUT_ENAME, f"timed out after {timeout:.0f}s", []
            return (
                "error",
                str(content.get("ename", "")),
                str(content.get("evalue", "")),
                list(content.get("traceback", [])),
            )
        return "ok", "", "", []

    def _log_tail(self, limit: int = 1500) -> str:
        """The end of the kernel process's stderr: where a segfault or abort says what it was."""
        try:
            with open(self.kernel_log, "rb") as fh:  # only the end: the log can be huge
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - limit))
                text = fh.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if "without encryption" not in ln]
        return "\n".join(lines[-12:])

    async def _responsive(self) -> bool:
        """After an interrupt, is the kernel listening again (or did it swallow the signal)?"""
        ping = nbformat_typed.new_code_cell("pass")
        status, *_ = await self._run_source(ping, -1, 10)
        return status == "ok"

    async def run_notebook(self) -> None:
        code = [
            i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and c.source.strip()
        ]
        for idx in code:
            cell = self.nb.cells[idx]
            status, ename, evalue, tb = await self._run_source(cell, idx, self.limits.cell_timeout)
            self._counted(idx)
            self.executed += 1
            if self._over_limit(status):
                status, ename, evalue, tb = "kernel_died", "", "", []
            if status == "ok":
                self.succeeded.append(idx)
                continue
            problem = CellProblem(
                cell_index=idx,
                kind=status,
                ename=ename,
                evalue=evalue[:500],
                traceback=cells.student_frames(
                    _short_traceback(tb, self.limits.max_traceback_chars),
                    self.nb,
                    self.count_to_index,
                ),
                source_head=_head(cell.source),
                cell=self.numbers.get(idx, 0),
            )
            self.problems.append(problem)
            if status == "error":
                self.succeeded.append(idx)  # its definitions before the raise still count
            elif status == "timeout" and not await self._responsive():
                problem.evalue += "; the kernel ignored the interrupt and was restarted"
                if not await self.restart():
                    return
            elif status == "kernel_died":
                problem.traceback = self._log_tail()
                why = self._why_died()
                if why is not None:  # stopped by the sandbox: over a limit
                    problem.ename, problem.evalue = why
                if not await self.restart():
                    return

    async def run_extras(self, extras: Sequence[ExtraCell]) -> dict[str, ExtraOutcome]:
        outcomes: dict[str, ExtraOutcome] = {}
        setups = [e for e in extras if e.setup]
        hung: set[str] = set()
        pending = [e for e in extras if not e.setup]
        i = 0
        while i < len(pending):
            group = self._joinable(pending, i, hung)
            if len(group) > 1 and await self._run_joined(group, setups, outcomes):
                i += len(group)
                continue
            for extra in group or pending[i : i + 1]:
                await self._run_one(extra, setups, hung, outcomes)
            i += max(1, len(group))
        return outcomes

    def _joinable(self, pending: Sequence[ExtraCell], i: int, hung: set[str]) -> list[ExtraCell]:
        """The joinable cells from `i` on that may run as one: same timeout, no call of a name
        that hung, at most MAX_JOINED; [] when joining is off for this run."""
        if not self._join or not pending[i].joinable:
            return []
        group: list[ExtraCell] = []
        for extra in pending[i:]:
            if (
                not extra.joinable
                or extra.timeout != pending[i].timeout
                or (extra.calls and extra.calls in hung)
                or len(group) >= MAX_JOINED
            ):
                break
            group.append(extra)
        return group

    async def _ready_for_extras(self, setups: Sequence[ExtraCell]) -> bool:
        """The kernel answers and has run the setup cells since its last start."""
        if not self._need_setup:
            return True
        # A notebook can leave its kernel unable to run anything more (it then never
        # answers): a ping (milliseconds) finds that before the grading calls each wait
        # out their timeouts, and a restart with the cells replayed is tried once.
        if not await self._responsive() and not await self.restart():
            return False
        for s in setups:
            await self._run_source(nbformat_typed.new_code_cell(s.source), -1, s.timeout)
        self._need_setup = False
        return True

    async def _run_joined(
        self,
        group: Sequence[ExtraCell],
        setups: Sequence[ExtraCell],
        outcomes: dict[str, ExtraOutcome],
    ) -> bool:
        """Run `group` as one cell under the timeout each of them has alone. True when it ended
        well, every cell's outcome then "ok"; else nothing of it counts (the files its cells
        wrote are removed), joining is off for the rest of the run, and the caller runs them one
        by one, which is what they would have met alone: any call over its own timeout takes
        the joined cell over it too, and a call that raises out of its cell, kills the kernel
        or takes it over a limit fails the joined cell."""
        if self.client.km is None or not await self._ready_for_extras(setups):
            return False
        cell = nbformat_typed.new_code_cell("\n".join(e.source for e in group))
        t0 = time.monotonic()
        status, _ename, _evalue, _ = await self._run_source(
            cell, -1, group[0].timeout or self.limits.probe_timeout
        )
        over = self._over_limit(status)  # the guard then stopped the kernel
        if status == "ok" and not over:
            share = (time.monotonic() - t0) / len(group)
            for e in group:
                outcomes[e.key] = ExtraOutcome(e.key, "ok", duration_s=share)
            return True
        self._join = False
        for e in group:
            if e.output is not None:
                e.output.unlink(missing_ok=True)
        died = over or status == "kernel_died"
        if died and self.guard is not None:
            # Taken as a lone call's death takes it (a disk limit's wipe before the next start
            # included), and not said: the call that caused it says it again, alone.
            self.guard.verdict(said=False)
        if died or (status != "ok" and not await self._responsive()):
            self._need_setup = True
            await self.restart(counted=False)  # the call that did it will, alone, be counted
        return False

    async def _run_one(
        self,
        extra: ExtraCell,
        setups: Sequence[ExtraCell],
        hung: set[str],
        outcomes: dict[str, ExtraOutcome],
    ) -> None:
        if extra.calls and extra.calls in hung:
            outcomes[extra.key] = ExtraOutcome(extra.key, "timeout", skipped_after=extra.calls)
            return
        if self.client.km is None:
            outcomes[extra.key] = ExtraOutcome(extra.key, "not_run")
            return
        if not await self._ready_for_extras(setups):
            outcomes[extra.key] = ExtraOutcome(extra.key, "not_run")
            return
        cell = nbformat_typed.new_code_cell(extra.source)
        t0 = time.monotonic()
        status, ename, evalue, _ = await self._run_source(
            cell, -1, extra.timeout or self.limits.probe_timeout
        )
        if self._over_limit(status):
            status = "kernel_died"
        why = self._why_died() if status == "kernel_died" else None
        if why is not None:
            ename, evalue = why
        outcomes[extra.key] = ExtraOutcome(
            extra.key, status, ename, evalue[:500], time.monotonic() - t0
        )
        if status == "timeout" and extra.calls:
            hung.add(extra.calls)
        if status == "kernel_died" or (status == "timeout" and not await self._responsive()):
            self._need_setup = True
            await self.restart()
