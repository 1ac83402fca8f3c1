"""Grade one notebook: execute → probe → check → report.

    result = grade(Path("alice_ex01.ipynb"))
    paths = write_reports(result, Path("reports"), "alice_ex01")

The student's kernel produces data; every verdict is computed here, in the grader process.
`grade` settles what the pipeline needs before anything runs (the exercise, and what
calibration resolved for it: grader.calibrate), then hands over to grader.pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader import calibrate, pipeline, timing
from grader.errors import UnknownExercise, require_training_packages
from grader.execution import notebook as nbio
from grader.exercises import get as get_exercise
from grader.exercises import infer_from_name
from grader.models import GradeResult
from grader.options import Options

__all__ = ["Options", "grade", "resolve_exercise"]


def resolve_exercise(path: Path, nb: Any | None, explicit: str | None) -> str:
    """--exercise wins; else the notebook's metadata; else the file name."""
    if explicit:
        get_exercise(explicit)  # raises UnknownExercise with the list of known ids
        return explicit
    found = (nbio.exercise_from_metadata(nb) if nb is not None else None) or infer_from_name(
        path.name
    )
    if not found:
        raise UnknownExercise(
            f"cannot tell which exercise {path.name} is: its metadata names none and its file "
            "name has no exercise id; pass --exercise"
        )
    return found


def grade(path: Path, options: Options | None = None) -> GradeResult:
    """Grade one submission. Never raises for anything the submission does; raises
    UnknownExercise (a usage problem) when the exercise cannot be determined.

    Calibration comes first (`options.calibration`, settled ahead for this profile and this
    kind of machine, else resolved now, measuring the reference solution on a cache miss):
    no check ever starts a grading of its own."""
    opts = options or Options()
    with timing.grading(str(path)):
        with timing.span("open"):
            opened = pipeline.open_notebook(path, opts)
        start, path, nb, notes = opened.start, opened.path, opened.nb, opened.notes
        if opened.problem:
            eid = opts.exercise or infer_from_name(path.name)
            return pipeline.unusable(
                path, get_exercise(eid) if eid else None, opened.problem, start
            )
        exercise = get_exercise(resolve_exercise(path, nb, opts.exercise))
        require_training_packages(exercise)  # before calibration, which would import Keras
        with timing.span("calibration"):
            calibration = opts.calibration
            if calibration is None or not calibrate.fits(calibration, start.profile):
                calibration = calibrate.resolve(exercise, start.profile)
        return pipeline.grade_notebook(path, nb, notes, exercise, opts, start, calibration)
