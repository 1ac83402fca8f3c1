"""What an accuracy check judges (`AccuracySpec`) and what it judges against (`Threshold`).

Plain data, decided before grading. Under every profile the threshold follows what the
reference solution reaches under the same budget on the same machine, minus a declared margin,
and never above the course target: a correct notebook passes whatever its seed, and the course
target stays the line wherever the budget lets the reference clear it. Under `smoke` (a small
injected budget) it is also never below a simpler exercise's reference plus `beat_margin` where
the spec names one (`must_beat`). Under `full` (the notebook's own budget) the course target is
shown beside the number, and a reference that does not reach it is said to the instructor
(grader.calibrate), never to the student. `threshold_for` computes it from the accuracies
calibration measured (grader.calibrate); the check only compares
(grader.keras_support.checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.keras_support.budget import eval_text

if TYPE_CHECKING:
    from grader.keras_support.budget import Training


@dataclass(frozen=True)
class AccuracySpec:
    """What an accuracy check judges: which trained model, on which data, against what."""

    exercise_id: str
    variable: str  # the notebook's variable holding the trained model
    dataset: str
    course_threshold: float  # the course target: caps the threshold, shown beside it (full)
    training: Training  # the exercise's budgets (the same object its hooks come from)
    margin: float = 0.03  # smoke: below the reference by at most this much
    build: str = ""  # the notebook's function that builds the model (its architecture is kept)
    exact_architecture: bool = True  # the course fixes the layers (not ex06: properties)
    must_beat: str = ""  # smoke: an exercise whose simpler model this one must beat
    beat_margin: float = 0.01  # ... by at least this much


@dataclass(frozen=True)
class Threshold:
    value: float
    profile: str
    source: str  # "reference" | "baseline" ("course": the target itself, no reference)
    reference: float | None = None
    margin: float = 0.0
    budget_text: str = ""
    baseline: float | None = None  # the simpler model's accuracy under the same budget
    baseline_name: str = ""
    beat_margin: float = 0.0
    course: float | None = None  # the course target, shown beside a calibrated number

    @property
    def below_course(self) -> bool:
        """The reference itself does not reach the course target under this budget."""
        return (
            self.course is not None and self.reference is not None and self.reference < self.course
        )

    def _course_text(self) -> str:
        if self.course is None:
            return ""
        if self.below_course:
            return (
                f"course target {self.course:g}, which the reference does not reach under "
                "this budget on this machine; "
            )
        return f"course target {self.course:g}; "

    def explain(self, accuracy: float) -> str:
        """The line of the report: '0.873 ≥ 0.859 = reference 0.889 − 0.03 (smoke profile…)'."""
        sign = "≥" if accuracy >= self.value else "<"
        head = f"{accuracy:.3f} {sign} {self.value:.3f}"
        if self.source == "baseline" and self.baseline is not None:
            ref = (
                f"; reference {self.reference:.3f} − {self.margin:g} is below it"
                if self.reference is not None
                else ""
            )
            return (
                f"{head} = {self.baseline_name} {self.baseline:.3f} + {self.beat_margin:g}, "
                f"which this model must beat{ref} ({self._course_text()}{self.profile} "
                f"profile: {self.budget_text})"
            )
        if self.source == "reference" and self.reference is not None:
            capped = self.value < round(self.reference - self.margin, 4)
            how = (
                f"course threshold (reference {self.reference:.3f} − {self.margin:g} is above it)"
                if capped
                else f"reference {self.reference:.3f} − {self.margin:g}"
            )
            beat = (
                f"; {self.baseline_name} {self.baseline:.3f} + {self.beat_margin:g} is below it"
                if self.baseline is not None
                else ""
            )
            course = "" if capped else self._course_text()
            return f"{head} = {how}{beat} ({course}{self.profile} profile: {self.budget_text})"
        return f"{head}, the course threshold ({self.profile} profile: {self.budget_text})"


@dataclass(frozen=True)
class Baseline:
    """A simpler exercise's reference, measured under another spec's budget (`must_beat`)."""

    name: str  # how the report names it: "the ex04_dense_baseline reference (dense_model) ..."
    accuracy: float
    beat_margin: float

    @property
    def floor(self) -> float:
        return round(self.accuracy + self.beat_margin, 4)


def threshold_for(
    spec: AccuracySpec, profile: str, reference: float | None, baseline: Baseline | None = None
) -> Threshold:
    """The threshold from what calibration measured: `reference` is the reference solution's
    accuracy under the profile's budget on this machine (the injected one under `smoke`, the
    notebook's own under `full`)."""
    training = spec.training
    evaluated = f"accuracy on {eval_text(training.eval_samples(profile))}"
    budget = training.budget(profile)
    if reference is None:
        raise ValueError(
            f"{spec.exercise_id}: under the {profile} profile the threshold "
            "follows the reference solution's accuracy, which is needed here"
        )
    value = min(spec.course_threshold, round(reference - spec.margin, 4))
    course = spec.course_threshold
    if budget is None:
        text = f"the notebook's own budget; {evaluated}; reference measured on this machine"
        return Threshold(value, profile, "reference", reference, spec.margin, text, course=course)
    text = f"{budget.describe()}; {evaluated}; reference measured on this machine"
    if baseline is None:
        return Threshold(value, profile, "reference", reference, spec.margin, text)
    if (
        baseline.floor > reference
    ):  # this budget cannot tell the two apart: never fail the reference
        text += (
            f"; WARNING: under this budget the reference does not beat {baseline.name} "
            f"({baseline.accuracy:.3f}), so the threshold cannot tell the two models apart"
        )
        return Threshold(value, profile, "reference", reference, spec.margin, text)
    return Threshold(
        max(value, baseline.floor),
        profile,
        "baseline" if baseline.floor > value else "reference",
        reference,
        spec.margin,
        text,
        baseline.accuracy,
        baseline.name,
        baseline.beat_margin,
    )
