"""Judge the evidence: run every check of an exercise in the grader process.

This is where an outcome becomes a status and a status becomes points, through the two
functions of `grader.models`; nothing else in the code base decides either.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any, NoReturn

from grader.checks.core import Check, Context, Exercise, Fail, NotAttempted
from grader.checks.diagnosis import timeout_message
from grader.errors import ConfigurationError
from grader.models import Calibration, CheckResult, Outcome, points_for, status_of
from grader.probe.evidence import Evidence


def _precondition(ev: Evidence, text: str, name: str) -> tuple[Outcome, str] | None:
    """Map a probe record that is not a plain return value to an outcome, or None to go on."""
    match ev.status:
        case "returned":
            return None
        case "missing":
            return Outcome.NOT_ATTEMPTED, f"`{name}` is not defined in the notebook"
        case "stub":
            return Outcome.NOT_ATTEMPTED, f"`{name}` still raises NotImplementedError"
        case "not_callable":
            return Outcome.FAIL, f"`{name}` is a {ev.extra.get('type') or 'value'}, not a function"
        case "raised":
            where = f"\n{ev.traceback.strip()}" if ev.traceback else ""
            return Outcome.FAIL, f"{text} raised {ev.error_type}: {ev.error_message}{where}"
        case "timeout":
            if ev.extra.get("skipped_after"):
                return Outcome.TIMEOUT, (
                    f"{text} was not run: an earlier call of "
                    f"`{ev.extra['skipped_after']}` did not finish in time "
                    "(is there an endless loop?)"
                )
            limit = ev.extra.get("limit_s")
            return Outcome.TIMEOUT, (
                timeout_message(text, float(limit))
                if limit
                else f"{text} did not finish in time (is there an endless loop?)"
            )
        case "kernel_died":
            return Outcome.FAIL, f"the kernel died while running {text}"
        case "not_run":
            return Outcome.FAIL, (
                f"{text} could not be called: the notebook's kernel had died or run "
                "out of time before grading"
            )
        case "unreadable":
            pass
        case _:
            _every_status_has_a_case(ev.status)
    return Outcome.FAIL, f"the result of {text} could not be read: {ev.error_message}"


def _every_status_has_a_case(status: NoReturn) -> None:
    """For mypy only: a status of `EvidenceStatus` without a case above reaches this call, which
    then fails type checking. At run time an unknown status reads as "unreadable"."""


def run_check(
    check: Check, ev: Evidence | None, ctx: Context, call_seconds: float = 0.0
) -> CheckResult:
    """Judge one check; `call_seconds` is what its grading call took in the kernel."""
    t0 = time.monotonic()
    name = check.call.func if check.call else ""
    message = ""
    hint = check.hint
    details: dict[str, Any] = {}
    pre = _precondition(ev, ctx.text, name) if ev is not None else None
    try:
        if check.requires is not None:
            check.requires()
    except ConfigurationError as exc:
        pre = Outcome.CRASH, f"grader configuration problem: {exc}"
    if pre is not None:
        outcome, message = pre
    else:
        try:
            check.fn(ev.value if ev is not None else None, ctx)
            outcome = Outcome.RETURNED
        except Fail as exc:
            outcome, message = Outcome.FAIL, str(exc)
            hint = exc.hint or check.hint
        except NotAttempted as exc:
            outcome, message = Outcome.NOT_ATTEMPTED, str(exc) or f"`{name}` is not written yet"
        except ConfigurationError as exc:  # the machine's problem (a dataset), not a bug
            outcome, message = Outcome.CRASH, f"grader configuration problem: {exc}"
        except Exception as exc:  # noqa: BLE001 - by definition a grader bug
            outcome = Outcome.CRASH
            message = f"internal grader error in check {check.id}: {type(exc).__name__}: {exc}"
            details["traceback"] = traceback.format_exc(limit=6)
        details.update(ctx.extras)
    status = status_of(outcome)
    return CheckResult(
        id=check.id,
        status=status,
        score=points_for(status, check.points),
        max_score=float(check.points),
        message=message,
        title=check.title,
        hint=hint if status.value in ("failed", "timeout") else "",
        call=ctx.text,
        group=check.group,
        details=details,
        duration_s=round(call_seconds + time.monotonic() - t0, 3),
    )


def evaluate(
    exercise: Exercise,
    evidence: Mapping[str, Evidence],
    bound: Mapping[str, tuple[tuple[Any, ...], dict[str, Any]]],
    reference: Any,
    expected: Mapping[str, Any] | None = None,
    *,
    profile: str = "",
    timings: Mapping[str, float] | None = None,
    calibration: Calibration | None = None,
) -> list[CheckResult]:
    """Run every check. `expected` holds reference answers computed ahead (keyed by call);
    `profile` is the training budget the notebook ran under (thresholds depend on it);
    `timings` the seconds each grading call took in the kernel (keyed by call); `calibration`
    what was settled before grading (each check's threshold). A call that several checks
    share is counted in the first of them only."""
    timings = dict(timings or {})
    settled = calibration if calibration is not None else Calibration(profile=profile)
    results = []
    for check in exercise.checks:
        call = check.call
        args, kwargs = bound[call.key()] if call is not None else ((), {})
        ctx = Context(
            text=call.describe(args, kwargs) if call is not None else check.title,
            args=args,
            kwargs=kwargs,
            reference=reference,
            call=call,
            profile=profile,
            threshold=settled.thresholds.get(check.id),
            threshold_problem=settled.problems.get(check.id, ""),
        )
        if call is None:
            results.append(run_check(check, None, ctx))
            continue
        if expected is not None and call.key() in expected:
            ctx._expected, ctx._have_expected = expected[call.key()], True
        results.append(
            run_check(check, evidence.get(call.key()), ctx, timings.pop(call.key(), 0.0))
        )
    return results
