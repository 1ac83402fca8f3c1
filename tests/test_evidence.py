"""grader.probe.evidence.read: what the probe wrote, read back as untrusted input.

Records here are written by hand (the round trip through the real probe is in
test_pipeline_replay.py); each case pins one rule of the reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.probe import evidence
from grader.probe.evidence import Evidence, KerasFile, ObjectInfo

KEY = "f_0123456789"


def write(out: Path, record: Any, key: str = KEY) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{key}.json").write_text(json.dumps(record), encoding="utf-8")


def returned(out: Path, value: Any) -> Evidence:
    write(out, {"key": KEY, "status": "returned", "value": value})
    return evidence.read(out, KEY, run_status="ok")


def test_plain_json_values(tmp_path: Path) -> None:
    assert returned(tmp_path, 3).value == 3
    assert returned(tmp_path, 2.5).value == 2.5
    assert returned(tmp_path, "text").value == "text"
    assert returned(tmp_path, None).value is None
    assert returned(tmp_path, [1, [2, True]]).value == [1, [2, True]]


def test_markers_decode_to_python_values(tmp_path: Path) -> None:
    assert returned(tmp_path, {"__tuple__": [1, {"__tuple__": [2, 3]}]}).value == (1, (2, 3))
    assert np.isnan(returned(tmp_path, {"__float__": "nan"}).value)
    assert returned(tmp_path, {"__float__": "-inf"}).value == float("-inf")
    assert returned(tmp_path, {"__bigint__": "1" + "0" * 30}).value == 10**30
    value = returned(tmp_path, {"__dict__": [["a", 1], [{"__tuple__": [1, 2]}, [3]]]}).value
    assert value == {"a": 1, (1, 2): [3]}
    info = returned(tmp_path, {"__object__": "Cb", "module": "m", "mro": ["Cb", "object", 3]})
    assert info.value == ObjectInfo("Cb", "m", ("Cb", "object"))


def test_arrays_load_from_plain_npy_files(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(2, 3))
    np.save(tmp_path / "s.npy", np.float32(1.5))
    ev = returned(tmp_path, [{"__ndarray__": "a.npy"}, {"__ndarray__": "s.npy", "scalar": True}])
    assert ev.status == "returned"
    arr, scalar = ev.value
    np.testing.assert_array_equal(arr, np.arange(6.0).reshape(2, 3))
    assert isinstance(scalar, np.floating) and scalar == 1.5


def test_keras_marker_is_only_a_path(tmp_path: Path) -> None:
    (tmp_path / "m.keras").write_bytes(b"not loaded here")
    assert returned(tmp_path, {"__keras__": "m.keras"}).value == KerasFile(tmp_path / "m.keras")


def test_error_fields_are_kept_and_bounded(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "key": KEY,
            "status": "raised",
            "duration_s": 0.25,
            "error": {"type": "ValueError", "message": "m" * 5000, "traceback": "tb"},
        },
    )
    ev = evidence.read(tmp_path, KEY, run_status="error")
    assert (ev.status, ev.error_type, ev.traceback, ev.duration_s) == (
        "raised",
        "ValueError",
        "tb",
        0.25,
    )
    assert len(ev.error_message) == 1000
    assert ev.value is None


@pytest.mark.parametrize("status", ["missing", "stub", "not_callable", "raised", "unreadable"])
def test_non_returned_statuses_carry_no_value(status: str, tmp_path: Path) -> None:
    write(tmp_path, {"key": KEY, "status": status, "value": 1, "type": "int"})
    ev = evidence.read(tmp_path, KEY, run_status="ok")
    assert ev.status == status and ev.value is None


@pytest.mark.parametrize("run_status", ["timeout", "kernel_died", "not_run"])
def test_a_cell_that_did_not_finish_has_no_evidence_even_if_a_file_is_there(
    run_status: str, tmp_path: Path
) -> None:
    assert evidence.read(tmp_path, KEY, run_status=run_status).status == run_status
    write(tmp_path, {"key": KEY, "status": "returned", "value": 1})  # planted, not the probe's
    ev = evidence.read(tmp_path, KEY, run_status=run_status)
    assert ev.status == run_status and ev.value is None


def test_a_finished_cell_without_a_record_is_unreadable(tmp_path: Path) -> None:
    ev = evidence.read(tmp_path, KEY, run_status="ok")
    assert ev.status == "unreadable" and "no result" in ev.error_message


UNREADABLE: dict[str, Any] = {
    "wrong key": {"key": "other", "status": "returned", "value": 1},
    "unknown status": {"key": KEY, "status": "passed", "value": 1},
    "not a dict": [KEY, "returned"],
    "unknown object": {"key": KEY, "status": "returned", "value": {"__class__": "os.system"}},
    "bad float": {"key": KEY, "status": "returned", "value": {"__float__": "1e400"}},
    "bad bigint": {"key": KEY, "status": "returned", "value": {"__bigint__": "1 + 1"}},
    "bad dict entry": {"key": KEY, "status": "returned", "value": {"__dict__": [[1, 2, 3]]}},
    "unhashable key": {"key": KEY, "status": "returned", "value": {"__dict__": [[[1], 2]]}},
    "traversal": {"key": KEY, "status": "returned", "value": {"__ndarray__": "../x.npy"}},
    "missing array": {"key": KEY, "status": "returned", "value": {"__ndarray__": "gone.npy"}},
    "keras traversal": {"key": KEY, "status": "returned", "value": {"__keras__": "../m.keras"}},
    "too deep": {"key": KEY, "status": "returned", "value": json.loads("[" * 30 + "]" * 30)},
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_malformed_records_are_unreadable(case: str, tmp_path: Path) -> None:
    write(tmp_path, UNREADABLE[case])
    ev = evidence.read(tmp_path, KEY, run_status="ok")
    assert ev.status == "unreadable", ev
    assert ev.error_message and ev.value is None


def test_oversized_files_are_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_ARRAY_BYTES", 1000)
    np.save(tmp_path / "big.npy", np.zeros(1000))
    ev = returned(tmp_path, {"__ndarray__": "big.npy"})
    assert ev.status == "unreadable" and "larger" in ev.error_message

    monkeypatch.setattr(evidence, "MAX_RECORD_BYTES", 100)
    write(tmp_path, {"key": KEY, "status": "returned", "value": "x" * 200})
    ev = evidence.read(tmp_path, KEY, run_status="ok")
    assert ev.status == "unreadable" and "too large" in ev.error_message


def test_arrays_that_are_not_numbers_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([None, {}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "str.npy", np.array(["a"]))
    (tmp_path / "junk.npy").write_bytes(b"junk")
    for name, words in (
        ("obj.npy", "not a valid .npy"),
        ("str.npy", "expected numbers"),
        ("junk.npy", "not a valid .npy"),
    ):
        ev = returned(tmp_path, {"__ndarray__": name})
        assert ev.status == "unreadable" and words in ev.error_message, (name, ev)
