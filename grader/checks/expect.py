"""Comparisons that fail with a message a student can act on.

Each helper checks the *type* of the student's value before anything else, so that a strange
value (a list where an array was expected, a string, None) fails with a message rather than
crashing the check, which would be reported as a grader error.

Only NumPy, the standard library and a relative import: the student release ships this file
unchanged in its self-check package (grader.release), so a public example and a graded check
fail with the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .outcomes import Fail

_NUMBER = (int, float, np.integer, np.floating)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return str(tuple(int(s) for s in shape))


def expect_array(got: Any, *, what: str) -> np.ndarray:
    """The value as a numeric NumPy array, or Fail. Lists of numbers are accepted."""
    if isinstance(got, np.ndarray):
        arr = got
    elif isinstance(got, (list, tuple)) or isinstance(got, _NUMBER):
        try:
            arr = np.asarray(got, dtype=float)
        except (ValueError, TypeError):
            raise Fail(f"{what}: expected an array of numbers, got {_kind(got)}") from None
    else:
        raise Fail(f"{what}: expected a NumPy array, got {_kind(got)}")
    if arr.dtype.kind not in "biuf":
        raise Fail(f"{what}: expected an array of real numbers, got dtype {arr.dtype}")
    return arr


def expect_shape(got: Any, shape: tuple[int, ...], *, what: str) -> np.ndarray:
    arr = expect_array(got, what=what)
    if tuple(arr.shape) != tuple(shape):
        raise Fail(f"{what}: expected shape {_fmt_shape(shape)}, got {_fmt_shape(arr.shape)}")
    return arr


def expect_close(got: Any, want: Any, *, what: str, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    want_arr = np.asarray(want, dtype=float)
    arr = expect_shape(got, want_arr.shape, what=what).astype(float)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(want_arr)):
        raise Fail(f"{what}: the result contains NaN or infinity")
    diff = np.abs(arr - want_arr)
    bad = diff > atol + rtol * np.abs(want_arr)
    if np.any(bad):
        _precision_problem(np.asarray(got), arr, want_arr, what=what)
        n = int(bad.sum())
        idx = (
            tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
            if diff.ndim
            else ()
        )
        at = f" at index {idx}" if idx else ""
        raise Fail(
            f"{what}: {n} of {arr.size} values differ from the expected ones; the largest "
            f"difference is {float(diff.max()):.4g}{at} (expected {float(want_arr[idx]):.6g},"
            f" got {float(arr[idx]):.6g})"
        )


PRECISION_HINT = (
    "Keep the arithmetic in float64: an output made with np.zeros_like(x) takes "
    "x's dtype, and .astype(np.float16) or np.float32 drop digits the comparison "
    "needs."
)
INTEGER_HINT = (
    "An output array made with np.zeros_like(x) of an integer x, or with dtype=int, "
    "holds whole numbers only: allocate it as floats (np.zeros(shape))."
)


def _precision_problem(raw: np.ndarray, arr: np.ndarray, want: np.ndarray, *, what: str) -> None:
    """Fail with a dtype diagnosis when the answer is the expected values at a lower precision
    (float16, float32) or cut to integers: the right computation, stored in the wrong dtype.
    Such an answer matches no mistake of the exercise, and the check's hint would mislead."""
    if raw.dtype.kind not in "biuf" or not np.all(np.isfinite(want)) or not want.size:
        return
    if raw.dtype.kind == "f" and raw.dtype.itemsize < 8:
        eps = float(np.finfo(raw.dtype).eps)
        if np.all(np.abs(arr - want) <= 50 * eps * max(1.0, float(np.abs(want).max()))):
            raise Fail(
                f"{what}: your answer has dtype {raw.dtype}: its values are the expected "
                f"ones only to {raw.dtype} precision; compute and return float64",
                hint=PRECISION_HINT,
            )
    elif raw.dtype.kind in "biu" and not np.all(want == np.round(want)):
        if np.all(np.abs(arr - want) < 1.0):
            raise Fail(
                f"{what}: your answer has dtype {raw.dtype}: it holds the expected values "
                "cut to whole numbers",
                hint=INTEGER_HINT,
            )


def expect_parts(got: Any, names: tuple[str, ...] | list[str], *, what: str) -> list[Any]:
    """The items of a tuple answer such as (dx, dkernel, dbias), each judged on its own."""
    if not isinstance(got, (tuple, list)) or len(got) != len(names):
        raise Fail(
            f"{what}: expected a tuple ({', '.join(names)}), got "
            + (
                f"{type(got).__name__} of {len(got)} items"
                if isinstance(got, (tuple, list))
                else type(got).__name__
            )
        )
    return list(got)


def expect_int(got: Any, want: int, *, what: str) -> None:
    if isinstance(got, (bool, np.bool_)):
        raise Fail(f"{what}: expected the integer {want}, got a boolean {got}")
    if isinstance(got, (float, np.floating)) and float(got).is_integer():
        got = int(got)
    if not isinstance(got, (int, np.integer)):
        raise Fail(f"{what}: expected the integer {want}, got {_kind(got)}")
    if int(got) != int(want):
        raise Fail(f"{what}: expected {want}, got {int(got)}")


def expect_match(got: Any, want: Any, *, what: str, atol: float = 1e-5) -> None:
    """Compare a student value against the reference value, structurally.

    Arrays compare by shape then values; integers exactly; floats within `atol`; tuples and
    lists item by item (a list is accepted where a tuple is expected, and the reverse).
    """
    if isinstance(want, np.ndarray):
        expect_close(got, want, what=what, atol=atol)
    elif isinstance(want, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)) or bool(got) != bool(want):
            raise Fail(f"{what}: expected {bool(want)}, got {_short(got)}")
    elif isinstance(want, (int, np.integer)):
        expect_int(got, int(want), what=what)
    elif isinstance(want, (float, np.floating)):
        if not isinstance(got, _NUMBER) or isinstance(got, bool):
            raise Fail(f"{what}: expected a number close to {float(want):.6g}, got {_kind(got)}")
        if not abs(float(got) - float(want)) <= atol + 1e-5 * abs(float(want)):
            raise Fail(f"{what}: expected {float(want):.6g}, got {float(got):.6g}")
    elif isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) and not (
            isinstance(got, np.ndarray) and got.ndim == 1
        ):
            raise Fail(
                f"{what}: expected a {type(want).__name__} of {len(want)} items, got {_kind(got)}"
            )
        items = list(got)
        if len(items) != len(want):
            raise Fail(f"{what}: expected {len(want)} items, got {len(items)}")
        for i, (g, w) in enumerate(zip(items, want, strict=False)):
            expect_match(g, w, what=f"{what}[{i}]", atol=atol)
    elif isinstance(want, str):
        if got != want:
            raise Fail(f"{what}: expected {want!r}, got {_short(got)}")
    elif want is None:
        if got is not None:
            raise Fail(f"{what}: expected None, got {_short(got)}")
    else:
        raise TypeError(f"expect_match cannot compare reference values of type {type(want)}")


def _kind(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"an array of shape {_fmt_shape(v.shape)}"
    if v is None:
        return "None"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of {len(v)} items"
    return f"{type(v).__name__} {_short(v)}"


def _short(v: Any, limit: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"
