"""`cnn-grader datasets fetch`: fill the grader's dataset cache on a machine that is online.

Kernels have no network (their own network namespace), so a grading machine fetches the
datasets before it grades: Classroom's workflow and Gradescope's setup.sh call this. Fetching
goes through Keras' own loaders, in a child process whose `KERAS_HOME` is the grader's
(`<cache root>/keras`), so the files land where Keras and the grader look, in Keras' layout,
and are then checked against the official content hashes like any other source. (CIFAR-10:
Keras keeps the 170 MB archive as `datasets/cifar-10-batches-py-target_archive`, the file the
grader verifies and reads, and extracts it beside; kernels get the grader's own extraction.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

from grader import backends
from grader.datasets import registry, served, sources
from grader.errors import DatasetUnavailable

_LOADER = "import keras; keras.datasets.{name}.load_data()"
FETCH_TIMEOUT_S = 1800


def needed_by(exercise_ids: list[str]) -> list[str]:
    """The datasets the notebooks of these exercises load (none for the NumPy exercises)."""
    from grader.exercises import get

    out: list[str] = []
    for eid in exercise_ids:
        out += [d for d in get(eid).datasets if d not in out]
    return out


def fetch(dataset_ids: list[str]) -> Iterator[str]:
    """Make every dataset available; yields one line per dataset. Raises DatasetUnavailable
    (a configuration problem) for the first one that could not be fetched."""
    for dataset_id in dataset_ids:
        dataset = registry.get(dataset_id)
        found = sources.locate(dataset_id)
        if found is not None:
            yield f"{dataset_id}: available ({found.origin})"
            continue
        home = served.prepare_download_home()
        env = {
            **os.environ,
            "KERAS_HOME": str(home),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **backends.child_env(),  # Keras' loader on the backend this machine grades with
        }
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _LOADER.format(name=dataset_id)],
                env=env,
                capture_output=True,
                text=True,
                timeout=FETCH_TIMEOUT_S,
                check=False,
            )
            why = _last_line(proc.stderr) if proc.returncode else ""
        except subprocess.TimeoutExpired:
            why = f"no answer in {FETCH_TIMEOUT_S} s"
        found = sources.locate(dataset_id)
        if found is None:
            raise DatasetUnavailable(
                f"could not fetch {dataset.title} with {dataset.loader}"
                + (f" ({why})" if why else "")
                + f": this machine may be offline. {registry.unavailable_message(dataset)}"
            )
        yield f"{dataset_id}: fetched into {home} ({found.origin})"


def status(dataset_ids: list[str]) -> Iterator[str]:
    """One line per dataset: where it is found, or that it is missing."""
    for dataset_id in dataset_ids:
        found = sources.locate(dataset_id)
        yield (
            f"{dataset_id}: available ({found.origin})"
            if found is not None
            else f"{dataset_id}: missing — `cnn-grader datasets fetch {dataset_id}` on a "
            "machine that is online"
        )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "the loader failed"
