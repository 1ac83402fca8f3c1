"""The GPUs a kernel gets, decided by the grader from what it gives the kernel.

A training kernel inherits the grader's environment: it sees the machine's NVIDIA devices that
CUDA_VISIBLE_DEVICES lets through, and can use them only if the Keras backend in this Python
environment (TensorFlow, JAX or PyTorch: grader.backends) was built with CUDA. Both are looked
at here, in the grader (the backend in a child process, so that the grader never holds a CUDA
context), never asked of the kernel.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path


def gpus_given_to_kernels(
    environ: dict[str, str] | None = None, devices: list[str] | None = None
) -> int:
    """How many GPUs a kernel this grader starts can see: the NVIDIA devices of the machine,
    as CUDA_VISIBLE_DEVICES (inherited by the kernel) lets through; CUDA reads that list up to
    its first entry that names no device."""
    env = os.environ if environ is None else environ
    present = (
        devices
        if devices is not None
        else sorted(
            p.name for p in Path("/dev").glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name)
        )
    )
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return len(present)
    count = 0
    for entry in (e.strip() for e in visible.split(",")):
        if entry.isdigit() and int(entry) < len(present) or entry.startswith(("GPU-", "MIG-")):
            count += 1
        else:
            break
    return min(count, len(present))


# How each backend counts the GPUs it can use (what `keras.distribution.list_devices()` and
# PyTorch's CUDA count see), asked of the backend directly: lighter than importing Keras.
_COUNT_GPUS = {
    "tensorflow": "import tensorflow as tf; "
    "print('CNN_GRADER_GPUS', len(tf.config.list_physical_devices('GPU')))",
    "jax": "import jax\n"
    "try:\n    n = len(jax.devices('gpu'))\nexcept RuntimeError:\n    n = 0\n"
    "print('CNN_GRADER_GPUS', n)",
    "torch": "import torch; print('CNN_GRADER_GPUS', torch.cuda.device_count())",
}


@functools.lru_cache(maxsize=8)
def backend_gpus(visible: str | None, backend: str = "tensorflow") -> int | None:
    """How many GPUs the Keras backend in this Python environment (the kernels') can use with
    this CUDA_VISIBLE_DEVICES: a GPU the backend cannot use (TensorFlow without its CUDA
    libraries, a CPU-only jaxlib or torch) was not given to the kernel. Asked once per process
    and backend, in a child process, so that the grader never holds a CUDA context; None when
    it cannot tell."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(
        {
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **({"CUDA_VISIBLE_DEVICES": visible} if visible is not None else {}),
        }
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _COUNT_GPUS[backend]],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.findall(r"^CNN_GRADER_GPUS (\d+)$", proc.stdout, flags=re.MULTILINE)
    return int(found[-1]) if found else None


def tensorflow_gpus(visible: str | None) -> int | None:
    """backend_gpus for TensorFlow (the default backend)."""
    return backend_gpus(visible, "tensorflow")


def expected_gpus() -> int:
    """What gpu_summary() must say here: no GPU without asking the backend (a CPU machine pays
    nothing), else the devices given that the grading's Keras backend can use."""
    from grader import backends

    given = gpus_given_to_kernels()
    if given == 0:
        return 0
    usable = backend_gpus(os.environ.get("CUDA_VISIBLE_DEVICES"), backends.current())
    return given if usable is None else min(given, usable)
