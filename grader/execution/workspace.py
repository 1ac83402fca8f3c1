"""Where one grading's kernel runs: its folders, its sandbox and its kernel, fresh or
pre-warmed, acquired and given back as one context manager.

    with workspace.acquire(executor, spec) as ws:
        ... ws.workdir, ws.probe_root, ws.box, ws.warm ...
    ws.sandbox_notes  # the sandbox's notes, once it is closed

A kernel the executor started ahead (grader.execution.warm) is claimed when it was started with
exactly what this submission's would be; else fresh folders are made and, when sandboxing, a
sandbox for them. On leaving, whatever happened: the warm kernel is killed (it is already
stopped unless the grading broke before it ran), the sandbox closed, and the folders removed
unless they are kept for debugging.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import timing
from grader.execution import sandbox
from grader.execution.executor import Prestarting
from grader.execution.sandbox import policy
from grader.models import Limits


@dataclass(frozen=True)
class Spec:
    """What the kernel of one grading is started with."""

    limits: Limits
    env: dict[str, str]
    sandbox_env: dict[str, str]
    submission: Path
    launch_prefix: tuple[str, ...]
    sandboxed: bool
    training: bool  # the Keras prelude (a training exercise) or the NumPy one
    keep: bool = False  # keep the folders (debugging)
    hide: tuple[Path, ...] = ()  # the class's submissions' folders (policy.submission_folders)


@dataclass
class Workspace:
    root: Path
    workdir: Path  # the kernel's folder (the kernel log stays beside it, in root)
    box: sandbox.Sandbox | None
    warm: Any  # a claimed pre-warmed kernel (grader.execution.warm), or None
    notes: list[str] = field(default_factory=list)  # the report's: how the kernel was had
    sandbox_notes: list[str] = field(default_factory=list)  # the sandbox's, once it is closed

    @property
    def probe_root(self) -> Path:
        """With a sandbox the probe's folder sits in `root`, where only the grader writes (a
        link in workdir points to it): no grader write goes through a path the notebook
        controls."""
        return self.root if self.box is not None else self.workdir

    def close_sandbox(self) -> None:
        """Nothing of the kernel runs on while its evidence is read."""
        if self.box is not None:
            self.box.close()


def _claim(executor: Any, spec: Spec) -> Any:
    if not isinstance(executor, Prestarting):
        return None
    from grader.execution import warm

    return executor.claim(
        warm.KernelSpec.of(
            limits=spec.limits,
            env=spec.env,
            sandbox_env=spec.sandbox_env,
            submission=spec.submission,
            launch_prefix=spec.launch_prefix,
            sandboxed=spec.sandboxed,
            prelude=warm.training_prelude() if spec.training else warm.NUMPY_PRELUDE,
            hide=spec.hide,
        )
    )


@contextmanager
def acquire(executor: Any, spec: Spec) -> Iterator[Workspace]:
    """The grading's workspace, with the submission copied into its kernel's folder."""
    with timing.span("kernel.claim"):
        warm = _claim(executor, spec)
    if warm is not None:  # started ahead for a submission like this one, used by none
        ws = Workspace(warm.root, warm.workdir, warm.box, warm, [warm.spec.note()])
        if ws.box is not None:
            ws.box.limits = spec.limits  # its caps are these already; its report names them
    else:
        root = Path(tempfile.mkdtemp(prefix="cnn-grader-"))
        workdir = root / "work"
        workdir.mkdir()
        ws = Workspace(root, workdir, None, None)
    try:
        with timing.span("sandbox"):
            shutil.copyfile(spec.submission, ws.workdir / "submission.ipynb")
            if ws.warm is not None and ws.box is not None:
                ws.box.adopt(ws.workdir / "submission.ipynb")
            if spec.sandboxed and ws.warm is None:
                ws.box = policy.for_grading(
                    ws.root,
                    ws.workdir,
                    spec.limits,
                    submission=spec.submission,
                    env=spec.sandbox_env,
                    hide=spec.hide,
                )
        yield ws
    finally:
        with timing.span("cleanup"):
            if ws.warm is not None:
                ws.warm.kill()  # already stopped, unless the grading broke before its kernel ran
            if ws.box is not None:
                ws.box.close()
                ws.sandbox_notes = ws.box.notes()
            if not spec.keep:
                shutil.rmtree(ws.root, ignore_errors=True)
