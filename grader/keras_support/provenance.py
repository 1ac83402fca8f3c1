"""Was the graded model trained here? The record of training, judged in the grader.

The kernel's start-up code (grader/probe/prelude.py) wraps Keras' `fit()` and `train_on_batch()`
before the first cell and records, per model, what each call ran (epochs, steps, the size of its
data, the optimizer's step counter) and a digest of the weights at the end of every epoch and of
the call. The trained-model driver reports that record with the model and its weights' digest
now. Here, never in the kernel:

- the graded model's weights must be weights some recorded training of *this* model left: the
  end of a `fit()` (or `train_on_batch()`), or the end of one of its epochs (a best epoch that
  EarlyStopping restored, or ModelCheckpoint saved and the notebook loaded back). Weights set
  after training (set_weights, load_weights of other weights, assignment) or a model never
  trained in this run get no accuracy credit when they classify well (the accuracy check
  decides that after measuring: near chance, an untrained model gains nothing and gets the
  usual "was it trained?"), and the instructor a finding;
- more steps than the budget allows (a loop of fit() calls, a second fit()) is a finding and a
  note with the steps that ran, never a penalty by itself;
- an optimizer step counter moved after training is a finding, and so is the rest of the
  optimizer's state (its slot variables: Adam's moments, the learning rate) changed after
  training;
- once the accuracy is measured (`accuracy_findings`): a quarter or less of the budget's steps
  with an accuracy the reference reaches only with all of them, and, where the exercise fixes the
  architecture, an accuracy above the reference's by more than twice the calibrated margin (the
  seed spread the threshold allows), are findings for the instructor, never penalties.

A notebook runs arbitrary code in its kernel and can take the record apart; the record is then
missing or inconsistent, which is itself said to the instructor. Honest variations (another
validation_split, callbacks, a schedule, training in several fit() calls within the budget)
leave a consistent record and no finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# The words of every finding of weights that training in this run did not leave.
WEIGHTS_REFUSED = "weights not left by training in this run"


@dataclass
class Verdict:
    """What the record says: why the accuracy cannot be credited (""), findings for the
    instructor, notes for the report."""

    refuse: str = ""
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The findings that go with `refuse`, told to the instructor only when the refusal stands
    # (the weights classify well: a model left untrained gains nothing and is no finding).
    refused_findings: list[str] = field(default_factory=list)
    steps: int | None = None  # the steps every recorded training call ran, added up
    allowed: int | None = None  # the steps the budget allows (None: the notebook's own)


def _records(report: dict[str, Any]) -> list[dict[str, Any]] | None:
    raw = report.get("training")
    if not isinstance(raw, list):
        return None
    return [r for r in raw if isinstance(r, dict)][:200]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def steps_allowed(epochs: Any, samples: Any, batch_size: Any) -> int | None:
    """epochs × ceil(samples / batch): the steps a budget lets a model train."""
    e, n, b = _int(epochs), _int(samples), _int(batch_size)
    if e is None or n is None or not b or b <= 0:
        return None
    return e * math.ceil(n / b)


def judge(
    report: dict[str, Any], variable: str, *, allowed: int | None, budget_text: str = ""
) -> Verdict:
    """The verdict on the training record of `variable` (see the module docstring)."""
    verdict = Verdict()
    if "training" not in report:
        return verdict  # a driver without the record (an older kernel): nothing to judge
    records = _records(report)
    if records is None:
        verdict.findings.append(
            f"`{variable}`: no record of its training (the kernel's start-up "
            "code did not run, or the notebook took it apart)"
        )
        return verdict
    now = report.get("weights_digest")
    trained = [r for r in records if _int(r.get("steps")) or _int(r.get("epochs"))]
    if not trained:
        verdict.refuse = (
            f"`{variable}` was not trained in this run (no fit() of this model "
            "ran): its weights came from elsewhere, so its accuracy is not "
            "credited"
        )
        verdict.refused_findings.append(
            f"`{variable}`: {WEIGHTS_REFUSED}: no recorded fit() or train_on_batch() of this model"
        )
        return verdict
    known = {r.get("digest") for r in trained} | {
        d for r in trained for d in (r.get("epoch_digests") or []) if isinstance(d, str)
    }
    if isinstance(now, str) and now not in known:
        verdict.refuse = (
            f"`{variable}`'s weights are not the weights its training in this run "
            "left (they were set after training: set_weights, load_weights or an "
            "assignment), so its accuracy is not credited"
        )
        verdict.refused_findings.append(
            f"`{variable}`: {WEIGHTS_REFUSED}: changed after its "
            "last fit() (not those of any recorded epoch)"
        )
    last = trained[-1]
    if (
        _int(report.get("iterations")) is not None
        and _int(last.get("iterations")) is not None
        and report["iterations"] != last["iterations"]
    ):
        verdict.findings.append(
            f"`{variable}`: the optimizer's step counter moved after "
            f"training ({last['iterations']} → {report['iterations']})"
        )
    slots_then, slots_now = last.get("slots"), report.get("slots_digest")
    if isinstance(slots_then, str) and isinstance(slots_now, str) and slots_then != slots_now:
        verdict.findings.append(
            f"`{variable}`: the optimizer's state (its moments, learning "
            "rate) changed after training, not by a fit()"
        )
    total = sum(_int(r.get("steps")) or 0 for r in trained)
    verdict.steps, verdict.allowed = total, allowed
    calls = len(trained)
    if allowed is not None and total > allowed:
        text = (
            f"`{variable}` trained {total:,} steps in {calls} call"
            f"{'s' if calls != 1 else ''} of fit()/train_on_batch(); the budget"
            f"{' (' + budget_text + ')' if budget_text else ''} allows {allowed:,}"
        )
        verdict.findings.append(text)
        verdict.notes.append(text)
    return verdict


FEW_STEPS = 0.25  # of the budget's steps
SPREAD_FACTOR = 2.0  # × the threshold's margin below the reference: its seed spread


def accuracy_findings(
    variable: str,
    *,
    accuracy: float,
    reference: float | None,
    margin: float,
    steps: int | None,
    allowed: int | None,
    exact_architecture: bool,
) -> list[str]:
    """Findings on an accuracy the recorded training hardly explains (never a penalty)."""
    if reference is None:
        return []
    out = []
    if steps and allowed and steps <= FEW_STEPS * allowed and accuracy >= reference:
        out.append(
            f"`{variable}` trained {steps:,} steps, a quarter or less of the {allowed:,} "
            f"the budget allows, yet classifies {accuracy:.3f} of the held-out images, "
            f"as well as the reference with all of them ({reference:.3f})"
        )
    spread = SPREAD_FACTOR * max(margin, 0.01)
    if exact_architecture and accuracy > reference + spread:
        out.append(
            f"`{variable}` classifies {accuracy:.3f} of the held-out images, above the "
            f"reference's {reference:.3f} under the same budget on this machine by more "
            f"than the seed spread ({spread:g}) with the same architecture"
        )
    return out
