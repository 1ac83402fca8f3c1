"""How to grade one notebook: `Options`, the keyword settings of `grader.grade`.

A module of its own, below the pipeline, so that `from grader import Options` loads no kernel
machinery (nbclient, jupyter_client, the sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.execution.executor import NotebookExecutor
from grader.models import Calibration, Limits


@dataclass(frozen=True)
class Options:
    """How to grade; every field has a sensible default."""

    exercise: str | None = None  # an exercise id; None: from the notebook's metadata or name
    profile: str | None = None
    seed: int | None = None
    limits: Limits | None = None
    cell_timeout: float | None = None
    notebook_timeout: float | None = None
    keep_workdir: bool = False
    launch_prefix: tuple[str, ...] = ()
    # Limits and isolation around the kernel (grader.execution.sandbox); off only to debug.
    sandbox: bool = True
    # Where the notebook runs (grader.execution.executor): a fresh nbclient kernel by default;
    # tests replay recorded evidence through it.
    executor: NotebookExecutor | None = None
    # Folders the kernel must not see besides the course's and the submission's own: a batch's
    # submissions folder, where every student's files are (grader.execution.sandbox.policy).
    hide: tuple[Path, ...] = ()
    # What calibration resolved for the exercise under this profile (thresholds, the
    # reference's grading time), settled before grading: a batch resolves it once per exercise
    # and passes it to every grading. None: `grade()` resolves it (grader.calibrate), measuring
    # the reference solution first when the calibration cache lacks it.
    calibration: Calibration | None = None
    # The integrity scan of the notebook's code, for the instructor (`GradeResult.integrity`).
    # Off where only a student's view of the result is shown, which never has it (`check`,
    # `grade --view student`): the result is the same otherwise, and a NumPy check is faster.
    scan: bool = True
