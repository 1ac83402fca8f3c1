"""The environment a student's kernel starts with. Apart from grader.execution.kernel (which
loads nbclient and jupyter_client) so that a batch worker can start its zygote with it before
its own imports (grader.batch.worker)."""

from __future__ import annotations

import os

from grader import timing


def default_kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a student's kernel starts with: quiet TensorFlow, no GUI backends, GPU
    memory taken as needed (TensorFlow's growth; JAX's XLA without its 75% preallocation), so
    that kernels can share a GPU."""
    env = dict(os.environ)
    env.update(
        {
            "MPLBACKEND": "Agg",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "PYTHONHASHSEED": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
        }
    )
    env.pop("JPY_PARENT_PID", None)
    env.pop(timing.ENV, None)  # the grader's own timing (grader.timing), not the kernel's
    if extra:
        env.update(extra)
    return env
