"""The GPUs a kernel gets, decided by the grader from what it gives the kernel.

A training kernel inherits the grader's environment: it sees the machine's NVIDIA devices that
CUDA_VISIBLE_DEVICES lets through, and can use them only if TensorFlow in this Python
environment has its CUDA libraries. Both are looked at here, in the grader (TensorFlow in a
child process, so that the grader never holds a CUDA context), never asked of the kernel.
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


_COUNT_GPUS = (
    "import tensorflow as tf; print('CNN_GRADER_GPUS', len(tf.config.list_physical_devices('GPU')))"
)


@functools.lru_cache(maxsize=4)
def tensorflow_gpus(visible: str | None) -> int | None:
    """How many GPUs TensorFlow in this Python environment (the kernels') can use with this
    CUDA_VISIBLE_DEVICES: a GPU that TensorFlow cannot use (no CUDA libraries installed) was
    not given to the kernel. Asked once per process, in a child process, so that the grader
    never holds a CUDA context; None when it cannot tell."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(
        {
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **({"CUDA_VISIBLE_DEVICES": visible} if visible is not None else {}),
        }
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _COUNT_GPUS],
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


def expected_gpus() -> int:
    """What gpu_summary() must say here: no GPU without asking TensorFlow (a CPU machine pays
    nothing), else the devices given that TensorFlow can use."""
    given = gpus_given_to_kernels()
    if given == 0:
        return 0
    usable = tensorflow_gpus(os.environ.get("CUDA_VISIBLE_DEVICES"))
    return given if usable is None else min(given, usable)
