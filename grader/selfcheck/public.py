"""The public examples of a student release: which calls, on which inputs.

A public example is a compare check (`Exercise.compare`) of a function called on grader inputs,
or an example an exercise declares (`Exercise.example`: a driver's call, a tuple answer compared
part by part, a function whose graded checks use fixed arguments), drawn on a *public* stream
(`Input.materialise_public`, never a grading seed's) and answered by the reference solution when
the release is made (`Answers`). Compare checks on fixed arguments only are left out: their
inputs are the graded ones, so their answers would be a graded check's answer.

Chosen by the exercise's catalogue of mistakes (grader.checks.variants): first a few examples
per function spread over the checks' different hints (valid, same, stride, channels) and every
declared example; then, for each catalogued mistake of the function that none of them shows, the
release keeps drawing (the mistake's own checks first, then the others, draw after draw) until an
example shows it. A mistake no draw shows stops the release: the self-checks would pass a
notebook the grade marks down.

`cnn-grader generate` asks `public_functions` which functions get a self-check cell; the
release writes the chosen examples as data with grader.selfcheck.cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.checks.calls import Call, Input
from grader.checks.core import Exercise, copy_value
from grader.checks.diagnosis import matches
from grader.errors import ConfigurationError
from grader.selfcheck.codec import NotData, encode

MAX_PER_FUNCTION = 4  # before the catalogue asks for more
MAX_DRAWS = 40  # public draws tried per candidate for a mistake no example shows yet


@dataclass(frozen=True)
class Candidate:
    """A call that can be a public example (a compare check, or a declared example)."""

    id: str
    call: Call
    hint: str
    title: str
    atol: float
    parts: tuple[str, ...] = ()
    part_hints: tuple[str, ...] = ()
    subject: str = ""
    declared: bool = False  # an Exercise.example: always shown
    dtype: bool = False  # the answer's dtype compared too


@dataclass(frozen=True)
class Chosen:
    """A candidate on one public draw: what the release ships as one case."""

    candidate: Candidate
    draw: int

    @property
    def id(self) -> str:
        return self.candidate.id if self.draw == 0 else f"{self.candidate.id}_draw{self.draw}"


def candidates(exercise: Exercise) -> list[Candidate]:
    """Every call of the exercise that can be a public example, in declaration order."""
    out = []
    for check in exercise.checks:
        call = check.call
        if check.compare_atol is None or call is None or call.kind != "call":
            continue
        if _qualifies(call):
            out.append(Candidate(check.id, call, check.hint, check.title, check.compare_atol))
    for example in exercise.examples:
        if not _qualifies(example.call):
            raise ConfigurationError(
                f"{exercise.id}: example {example.id} has no grader input "
                "or an argument that is not plain data"
            )
        out.append(
            Candidate(
                example.id,
                example.call,
                example.hint,
                example.title,
                example.atol,
                example.parts,
                example.part_hints,
                example.subject,
                declared=True,
                dtype=example.dtype,
            )
        )
    return out


def public_functions(exercise: Exercise) -> list[str]:
    """The student functions that have public examples, in the order the checks name them
    (model builders: their stated facts, grader.selfcheck.models)."""
    judged = [
        c.call.func
        for c in exercise.checks
        if c.call is not None
        and (c.id in exercise.public_properties or c.id in exercise.public_judged)
    ]
    return list(
        dict.fromkeys(
            [c.call.func for c in candidates(exercise)] + list(exercise.public_models) + judged
        )
    )


def unchecked(exercise: Exercise) -> dict[str, str]:
    """The functions a student writes that get no public example, and why (for the student)."""
    have = set(public_functions(exercise)) | set(exercise.after_run)
    missing = [f for f in exercise.functions() if f not in have]
    undeclared = [f for f in missing if f not in exercise.unchecked]
    if undeclared:
        raise ConfigurationError(
            f"{exercise.id}: {', '.join(undeclared)} get no public example "
            "and the exercise does not say why (Exercise.unchecked)"
        )
    return {f: exercise.unchecked[f] for f in missing}


class Answers:
    """The reference's and the catalogued mistakes' answers on public draws, computed once."""

    def __init__(self, exercise: Exercise, reference: Any) -> None:
        self.exercise = exercise
        self.reference = reference
        self._bound: dict[tuple[str, int], tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._expected: dict[tuple[str, int], Any] = {}
        self._caches: dict[int, dict[int, Any]] = {}

    def bound(self, chosen: Chosen) -> tuple[tuple[Any, ...], dict[str, Any]]:
        key = (chosen.candidate.id, chosen.draw)
        if key not in self._bound:
            # Inputs shared by several calls are drawn once per draw, as in a grading.
            cache = self._caches.setdefault(chosen.draw, {})
            self._bound[key] = chosen.candidate.call.bind_public(cache, chosen.draw)
        return self._bound[key]

    def expected(self, chosen: Chosen) -> Any:
        key = (chosen.candidate.id, chosen.draw)
        if key not in self._expected:
            args, kwargs = copy_value(self.bound(chosen))
            call = chosen.candidate.call
            if call.driver_code is not None:
                self._expected[key] = call.driver_code.run(self.reference, *args, **kwargs)["own"]
            else:
                self._expected[key] = getattr(self.reference, call.func)(*args, **kwargs)
        return self._expected[key]

    def wrong(self, chosen: Chosen) -> list[tuple[Any, Any]]:
        """(Wrong, its answer) for each mistake of the function that differs here."""
        args, kwargs = self.bound(chosen)
        want = self.expected(chosen)
        out = []
        for wrong in self.exercise.wrong:
            if wrong.func != chosen.candidate.call.func:
                continue
            try:
                value = wrong.value(self.reference, args, kwargs)
            except Exception:  # noqa: BLE001 - this mistake has no answer for these inputs
                continue
            if not matches(value, want, atol=chosen.candidate.atol):
                out.append((wrong, value))
        return out

    def shows(self, wrong: Any, chosen: Chosen) -> bool:
        return any(w is wrong for w, _ in self.wrong(chosen))


def choose(
    exercise: Exercise, reference: Any, *, strict: bool = True, answers: Answers | None = None
) -> list[Chosen]:
    """The public examples of every function: a spread, then draws until the catalogue is shown
    (see the module docstring); ConfigurationError names a mistake no draw shows (with
    `strict=False` it is left unshown: `cnn-grader catalogue` reports it). `answers`: the
    caller's, to reuse the answers computed while choosing."""
    answers = answers if answers is not None else Answers(exercise, reference)
    by_function: dict[str, list[Candidate]] = {}
    for c in candidates(exercise):
        by_function.setdefault(c.call.func, []).append(c)
    chosen: list[Chosen] = []
    for func, cands in by_function.items():
        picks = [Chosen(c, 0) for c in _spread(cands)]
        for wrong in (w for w in exercise.wrong if w.func == func):
            if any(answers.shows(wrong, p) for p in picks):
                continue
            order = [c for c in cands if c.id in wrong.caught_by] + [
                c for c in cands if c.id not in wrong.caught_by
            ]
            found = next(
                (
                    Chosen(c, d)
                    for d in range(MAX_DRAWS)
                    for c in order
                    if answers.shows(wrong, Chosen(c, d))
                ),
                None,
            )
            if found is None and not strict:
                continue
            if found is None:
                raise ConfigurationError(
                    f"{exercise.id}: no public example of {func} shows the mistake {wrong.id} "
                    f"in {MAX_DRAWS} draws of {len(order)} calls; declare an example whose "
                    "inputs show it (Exercise.example)"
                )
            picks.append(found)
        chosen += picks
    return chosen


def _spread(cands: list[Candidate]) -> list[Candidate]:
    """Every declared example, and compare checks up to MAX_PER_FUNCTION, one per hint first."""
    declared = [c for c in cands if c.declared]
    compares = [c for c in cands if not c.declared]
    first_of_hint: list[Candidate] = []
    for c in compares:
        if all(c.hint != f.hint for f in first_of_hint):
            first_of_hint.append(c)
    rest = [c for c in compares if c not in first_of_hint]
    room = max(MAX_PER_FUNCTION - len(declared), 0)
    keep = {c.id for c in (first_of_hint + rest)[:room]}
    return [c for c in cands if c.declared or c.id in keep]


def _qualifies(call: Call) -> bool:
    if call.kind not in ("call", "driver"):
        return False
    if not _has_input(list(call.args) + list(call.kwargs.values())):
        return False
    args, kwargs = call.bind_public({})
    try:
        encode(list(args)), encode(list(kwargs.values()))
    except NotData:
        return False
    return True


def _has_input(values: list[Any]) -> bool:
    return any(
        isinstance(v, Input) or (isinstance(v, (tuple, list)) and _has_input(list(v)))
        for v in values
    )
