"""Declaring checks: an exercise is a list of small functions, each with its points and the call
it needs from the student's kernel.

A check ends in one of three ways: it returns (passed), it raises `Fail(message)` (failed), or
it raises `NotAttempted` (the name is missing or still the stub). Anything else is a grader bug
and becomes status `error`, never the student's fault.

    ex = Exercise("ex02_pooling", title="Pooling")
    X = ex.input("x", lambda rng: rng.standard_normal((6, 6, 3)))

    @ex.check(points=2, call=Call("max_pool2d", X, pool_size=2, stride=2))
    def max_pool_stride_2(got, ctx):
        expect_match(got, ctx.expected, what=ctx.text)

`ex.compare(...)` registers exactly that common case in one line.

Hidden inputs: a hidden input's maker must make the check's target mistakes visible at every
seed. A check exists to catch some mistakes (a 'same' rounding check: floor instead of ceil, an
even split of an odd padding); its inputs are drawn from a distribution in which each of them
changes the answer (n not divisible by the stride, an odd total padding), never from one where
they show only for some seeds: otherwise two students with the same bug get different grades.
Those mistakes are declared next to the checks as known-wrong variants (`Exercise.wrong`, see
grader.checks.variants) with the checks that must catch them; a test holds every maker to it,
and a failed compare check names the variant the answer matches.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from grader.checks.outcomes import Fail as Fail  # re-exported: checks raise them from here
from grader.checks.outcomes import NotAttempted as NotAttempted
from grader.checks.values import copy_value as copy_value  # re-exported
from grader.models import Calibration, Limits

# The public examples of a student release (grader.selfcheck.public) are drawn from the same
# makers as the hidden inputs, on streams no grading seed can reach. A hidden stream's entropy is
# `words(seed) + [crc]`, zero-padded to NumPy's 4-word pool (trailing zero words change nothing);
# a public one's is `[crc, 0, 0, 0, PUBLIC_SALT]` (the spawn key follows the padded entropy).
# Five words with a zero fourth word would need a seed of exactly four 32-bit words whose top
# word is zero, and NumPy writes an int with no leading zero words: no seed, however large, has
# the public entropy, so a public stream equals a hidden one only by a 128-bit hash collision.
PUBLIC_SALT = 0x5E1FC4EC


@dataclass(frozen=True, eq=False)
class Input:
    """A hidden input, made afresh for every grading from the grading's seed.

    Inputs that share a `stream` draw from the same random stream, so that two arguments can be
    made consistent with each other (a layer stack and the input shape it fits).
    """

    name: str
    make: Callable[[np.random.Generator], Any]
    stream: str = ""
    uid: int = 0  # position among its exercise's inputs: two inputs may share a display name

    def materialise(self, seed: int) -> Any:
        rng = np.random.default_rng([seed, self._crc()])
        return self.make(rng)

    def materialise_public(self, draw: int = 0) -> Any:
        """The input of the student release's public example: fixed, and never a hidden one.
        `draw` > 0 draws again on another public stream (the release keeps drawing until every
        catalogued mistake fails a public example)."""
        key = (PUBLIC_SALT,) if draw == 0 else (PUBLIC_SALT, draw)
        rng = np.random.default_rng(np.random.SeedSequence(self._crc(), spawn_key=key))
        return self.make(rng)

    def _crc(self) -> int:
        return zlib.crc32((self.stream or f"{self.name}#{self.uid}").encode())


def standard_normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """The usual maker of a hidden input: an array of standard normal values of `shape`."""
    return lambda rng: rng.standard_normal(shape)


@dataclass(frozen=True)
class Driver:
    """Grader-written code that exercises student code *in the kernel* and returns data.

    Some student code can only be judged by using it: a Keras callback must be attached to a
    model and fed epoch logs; `feature_maps(model, image)` needs a model. A driver is the source
    of a module defining `name(need, *args, **kwargs)`, where `need("AccuracyThreshold")` looks
    up a student name. The probe runs it after the notebook and records what it returns, like
    any call; the verdict is still computed in the grader. The same source, given the
    reference namespace, computes `ctx.expected` in the grader.
    """

    name: str
    source: str

    @classmethod
    def from_file(cls, path: Path, name: str) -> Driver:
        return cls(name, Path(path).read_text(encoding="utf-8"))

    def run(self, namespace: Any, *args: Any, **kwargs: Any) -> Any:
        """Run against `namespace` (an object whose attributes are the names to drive)."""
        env: dict[str, Any] = {"__name__": f"cnn_grader_driver_{self.name}"}
        exec(_compiled(self.source, self.name), env)  # noqa: S102 - ours

        def need(name: str) -> Any:
            if not hasattr(namespace, name):
                raise NameError(f"name {name!r} is not defined")
            return getattr(namespace, name)

        return env[self.name](need, *args, **kwargs)


@functools.lru_cache(maxsize=64)
def _compiled(source: str, name: str) -> Any:
    """A driver's code, compiled once per process (every check of a driver call runs it)."""
    return compile(source, f"<driver {name}>", "exec")


# What the kernel does with a student name: call it, only read it, or hand it to a driver.
CallKind = Literal["call", "get", "driver"]


class Call:
    """A use of a student name: `Call("f", x, k=2)` calls it, `Call.get("model")` only reads it,
    `Call.driver(DRIVER, "AccuracyThreshold", target=0.9)` has a grader driver use it."""

    def __init__(self, func: str, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.kind: CallKind = "call"
        self.timeout: float | None = None
        self.driver_code: Driver | None = None
        self.label = ""

    @classmethod
    def get(cls, name: str) -> Call:
        c = cls(name)
        c.kind = "get"
        return c

    @classmethod
    def driver(cls, driver: Driver, name: str, *args: Any, **kwargs: Any) -> Call:
        """`name` is the student's name the driver needs first (missing → not attempted)."""
        c = cls(name, *args, **kwargs)
        c.kind = "driver"
        c.driver_code = driver
        return c

    def with_timeout(self, seconds: float) -> Call:
        self.timeout = seconds
        return self

    def labelled(self, text: str) -> Call:
        """What the report shows for this call instead of the generated `f(args)` text."""
        self.label = text
        return self

    def key(self) -> str:
        """Stable identity: two checks that need the same call share one kernel round trip."""
        text = repr(
            (
                self.kind,
                self.func,
                [_token(a) for a in self.args],
                sorted((k, _token(v)) for k, v in self.kwargs.items()),
                self.driver_code.name if self.driver_code else None,
            )
        )
        return f"{self.func}_{hashlib.sha1(text.encode()).hexdigest()[:10]}"

    def bind(self, seed: int, cache: dict[int, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return self._bind(lambda i: i.materialise(seed), cache)

    def bind_public(
        self, cache: dict[int, Any], draw: int = 0
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments of the release's public example of this call (see PUBLIC_SALT)."""
        return self._bind(lambda i: i.materialise_public(draw), cache)

    def _bind(
        self, make: Callable[[Input], Any], cache: dict[int, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        def value(a: Any) -> Any:
            if isinstance(a, Input):
                if id(a) not in cache:
                    cache[id(a)] = make(a)
                return cache[id(a)]
            if isinstance(a, tuple):
                return tuple(value(x) for x in a)
            if isinstance(a, list):
                return [value(x) for x in a]
            return a

        return tuple(value(a) for a in self.args), {k: value(v) for k, v in self.kwargs.items()}

    def describe(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> str:
        """What the student sees: `conv2d(x (7, 7, 3), kernel (3, 3, 3, 4), stride=2)`."""
        if self.label:
            return self.label
        if self.kind == "get":
            return self.func
        parts = [_show(raw, val) for raw, val in zip(self.args, args or self.args, strict=False)]
        for k, raw in self.kwargs.items():
            parts.append(f"{k}={_show(raw, (kwargs or {}).get(k, raw), named=False)}")
        return f"{self.func}({', '.join(parts)})"


def _token(a: Any) -> Any:
    if isinstance(a, Input):
        return ("input", a.name, a.uid)
    if isinstance(a, (tuple, list)):
        return tuple(_token(x) for x in a)
    return repr(a)


def _show(raw: Any, val: Any, limit: int = 400, *, named: bool = True) -> str:
    """An argument as the student sees it; `named=False` where a keyword already names it."""
    if isinstance(raw, Input):
        shape = getattr(val, "shape", None)
        if shape is not None:
            return f"{raw.name} {tuple(shape)}"
        text = repr(val)
        if len(text) > limit:
            return raw.name
        return f"{raw.name}={text}" if named else text
    return repr(raw)


@dataclass
class Context:
    """What a check function gets besides the student's value."""

    text: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    reference: Any  # namespace of reference functions
    call: Call | None
    _expected: Any = field(default=None, repr=False)
    _have_expected: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    profile: str = ""  # the training budget this grading runs under ("full" | "smoke")
    # What calibration settled for this check before grading (an accuracy check's threshold),
    # or why it could not (`threshold_problem`, a configuration problem): a check reads it and
    # never computes it.
    threshold: Any = None
    threshold_problem: str = ""

    @property
    def expected(self) -> Any:
        """The reference solution's answer to the same call (computed once, in the grader)."""
        if not self._have_expected:
            assert self.call is not None and self.call.kind in ("call", "driver")
            args, kwargs = copy_value(self.args), copy_value(self.kwargs)
            if self.call.driver_code is not None:
                self._expected = self.call.driver_code.run(self.reference, *args, **kwargs)
            else:
                self._expected = getattr(self.reference, self.call.func)(*args, **kwargs)
            self._have_expected = True
        return self._expected


CheckFn = Callable[[Any, Context], None]


@dataclass(frozen=True)
class Example:
    """A public example of the student release that is not a graded compare check.

    Graded checks on fixed arguments (`conv2d_params(3, 32, 64)`) or through a grader driver
    that also runs the grader's helpers (summarize) cannot become public examples; an example
    declares the call the release may make instead, on grader inputs drawn on a public stream.
    `parts` names the items of a tuple answer, each compared (and named in a message) on its
    own, with `part_hints` beside them. A driver call's answer is its driver's `own` value;
    `subject` says what of it is compared, as the graded check's message does ("the gradient");
    `dtype`: the answer's dtype is compared too, where a graded check asks for it (float32)."""

    id: str
    call: Call
    hint: str
    title: str
    atol: float = 1e-5
    parts: tuple[str, ...] = ()
    part_hints: tuple[str, ...] = ()
    subject: str = ""
    dtype: bool = False


@dataclass
class Check:
    id: str
    points: float
    fn: CheckFn
    call: Call | None
    title: str
    hint: str
    group: str
    # Raises ConfigurationError when the grader cannot judge this check on this machine (a
    # dataset is missing): the check is then an `error` for the instructor, whatever the
    # notebook did, rather than a `not_attempted` the student would be blamed for.
    requires: Callable[[], None] | None = None
    # Set by `Exercise.compare`: the check passes when the answer matches the reference's within
    # this atol. Only such checks can become public examples (the verdict is the comparison).
    compare_atol: float | None = None


@dataclass
class Exercise:
    """One exercise: its id, its solution notebook, its hidden inputs and its checks."""

    id: str
    title: str
    limits: Limits = field(default_factory=Limits)
    needs_tensorflow: bool = False
    datasets: tuple[str, ...] = ()  # what the notebook loads (`cnn-grader datasets fetch`)
    checks: list[Check] = field(default_factory=list)
    description: str = ""
    # Hooks for exercises that train: adjust the notebook to a profile (inject parameters) and
    # give the kernel its environment (dataset cache). Both return what the report should say.
    prepare: Callable[[Any, str], list[str]] | None = None
    kernel_env: Callable[[str], dict[str, str]] | None = None
    # Limits that depend on the profile (a smoke budget trains in seconds, not half an hour)
    # and on how long grading the reference solution took (from calibration, None when not
    # measured), and what the report should say of them; None: `limits` under every profile.
    profile_limits: Callable[[str, float | None], tuple[Limits, list[str]]] | None = None
    # Reference answers known ahead, keyed by call (a release's public examples carry theirs):
    # grading then loads no reference solution, which a student's machine does not have.
    answers: dict[str, Any] | None = None
    # Known wrong answers (grader.checks.variants.Wrong) a failed check names when it sees one:
    # the exercise's catalogue of mistakes.
    wrong: list[Any] = field(default_factory=list)
    # Public examples besides the compare checks (grader.selfcheck.public), and the functions
    # a student writes that get none, with the reason the self-check shows.
    examples: list[Example] = field(default_factory=list)
    unchecked: dict[str, str] = field(default_factory=dict)
    # Model builders whose stated facts (input shape, layers, parameters, compile settings) are
    # public self-checks (grader.selfcheck.models), and the names the grader needs after the
    # run (a trained model), which `cnn-grader check --course` says are there or not.
    public_models: tuple[str, ...] = ()
    after_run: tuple[str, ...] = ()
    # Graded checks judged by grader.selfcheck.judges on plain data, and so public as they are:
    # check id → the rules a builder's model must hold (plus, for ids in public_compile, the
    # reference's compile settings); check id → (judge name, its parameters) of a driver's data.
    public_properties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    public_compile: tuple[str, ...] = ()
    public_judged: dict[str, tuple[str, Any]] = field(default_factory=dict)
    _inputs: int = field(default=0, repr=False)

    @property
    def solution_path(self) -> Path:
        from grader.course import solutions_dir

        return solutions_dir() / f"{self.id}.ipynb"

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def limits_for(
        self, profile: str, calibration: Calibration | None = None
    ) -> tuple[Limits, list[str]]:
        """The limits a grading under `profile` runs with, and the report's notes on them."""
        if self.profile_limits is None:
            return self.limits, []
        return self.profile_limits(
            profile, calibration.reference_seconds if calibration is not None else None
        )

    def input(
        self, name: str, make: Callable[[np.random.Generator], Any], *, stream: str = ""
    ) -> Input:
        self._inputs += 1
        return Input(name, make, stream, uid=self._inputs)

    def check(
        self,
        *,
        points: float,
        call: Call | None = None,
        title: str = "",
        hint: str = "",
        group: str = "",
        id: str = "",
        requires: Callable[[], None] | None = None,
    ) -> Callable[[CheckFn], CheckFn]:
        def register(fn: CheckFn) -> CheckFn:
            self._add(
                Check(
                    id or fn.__name__,
                    points,
                    fn,
                    call,
                    title or _title(id or fn.__name__),
                    hint,
                    group or (call.func if call else ""),
                    requires,
                )
            )
            return fn

        return register

    def compare(
        self,
        id: str,
        *,
        points: float,
        call: Call,
        hint: str = "",
        title: str = "",
        atol: float = 1e-5,
        group: str = "",
    ) -> None:
        """A check that passes when the student's answer matches the reference's."""
        from grader.checks.expect import expect_match
        from grader.checks.variants import explain

        def fn(got: Any, ctx: Context) -> None:
            try:
                expect_match(got, ctx.expected, what=ctx.text, atol=atol)
            except Fail as exc:
                raise Fail(
                    f"{exc}{explain(got, ctx, self.wrong, atol=atol)}", hint=exc.hint
                ) from None

        self._add(
            Check(
                id,
                points,
                fn,
                call,
                title or _title(id),
                hint,
                group or call.func,
                compare_atol=atol,
            )
        )

    def example(
        self,
        id: str,
        *,
        call: Call,
        hint: str,
        title: str = "",
        atol: float = 1e-5,
        parts: tuple[str, ...] = (),
        part_hints: tuple[str, ...] = (),
        subject: str = "",
        dtype: bool = False,
    ) -> None:
        """Declare a public example that no compare check gives (see `Example`)."""
        if any(e.id == id for e in self.examples) or any(c.id == id for c in self.checks):
            raise ValueError(f"{self.id}: duplicate example id {id!r}")
        self.examples.append(
            Example(id, call, hint, title or _title(id), atol, parts, part_hints, subject, dtype)
        )

    def functions(self) -> list[str]:
        """The names a student writes that the checks call, in the order they are first used."""
        names = [c.call.func for c in self.checks if c.call is not None and c.call.kind != "get"]
        return list(dict.fromkeys(names + [e.call.func for e in self.examples]))

    def _add(self, check: Check) -> None:
        if any(c.id == check.id for c in self.checks):
            raise ValueError(f"{self.id}: duplicate check id {check.id!r}")
        self.checks.append(check)

    def calls(self) -> list[Call]:
        seen: dict[str, Call] = {}
        for c in self.checks:
            if c.call is not None:
                seen.setdefault(c.call.key(), c.call)
        return list(seen.values())


def _title(check_id: str) -> str:
    return check_id.replace("_", " ").capitalize()
