"""What the probe reads back is hostile input: files crafted by a notebook that knows the format.
Type, dtype, shape and size are checked before anything is compared, links are not followed
(the grader may run as root) and nothing is ever unpickled."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from grader.checks.core import Fail
from grader.checks.expect import expect_match
from grader.probe import evidence

KEY = "f_0123456789"


def record(out: Path, value: object) -> evidence.Evidence:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{KEY}.json").write_text(
        json.dumps({"key": KEY, "status": "returned", "value": value}), encoding="utf-8"
    )
    return evidence.read(out, KEY, run_status="ok")


class _Payload:
    """Unpickling this creates a file: the proof that something was unpickled."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (self.flag, "unpickled!"))  # type: ignore[return-value]


def test_a_pickle_inside_an_npy_file_is_never_unpickled(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    np.save(tmp_path / "evil.npy", np.array([_Payload(flag)], dtype=object), allow_pickle=True)
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(_Payload(flag)))
    for name in ("evil.npy", "raw.npy"):
        ev = record(tmp_path, {"__ndarray__": name})
        assert ev.status == "unreadable"
    assert not flag.exists()


def test_links_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    np.save(secret / "a.npy", np.arange(3.0))
    (secret / "rec.json").write_text(json.dumps({"key": KEY, "status": "returned", "value": 1}))
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(secret / "a.npy", out / "a.npy")
    assert record(out, {"__ndarray__": "a.npy"}).status == "unreadable"
    (out / f"{KEY}.json").unlink()
    os.symlink(secret / "rec.json", out / f"{KEY}.json")
    ev = evidence.read(out, KEY, run_status="ok")
    assert ev.status == "unreadable" and "link" in ev.error_message


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]),  # structured: not a plain number array
        np.array(["1.0", "2.0"]),
        np.zeros(2, dtype="V8"),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_arrays_that_are_not_plain_numbers_are_refused(array: np.ndarray, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", array, allow_pickle=False)
    ev = record(tmp_path, {"__ndarray__": "x.npy"})
    assert ev.status == "unreadable", ev


@pytest.mark.parametrize("shape", [(10**10,), (2 * 10**9,), (10**6, 10**6), (64,)])
def test_a_header_that_claims_more_than_the_file_holds_is_refused_unread(
    shape: tuple[int, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header is checked before NumPy allocates what it claims (here up to 7 TiB)."""
    with open(tmp_path / "x.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        fh.write(b"\0" * 32)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load was reached"))
    ev = record(tmp_path, {"__ndarray__": "x.npy"})
    assert ev.status == "unreadable"
    assert "larger than the grader reads" in ev.error_message or "shorter" in ev.error_message


def test_shape_and_dtype_are_compared_before_values() -> None:
    expected = np.ones((4, 4, 3))
    with pytest.raises(Fail, match=r"shape"):
        expect_match(np.ones((3, 3, 3)), expected, what="conv2d(x)")
    with pytest.raises(Fail):
        expect_match("ones", expected, what="conv2d(x)")
    with pytest.raises(Fail):
        expect_match(np.full((4, 4, 3), np.nan), expected, what="conv2d(x)")
    expect_match(expected.astype(np.float32), expected, what="conv2d(x)")  # a float32 is fine
