"""Lateness on Gradescope, from the dates Gradescope itself hands the autograder.

`/autograder/submission_metadata.json` holds the submission's `created_at`, the assignment's
`due_date` and `late_due_date`, and for each user their own `assignment` dates where the
instructor gave an extension. Those dates are the deadlines here; the late policy (penalty per
hour or day, cap) is the course's term file (grader.batch.term), shipped in the autograder zip
as `term.toml` by `cnn-grader gradescope-zip --term`; without one, lateness is said and costs
nothing (Gradescope's own late settings still apply).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from grader.batch.term import Late, Term, load

METADATA = "submission_metadata.json"
TERM_FILE = "term.toml"


def _date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def lateness(root: Path, exercise: str) -> tuple[float, str]:
    """(the fraction taken off, what the student reads) for the submission under `root`
    (Gradescope's /autograder); (0, "") when on time, or when Gradescope gave no dates."""
    path = root / METADATA
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0, ""
    if not isinstance(meta, dict):
        return 0.0, ""
    assignment = _mapping(meta.get("assignment"))
    users = meta.get("users")
    own: dict[str, Any] = next(
        (_mapping(u.get("assignment")) for u in users or [] if isinstance(u, dict)), {}
    )
    due = _date(own.get("due_date")) or _date(assignment.get("due_date"))
    hard = _date(own.get("late_due_date")) or _date(assignment.get("late_due_date"))
    at = _date(meta.get("created_at"))
    if due is None or at is None:
        return 0.0, ""
    policy = root / "source" / TERM_FILE
    late = load(policy).late if policy.is_file() else Late()
    term = Term(deadlines={exercise: due}, late=dataclasses.replace(late, hard=hard or late.hard))
    fraction, text = term.lateness("", exercise, at)
    return fraction, (f"{text} (by Gradescope's submission time)" if text else "")
