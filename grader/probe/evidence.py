"""Read back what the probe wrote, as untrusted input.

Every record is size-checked before it is parsed, every array is loaded with
allow_pickle=False and must hold numbers, every file name must be a plain name inside the
probe's output folder, and nothing here ever executes code from the kernel. What cannot be
read becomes an `Evidence` with status "unreadable" and a message for the student.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from grader.models import ExtraStatus

MAX_RECORD_BYTES = 2_000_000
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 24
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")

# How a probed call can end, as seen from the grader.
EvidenceStatus = Literal[
    "returned",
    "missing",
    "stub",
    "not_callable",
    "raised",
    "unreadable",
    "timeout",
    "kernel_died",
    "not_run",
]
STATUSES: frozenset[str] = frozenset(get_args(EvidenceStatus))


@dataclass(frozen=True)
class KerasFile:
    """A model saved by the kernel; loading it (with safe_mode) is the check layer's business."""

    path: Path


@dataclass(frozen=True)
class ObjectInfo:
    """A value the probe could only describe (a callback, an arbitrary object)."""

    type_name: str
    module: str
    mro: tuple[str, ...] = ()


@dataclass
class Evidence:
    status: EvidenceStatus
    value: Any = None
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class _Unreadable(Exception):
    pass


def _check_header(path: Path, name: str) -> None:
    """dtype, shape and size from the .npy header, before NumPy allocates what it claims."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"format version {version}")
            shape, _, dtype = read_header(fh)
            data_bytes = path.stat().st_size - fh.tell()
    except Exception as exc:  # noqa: BLE001 - any malformed header is the submission's problem
        raise _Unreadable(f"array file {name} is not a valid .npy file ({exc})") from None
    if dtype.hasobject:
        raise _Unreadable(
            f"array file {name} is not a valid .npy file (it holds Python "
            "objects, which are never unpickled)"
        )
    if dtype.kind not in "biufc":
        raise _Unreadable(f"array of dtype {dtype} (expected numbers)")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise _Unreadable("array file is larger than the grader reads")
    if nbytes > data_bytes:
        raise _Unreadable(f"array file {name} is shorter than its header says")


def _load_array(out_dir: Path, name: Any) -> np.ndarray:
    if not isinstance(name, str) or not _NAME.match(name) or not name.endswith(".npy"):
        raise _Unreadable(f"bad array file name {name!r}")
    path = out_dir / name
    if not path.is_file() or path.is_symlink():
        raise _Unreadable(f"array file {name} is missing")
    if path.stat().st_size > MAX_ARRAY_BYTES + 4096:
        raise _Unreadable("array file is larger than the grader reads")
    _check_header(path, name)
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any malformed file is the submission's problem
        raise _Unreadable(f"array file {name} is not a valid .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc":
        raise _Unreadable(f"array of dtype {getattr(arr, 'dtype', '?')} (expected numbers)")
    return arr


def _decode(v: Any, out_dir: Path, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise _Unreadable("value nested too deeply")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_decode(x, out_dir, depth + 1) for x in v]
    if not isinstance(v, dict):
        raise _Unreadable(f"unexpected JSON value of type {type(v).__name__}")
    if "__ndarray__" in v:
        arr = _load_array(out_dir, v["__ndarray__"])
        if v.get("scalar") is True and arr.shape == ():
            return arr[()]
        return arr
    if "__tuple__" in v and isinstance(v["__tuple__"], list):
        return tuple(_decode(x, out_dir, depth + 1) for x in v["__tuple__"])
    if "__float__" in v:
        text = v["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise _Unreadable("bad float marker")
        return float(text)
    if "__bigint__" in v:
        text = str(v["__bigint__"])
        if not re.fullmatch(r"-?\d{1,400}", text):
            raise _Unreadable("bad integer marker")
        return int(text)
    if "__dict__" in v and isinstance(v["__dict__"], list):
        out = {}
        for pair in v["__dict__"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise _Unreadable("bad dict entry")
            k = _decode(pair[0], out_dir, depth + 1)
            if not isinstance(k, (str, int, float, bool, tuple)) and k is not None:
                raise _Unreadable("unhashable dict key")
            out[k] = _decode(pair[1], out_dir, depth + 1)
        return out
    if "__keras__" in v:
        name = v["__keras__"]
        if not isinstance(name, str) or not _NAME.match(name) or not name.endswith(".keras"):
            raise _Unreadable(f"bad model file name {name!r}")
        path = out_dir / name
        if not path.is_file() or path.is_symlink():
            raise _Unreadable("model file is missing")
        return KerasFile(path)
    if "__object__" in v:
        mro = v.get("mro", [])
        return ObjectInfo(
            str(v["__object__"])[:200],
            str(v.get("module", ""))[:200],
            tuple(str(m)[:200] for m in mro if isinstance(m, str))[:12]
            if isinstance(mro, list)
            else (),
        )
    raise _Unreadable("unexpected JSON object")


def read(out_dir: Path, key: str, *, run_status: ExtraStatus, skipped_after: str = "") -> Evidence:
    """The evidence of one probed call. `run_status` is how the probe cell itself ended;
    `skipped_after` names the function whose earlier call hung, when this one was not run."""
    path = out_dir / f"{key}.json"
    match run_status:
        case "timeout" | "kernel_died" | "not_run":
            # The probe never got to write this record, so a file here was put there by other
            # code (a record planted by the notebook): it is not evidence.
            return Evidence(
                status=run_status, extra={"skipped_after": skipped_after} if skipped_after else {}
            )
    if path.is_symlink():  # the grader may run as root: never read through the kernel's links
        return Evidence(status="unreadable", error_message="the result record is a link")
    if not path.is_file():
        # the cell ended but wrote nothing: the probe or the kernel was tampered with
        return Evidence(status="unreadable", error_message="the grading call produced no result")
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise _Unreadable("result record is too large")
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("key") != key:
            raise _Unreadable("result record does not match the call")
        status = record.get("status")
        if status not in STATUSES:
            raise _Unreadable(f"unknown status {status!r}")
        raw_error = record.get("error")
        err: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        duration = record.get("duration_s", 0.0)
        ev = Evidence(
            status=status,
            error_type=str(err.get("type", ""))[:200],
            error_message=str(err.get("message", ""))[:1000],
            traceback=str(err.get("traceback", ""))[:2000],
            duration_s=float(duration) if isinstance(duration, (int, float)) else 0.0,
            extra={"type": str(record.get("type", ""))[:200]},
        )
        if status == "returned":
            ev.value = _decode(record.get("value"), out_dir)
        return ev
    except (_Unreadable, ValueError, OSError, RecursionError) as exc:
        return Evidence(status="unreadable", error_message=str(exc))
