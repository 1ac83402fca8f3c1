"""What a check needs from the student's kernel: a call of a student name, on hidden inputs.

    X = ex.input("x", standard_normal(6, 6, 3))       # an Input: made from the grading's seed
    Call("max_pool2d", X, pool_size=2, stride=2)       # calls the student's function
    Call.get("model")                                  # only reads a name
    Call.driver(DRIVER, "AccuracyThreshold", 0.9)      # grader code uses the name in the kernel

A call binds its inputs for one grading (`bind`, from the seed) or for the student release's
public example (`bind_public`, on a stream no seed reaches: PUBLIC_SALT), has a stable key (two
checks of the same call share one kernel round trip) and describes itself as the student reads
it. Declaring checks on calls is grader.checks.core's.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

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


# What a probe call does: call a student function, read a name, or run a grader driver.
CallKind = Literal["call", "get", "driver"]


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
