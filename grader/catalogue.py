"""`cnn-grader catalogue`: each exercise's catalogue of mistakes, and where each one is caught.

For every catalogued mistake (grader.checks.variants.Wrong) of an exercise: the graded checks
meant to catch it, judged on its answer at each of `seeds` grading seeds exactly as a student's
answer would be (the check must fail and name it, or a mistake with the very same answer), and
the public examples of the student release that show it. A mistake that a check misses at some
seed, or that no public example shows, is a hole in the course's grading: the command says so
and exits 1. tests/test_discriminating_inputs.py holds every check to the same judgement.

No student code runs here: the mistakes are the grader's own functions of the reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from grader.checks.core import Check, Context, Exercise
from grader.checks.runner import run_check
from grader.checks.variants import Wrong, matches
from grader.models import CheckResult
from grader.probe.evidence import Evidence

DEFAULT_SEEDS = tuple(range(30))


def context(check: Check, seed: int, reference: Any) -> Context:
    """The check's context at a grading seed, as a grading builds it."""
    assert check.call is not None
    args, kwargs = check.call.bind(seed, {})
    return Context(
        text=check.call.describe(args, kwargs),
        args=args,
        kwargs=kwargs,
        reference=reference,
        call=check.call,
    )


def judge_variant(
    exercise: Exercise, wrong: Wrong, check: Check, seed: int, reference: Any
) -> tuple[CheckResult, Any, Context]:
    """The check's result when a student's answer is the mistake's, at `seed`; the answer and
    the context beside it."""
    assert check.call is not None
    ctx = context(check, seed, reference)
    value = wrong.value(ctx.reference, ctx.args, ctx.kwargs)
    got = {"own": value} if check.call.kind == "driver" else value
    return run_check(check, Evidence(status="returned", value=got), ctx), value, ctx


def named_rightly(
    exercise: Exercise, wrong: Wrong, result: CheckResult, value: Any, ctx: Context
) -> bool:
    """The failed check named this mistake, or one that gives the very same answer here."""
    named = result.details.get("diagnosis", [])
    if wrong.id in named:
        return True
    others = [w for w in exercise.wrong if w.func == wrong.func and w.id in named]
    return bool(others) and matches(others[0].value(ctx.reference, ctx.args, ctx.kwargs), value)


@dataclass
class Entry:
    """One mistake: the checks that catch it at every seed, those that miss it somewhere, and
    the public examples that show it."""

    wrong: Wrong
    caught: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # "check at seed s: why"
    public: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.caught) and not self.missed and bool(self.public)


def survey(exercise: Exercise, reference: Any, seeds: Iterable[int] = DEFAULT_SEEDS) -> list[Entry]:
    """Every mistake of the exercise, judged by its checks at `seeds` and against the release's
    public examples."""
    from grader.selfcheck.public import Answers, choose

    seeds = tuple(seeds)
    checks = {c.id: c for c in exercise.checks}
    answers = Answers(exercise, reference)
    examples = choose(exercise, reference, strict=False, answers=answers) if exercise.wrong else []
    entries = []
    for wrong in exercise.wrong:
        entry = Entry(wrong)
        for cid in wrong.caught_by:
            problem = next(
                (
                    p
                    for p in (_miss(exercise, wrong, checks[cid], s, reference) for s in seeds)
                    if p
                ),
                "",
            )
            (entry.missed if problem else entry.caught).append(
                f"{cid}: {problem}" if problem else cid
            )
        entry.public = [c.id for c in examples if answers.shows(wrong, c)]
        entries.append(entry)
    return entries


def _miss(exercise: Exercise, wrong: Wrong, check: Check, seed: int, reference: Any) -> str:
    result, value, ctx = judge_variant(exercise, wrong, check, seed, reference)
    if result.status.value != "failed":
        return f"{result.status.value} at seed {seed}"
    if not named_rightly(exercise, wrong, result, value, ctx):
        return f"failed at seed {seed} without naming it"
    return ""


def lines(exercise: Exercise, entries: list[Entry], seeds: int) -> Iterator[str]:
    """The terminal table of one exercise's catalogue."""
    peers = sum(1 for e in entries if e.wrong.source)
    yield (
        f"{exercise.id}: {len(entries)} catalogued mistakes ({peers} from other courses' and "
        f"libraries' conventions), judged at {seeds} seeds"
    )
    for e in entries:
        mark = "✔" if e.ok else "✘"
        source = f"  [{e.wrong.source}]" if e.wrong.source else ""
        yield f"  {mark} {e.wrong.func}/{e.wrong.id}{source}"
        yield f"      graded: {', '.join(e.caught) or 'no check catches it'}"
        for miss in e.missed:
            yield f"      MISSED by {miss}"
        yield f"      public: {', '.join(e.public) or 'no public example shows it'}"
