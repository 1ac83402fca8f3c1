"""Turn the calls the checks need into probe cells and the files those cells read.

The hidden inputs are written only after the student's cells have run (see
`grader.execution.kernel.run_async(before_extras=...)`), so a notebook cannot read them ahead.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.execution.kernel_types import ExtraCell

if TYPE_CHECKING:
    from grader.checks.calls import CallKind

PROBE_DIRNAME = ".cnn_grader_probe"
_KERNEL_SIDE = Path(__file__).with_name("kernel_side.py")
_PRELUDE = Path(__file__).with_name("prelude.py")


def prelude_env(folder: Path) -> dict[str, str]:
    """The kernel environment that runs `prelude.py` before the notebook's first cell (IPython
    runs `PYTHONSTARTUP` in every new kernel). The file is written into `folder` (the grader's
    cache, which sandboxed kernels can read) under a name of its content, once."""
    source = _PRELUDE.read_bytes()
    path = folder / f"prelude-{hashlib.sha256(source).hexdigest()[:16]}.py"
    if not path.is_file() or path.read_bytes() != source:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            folder.chmod(0o755)  # a sandboxed kernel runs as a uid of its own
        except OSError:
            pass
        tmp = folder / f".{path.name}.{uuid.uuid4().hex}"
        tmp.write_bytes(source)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    return {"PYTHONSTARTUP": str(path)}


@dataclass(frozen=True)
class ProbeCall:
    """One student name to look up in the kernel: called with arguments, or only read."""

    key: str
    name: str
    kind: CallKind
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    timeout: float | None = None
    driver: tuple[str, str] | None = None  # (function name, source) of a grader driver


def _encode(value: Any, in_dir: Path, counter: list[int]) -> Any:
    if isinstance(value, np.ndarray):
        name = f"a{counter[0]}.npy"
        counter[0] += 1
        np.save(in_dir / name, value, allow_pickle=False)
        return {"__ndarray__": name}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, in_dir, counter) for v in value]}
    if isinstance(value, list):
        return [_encode(v, in_dir, counter) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, in_dir, counter) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send {type(value).__name__} to the kernel")


def _clear(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        try:
            shutil.rmtree(path)
        except OSError:  # a folder the notebook made unreadable: set it aside instead
            path.rename(path.with_name(f"{path.name}.stale-{secrets.token_hex(4)}"))


def write_inputs(workdir: Path, calls: list[ProbeCall]) -> Path:
    """Write the manifest and input arrays; returns the probe folder.

    The folder is emptied first: the notebook ran in this working directory and may have left
    files there (records planted ahead of the probe), which must never pass for evidence.
    """
    probe_dir = workdir / PROBE_DIRNAME
    _clear(probe_dir)
    (probe_dir / "in").mkdir(parents=True, exist_ok=True)
    (probe_dir / "out").mkdir(parents=True, exist_ok=True)
    counter = [0]
    manifest = {
        c.key: {
            "name": c.name,
            "kind": c.kind,
            "args": _encode(list(c.args), probe_dir / "in", counter),
            "kwargs": _encode(dict(c.kwargs), probe_dir / "in", counter),
            **({"driver": c.driver[0], "driver_source": c.driver[1]} if c.driver else {}),
        }
        for c in calls
    }
    (probe_dir / "calls.json").write_text(json.dumps(manifest), encoding="utf-8")
    return probe_dir


def cells(
    calls: list[ProbeCall], workdir: Path, probe_root: Path | None = None, *, join: bool = True
) -> list[ExtraCell]:
    """The setup cell (defines the probe in the kernel) and one cell per call, so that a call
    that hangs or kills the kernel costs only itself; `join`, the calls run joined first
    (grader.execution.kernel_session), each alone when that does not end well. `probe_root`:
    where the grader itself finds the probe's folder (the kernel's path to it may be a link
    the notebook could have replaced)."""
    probe_dir = str(workdir / PROBE_DIRNAME)
    setup = (
        "__cnn_grader_probe__ = {'__name__': 'cnn_grader_probe'}\n"
        f"exec(compile({_KERNEL_SIDE.read_text(encoding='utf-8')!r}, 'cnn_grader_probe', 'exec'),"
        " __cnn_grader_probe__)\n"
        f"__cnn_grader_probe__ = __cnn_grader_probe__['Probe'](globals(), {probe_dir!r})\n"
    )
    out = [ExtraCell("__setup__", setup, timeout=60, setup=True)]
    out += [
        ExtraCell(
            c.key,
            f"__cnn_grader_probe__.run({c.key!r})",
            timeout=c.timeout,
            calls=c.name if c.kind != "get" else "",
            # Probe.run keeps whatever the call raises in its record: joined, the calls run
            # as one by one, without a round trip to the kernel each.
            joinable=join,
            output=(probe_root or workdir) / PROBE_DIRNAME / "out" / f"{c.key}.json",
        )
        for c in calls
    ]
    return out
