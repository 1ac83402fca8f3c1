"""Opening a student's `.keras` file without letting it take the grader down.

`safe_mode=True` keeps code in the file from running, but not the file from asking for
memory: a 40 KB archive whose config declares `Dense(3_000_000)` makes Keras allocate and
initialise a 9 GB weight before the weights file is even read, and a 3 MB archive can hold a
3 GB zero-filled weights entry that Keras reads into memory whole. On a grading machine that
is the OOM killer's business, and it picks the biggest process: the grader.

Two guards, used around every load of a student's model and every forward pass through it:

- `check_archive` (no TensorFlow): the file is a zip with the entries a `.keras` file has, of
  bounded count and bounded *uncompressed* size, so a decompression bomb is refused unread,
  whose config lists a bounded number of layers (Keras needs ~0.1 s to rebuild each one);
- `memory_cap`: while the model is loaded or run, the process's data segment may grow by a
  bounded amount only (RLIMIT_DATA, soft limit, restored afterwards), so an oversized
  allocation fails inside TensorFlow as an error the check reports, instead of the machine
  swapping until something is killed. It is not applied where an NVIDIA driver is present:
  the driver maps large private regions of its own, and a model's weights live on the GPU,
  whose allocator fails cleanly when it is full.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.checks.core import Fail

MAX_MODEL_BYTES = 256 * 1024 * 1024  # the file, and the sum of its entries once unpacked
MAX_ENTRIES = 64
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_LAYERS = 200  # the course's largest model has about 20
MODEL_MEMORY_BYTES = 2 * 1024**3  # what loading and running one course model may add


class ModelTooLarge(Fail):
    """The model asks for more memory than the grader gives one model."""


def check_archive(path: Path, *, what: str) -> None:
    """Fail unless `path` looks like a `.keras` archive of a reasonable size, unpacked."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise Fail(
            f"{what}: the saved model is {size / 2**20:.0f} MiB, more than the grader "
            f"loads ({MAX_MODEL_BYTES // 2**20} MiB); the course models are far smaller"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Fail(
            f"{what}: the saved model is not a Keras archive ({exc}); save it with "
            "model.save('name.keras')"
        ) from None
    names = {e.filename for e in entries}
    if len(entries) > MAX_ENTRIES or "config.json" not in names:
        raise Fail(
            f"{what}: the saved model is not a Keras archive (it has {len(entries)} "
            "entries and " + ("a" if "config.json" in names else "no") + " config.json)"
        )
    unpacked = sum(e.file_size for e in entries)
    config = next(e for e in entries if e.filename == "config.json")
    if unpacked > MAX_MODEL_BYTES or config.file_size > MAX_CONFIG_BYTES:
        raise Fail(
            f"{what}: the saved model unpacks to {unpacked / 2**20:.0f} MiB, more than "
            f"the grader loads ({MAX_MODEL_BYTES // 2**20} MiB); the course models are "
            "far smaller"
        )
    layers = count_layers(path)
    if layers is None:
        raise Fail(f"{what}: the saved model's config.json is not readable JSON")
    if layers > MAX_LAYERS:
        raise Fail(
            f"{what}: the saved model has {layers} layers, more than the grader loads "
            f"({MAX_LAYERS}); the course models have a few dozen at most"
        )


def count_layers(path: Path) -> int | None:
    """Layers listed in the archive's config.json, nested models included (no Keras needed).
    Keras takes about 0.1 s per layer to rebuild a model, so a config listing thousands of
    layers would hold the grader for minutes: it is counted before Keras sees it."""
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RecursionError):
        return None
    count, stack = 0, [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            listed = node.get("layers")
            if isinstance(listed, list):
                count += len(listed)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def custom_classes(path: Path) -> list[str]:
    """The classes in the archive's config that are not Keras' own (a layer subclass defined
    in the notebook, a Lambda layer), read without Keras: what a "could not be loaded" message
    should name."""
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RecursionError):
        return []
    found: list[str] = []
    stack: list[Any] = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name, module = node.get("class_name"), node.get("module")
            if isinstance(name, str) and "config" in node:
                own = isinstance(module, str) and module.split(".")[0] == "keras"
                label = f"{name} (module {module})" if isinstance(module, str) and module else name
                if (name == "Lambda" or not own) and label not in found:
                    found.append(label)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def unloadable_message(path: Path, what: str, error: str) -> str:
    """Why a student's model could not be loaded safely, naming its custom classes."""
    custom = custom_classes(path)
    if custom:
        names = ", ".join(custom[:5]) + (" …" if len(custom) > 5 else "")
        return (
            f"{what}: the model uses {names}, which is not a built-in Keras layer: the "
            "grader loads models with safe_mode and runs none of the notebook's code, so "
            "build the model from Keras' own layers (Conv2D, MaxPooling2D, Dense, …) "
            f"instead (Keras said: {error})"
        )
    return (
        f"{what}: the model could not be loaded safely ({error}). Build it from built-in "
        "Keras layers only: Lambda layers, custom layer classes and subclassed models "
        "cannot be graded."
    )


def data_segment_bytes() -> int | None:
    """The process's data segment now (VmData: what RLIMIT_DATA counts), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cap_applies() -> bool:
    return not os.path.exists("/dev/nvidiactl") and data_segment_bytes() is not None


@contextlib.contextmanager
def memory_cap(extra_bytes: int = MODEL_MEMORY_BYTES, *, what: str = "the model") -> Iterator[None]:
    """While inside, this process may grow its data segment by `extra_bytes` at most.

    An allocation past that fails (TensorFlow raises ResourceExhaustedError, NumPy and Python
    MemoryError); such a failure is turned into `ModelTooLarge`, a Fail with a message for the
    student. The previous limit is restored on the way out, whatever happened inside.
    """
    if not _cap_applies():
        yield
        return
    before = resource.getrlimit(resource.RLIMIT_DATA)
    now = data_segment_bytes() or 0
    soft = now + extra_bytes
    if before[1] != resource.RLIM_INFINITY:
        soft = min(soft, before[1])
    if before[0] != resource.RLIM_INFINITY:
        soft = min(soft, before[0])
    resource.setrlimit(resource.RLIMIT_DATA, (soft, before[1]))
    try:
        yield
    except Exception as exc:
        if is_out_of_memory(exc):
            raise ModelTooLarge(
                f"{what} needs more memory than the grader gives one model "
                f"({extra_bytes / 2**30:.0f} GiB): {type(exc).__name__}. The course models "
                "have well under a million parameters; check the layer sizes."
            ) from None
        raise
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, before)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    text = str(exc)[:2000]
    return (
        name == "ResourceExhaustedError"
        or "OOM when allocating" in text
        or ("Unable to allocate" in text)
    )
