"""The Keras 3 backend a grading trains and judges with: TensorFlow (the default), JAX or PyTorch.

Chosen as Keras chooses it, by `KERAS_BACKEND`, read in the grader and handed on: the student's
kernel and the warm judge get the same `KERAS_BACKEND` (their environments say it explicitly,
so a `keras.json` elsewhere cannot pick another), calibrations are keyed by it (a reference
accuracy measured with JAX is never a threshold for TensorFlow), and the GPU count a kernel
must report is asked of it. Nothing here imports a backend: versions come from the installed
distributions' metadata.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

from grader.errors import BACKENDS as BACKENDS  # re-exported: the backends graded with
from grader.errors import ConfigurationError

DEFAULT = "tensorflow"
ENV = "KERAS_BACKEND"


def current(environ: dict[str, str] | None = None) -> str:
    """The backend named by KERAS_BACKEND (TensorFlow when unset); ConfigurationError for one
    the grader does not train with (Keras' numpy and openvino backends cannot fit a model)."""
    env = os.environ if environ is None else environ
    name = (env.get(ENV) or DEFAULT).strip().lower()
    if name not in BACKENDS:
        raise ConfigurationError(
            f"{ENV}={name!r}: the grader trains with {', '.join(sorted(BACKENDS))}; "
            f"set {ENV} to one of them (or leave it unset for {DEFAULT})"
        )
    return name


def distribution(backend: str) -> str:
    """The package a backend is installed as (what `pip install` and versions name)."""
    return BACKENDS[backend]


def version(name: str) -> str:
    """The installed version of distribution `name`, or "absent"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def describe(backend: str | None = None) -> str:
    """ "jax 0.10.2": the backend and its version, as the report and calibrations name it."""
    name = backend or current()
    return f"{name} {version(distribution(name))}"


def child_env(backend: str | None = None) -> dict[str, str]:
    """What a process that runs Keras for the grader (kernel, judge) gets besides its own
    settings: the backend, said explicitly."""
    return {ENV: backend or current()}


# Keras imports TensorFlow whenever it is installed, whatever the backend, to recognise
# TensorFlow types while saving a model (`keras.src.utils.module_utils.LazyModule`). A process
# of the grader's that runs another backend blocks that import: Keras then takes TensorFlow as
# absent, as on a machine without it, and the process never pays its import and its memory.
class NoTensorFlow:
    """A meta path finder under which `import tensorflow` raises ModuleNotFoundError."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "tensorflow" or fullname.startswith("tensorflow."):
            raise ModuleNotFoundError(
                f"cnn-grader: TensorFlow is not used under {ENV}={current()}", name=fullname
            )
        return None


def block_tensorflow_unless_used() -> bool:
    """In a process of the grader's own (the judge), under a backend other than TensorFlow:
    install NoTensorFlow (once). Returns whether it is installed."""
    import sys

    if current() == "tensorflow" or "tensorflow" in sys.modules:
        return False
    if not any(isinstance(f, NoTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, NoTensorFlow())
    return True


def import_keras() -> Any:
    """Keras, imported in a process of the grader's own (the grading process, the judge):
    under JAX or PyTorch with TensorFlow blocked first (block_tensorflow_unless_used)."""
    block_tensorflow_unless_used()
    import keras

    return keras
