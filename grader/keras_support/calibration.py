"""The calibration cache: reference accuracies measured on this kind of machine, and the key
of everything such a number depends on.

Under `smoke` a trained model's threshold follows what the reference solution reaches under the
same budget on the same machine (grader.keras_support.spec). Measuring that is grading the
solution notebook, which is grader.calibrate's business, before any grading; this module only
keeps what was measured, in `<cache root>/calibration.json`, under a key of everything it
depends on (exercise, profile, budget, test images, solution notebook hash, the Keras backend
and its version, the Keras version, CPU or GPU), so that a number is measured once per machine
kind and backend, and reads the ones a course bundle ships. It never measures and never grades.

Under TensorFlow, the default backend, the key is the one it was before other backends were
graded (`"tensorflow": <version>`, no `"backend"`), so that calibrations already cached or
shipped stay valid; under JAX or PyTorch it names the backend (`"backend": "jax", "jax":
<version>`), so a measurement of one backend never stands for another's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader import backends, profiles
from grader.datasets import registry, sources
from grader.errors import ConfigurationError
from grader.keras_support.checks import find_accuracy_specs
from grader.keras_support.spec import AccuracySpec as AccuracySpec  # re-exported
from grader.keras_support.spec import Threshold as Threshold  # re-exported

CALIBRATION_FILE = "calibration.json"


class CalibrationError(ConfigurationError):
    """The reference solution could not be measured: the instructor's setup needs a look."""


def calibration_path() -> Path:
    return registry.cache_root() / CALIBRATION_FILE


def _version(name: str) -> str:
    return backends.version(name)


def _device() -> str:
    return "gpu" if profiles.gpu_available() else "cpu"


def _backend_fields(backend: str) -> dict[str, str]:
    """The key's entries for the backend: TensorFlow's as they always were."""
    version = _version(backends.distribution(backend))
    if backend == "tensorflow":
        return {"tensorflow": version}
    return {"backend": backend, backend: version}


def _machine_text(entry: dict[str, Any]) -> str:
    """ "cpu, jax 0.10.2, keras 3.15.1": the machine kind a key (or cached entry) names."""
    backend = str(entry.get("backend") or "tensorflow")
    return f"{entry.get('device')}, {backend} {entry.get(backend)}, keras {entry.get('keras')}"


def machine_kind() -> str:
    """What a measurement holds for besides the exercise: CPU or GPU, the Keras backend and
    its version, Keras'."""
    return _machine_text(
        {"device": _device(), "keras": _version("keras"), **_backend_fields(backends.current())}
    )


def calibration_key(exercise: Any, spec: AccuracySpec, profile: str) -> dict[str, Any]:
    """Everything the reference accuracy depends on."""
    training = spec.training
    budget = training.budget(profile)
    return {
        "exercise": spec.exercise_id,
        "variable": spec.variable,
        "profile": profile,
        "budget": budget.parameters() if budget else "notebook",
        "eval_samples": training.eval_samples(profile),
        "evaluated_on": "held-out half of the test split",
        "dataset": spec.dataset,
        "test_split": sources.test_split_id(spec.dataset),
        "solution_sha256": hashlib.sha256(exercise.solution_path.read_bytes()).hexdigest(),
        **_backend_fields(backends.current()),
        "keras": _version("keras"),
        "device": _device(),
    }


def _key_text(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Hold the cache's file lock: parallel gradings wait for one measurement."""
    path = calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one grader at a time
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _shipped() -> dict[str, Any]:
    """Calibrations the course bundle carries (measured by the instructor on a machine of the
    same kind: the key holds device, backend and Keras versions, so others never match)."""
    from grader.course import current

    try:
        path = current().calibration_file
    except ConfigurationError:
        return {}
    return _read(path) if path is not None else {}


def _entry(name: str) -> dict[str, Any] | None:
    for source in (_read(calibration_path()), _shipped()):
        entry = source.get(name)
        if isinstance(entry, dict) and isinstance(entry.get("accuracy"), (int, float)):
            return entry
    return None


# What names the machine kind in a key: an entry that differs only there was measured elsewhere.
_MACHINE = ("backend", *sorted(backends.BACKENDS), "keras", "device")


def measured_elsewhere(exercise: Any, spec: AccuracySpec, profile: str) -> list[str]:
    """The machines ("cpu, tensorflow 2.16.1, keras 3.3.3", "gpu, jax 0.10.2, keras …") of
    calibrations at hand (cached or shipped with the bundle) that hold for everything but this
    machine's kind and backend: not reused, and said so, when the reference is measured again
    here."""
    key = calibration_key(exercise, spec, profile)
    same = {k: v for k, v in key.items() if k not in _MACHINE}
    found = []
    for source in (_read(calibration_path()), _shipped()):
        for entry in source.values():
            if not isinstance(entry, dict) or any(entry.get(k) != v for k, v in same.items()):
                continue
            if all(entry.get(k) == key.get(k) for k in _MACHINE):
                continue
            found.append(_machine_text(entry))
    return sorted(set(found))


def cached(exercise: Any, spec: AccuracySpec, profile: str) -> float | None:
    """The reference accuracy measured on this kind of machine, if it was."""
    entry = _entry(_key_text(calibration_key(exercise, spec, profile)))
    return float(entry["accuracy"]) if entry is not None else None


def store(
    exercise: Any,
    spec: AccuracySpec,
    profile: str,
    accuracy: float,
    *,
    seconds: float,
    peak_memory_bytes: int | None = None,
) -> None:
    """Record a measurement (call it holding `locked()`); the file is replaced atomically.
    `peak_memory_bytes`: the most memory the reference's kernel used, where it was seen."""
    key = calibration_key(exercise, spec, profile)
    path = calibration_path()
    data = _read(path)
    data[_key_text(key)] = {
        **key,
        "accuracy": accuracy,
        "seconds": round(seconds, 1),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if peak_memory_bytes:
        data[_key_text(key)]["peak_memory_bytes"] = int(peak_memory_bytes)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def reference_seconds(exercise: Any, profile: str) -> float | None:
    """How long grading the reference solution took under `profile` on this machine (the
    longest of the exercise's accuracy checks), when it was measured; never measures."""
    seconds = []
    for spec in find_accuracy_specs(exercise):
        entry = _entry(_key_text(calibration_key(exercise, spec, profile)))
        if entry is not None and isinstance(entry.get("seconds"), (int, float)):
            seconds.append(float(entry["seconds"]))
    return max(seconds) if seconds else None


def reference_peak_memory(exercise: Any, profile: str) -> int | None:
    """The most memory grading the reference solution used under `profile` on this kind of
    machine (the largest over the exercise's accuracy checks), when calibration saw it."""
    peaks = []
    for spec in find_accuracy_specs(exercise):
        entry = _entry(_key_text(calibration_key(exercise, spec, profile)))
        if entry is not None and isinstance(entry.get("peak_memory_bytes"), int):
            peaks.append(int(entry["peak_memory_bytes"]))
    return max(peaks) if peaks else None


def measured_for(solutions: list[Path]) -> dict[str, Any]:
    """The cached calibrations of these solution notebooks (what `cnn-grader bundle` ships)."""
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in solutions if p.is_file()}
    data = _read(calibration_path())
    return {
        k: v for k, v in data.items() if isinstance(v, dict) and v.get("solution_sha256") in hashes
    }
