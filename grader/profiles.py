"""Training budgets. `full` is the course's budget on a GPU; `smoke` a smaller, declared one
for machines without a GPU. Exercises without training grade the same under either."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROFILES = ("full", "smoke")


def gpu_available() -> bool:
    """A cheap look for an NVIDIA GPU, without importing TensorFlow in the grader."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/dev/nvidia0").exists() or (
        shutil.which("nvidia-smi") is not None and Path("/proc/driver/nvidia").exists()
    )


def resolve(name: str | None) -> str:
    """The profile to use: the one asked for, else `CNN_GRADER_PROFILE`, else by hardware."""
    chosen = (
        name or os.environ.get("CNN_GRADER_PROFILE") or ("full" if gpu_available() else "smoke")
    )
    if chosen not in PROFILES:
        raise ValueError(f"unknown profile {chosen!r}; choose one of {', '.join(PROFILES)}")
    return chosen
