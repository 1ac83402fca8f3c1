"""Keras exercises: grading time per solution, and training throughput with concurrent kernels.

    .venv/bin/python benchmarks/keras_training.py                 # full profile (a GPU machine)
    .venv/bin/python benchmarks/keras_training.py --profile smoke      # the CPU variant
    .venv/bin/python benchmarks/keras_training.py --skip-grading --concurrency 1 2 4 8

Two measurements:

1. **Grading time**: each Keras solution notebook (every exercise that trains) graded through
   the public API under the profile, sandbox included, once with the calibration already
   cached (what a student's submission costs) and, under smoke, the calibration itself (what
   the first submission of the day costs). MNIST is skipped when it is not on the machine.
2. **Throughput**: k kernels started at once (k = 1, 2, 4 by default), each training the course
   CNN (ex05) on the same examples; examples/s = all examples trained / wall time of the
   slowest. With TF_FORCE_GPU_ALLOW_GROWTH=true (set for every kernel) several kernels share one
   GPU; the table shows where adding kernels stops paying. Each kernel measures its own
   fit() time too, so start-up and data loading can be told apart from training.

The result is printed as Markdown tables and written as JSON (--json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def keras_exercises() -> list[str]:
    """The exercises whose notebooks run Keras, from the registry (ex11 included)."""
    from grader.exercises import available, get

    return [eid for eid in available() if get(eid).needs_tensorflow]


TRAIN_CELL = """
import json, time
import numpy as np
import keras
keras.utils.set_random_seed(42)
(x, y), _ = keras.datasets.fashion_mnist.load_data()
x = (x[:{samples}].astype("float32") / 255.0)[..., None]
y = y[:{samples}]
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:256], y[:256], epochs=1, batch_size={batch}, verbose=0)  # warm-up: graph, kernels
t0 = time.perf_counter()
model.fit(x, y, epochs={epochs}, batch_size={batch}, verbose=0)
fit_s = time.perf_counter() - t0
gpus = [d.name for d in __import__("tensorflow").config.list_physical_devices("GPU")]
with open("bench.json", "w") as fh:
    json.dump({{"fit_s": fit_s, "examples": {samples} * {epochs}, "gpus": gpus}}, fh)
"""


def _device() -> str:
    from grader import profiles

    return "GPU" if profiles.gpu_available() else "CPU"


def grading_times(profile: str, exercises: list[str]) -> list[dict[str, Any]]:
    """Grade each solution: calibration first (timed apart), then the graded run."""
    from grader import Options, calibrate, grade
    from grader.datasets import sources
    from grader.exercises import get
    from grader.keras_support.checks import find_accuracy_specs

    rows: list[dict[str, Any]] = []
    for eid in exercises:
        exercise = get(eid)
        specs = find_accuracy_specs(exercise)
        if any(sources.locate(s.dataset) is None for s in specs):
            rows.append({"exercise": eid, "skipped": "dataset not on this machine"})
            continue
        calib_s = 0.0
        for spec in specs:
            if profile == "smoke":
                t0 = time.perf_counter()
                calibrate.reference_accuracy(exercise, spec, profile)
                calib_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        result = grade(exercise.solution_path, Options(profile=profile, seed=1))
        total = time.perf_counter() - t0
        accuracy = next(
            (c.details.get("accuracy") for c in result.checks if "accuracy" in c.details), None
        )
        rows.append(
            {
                "exercise": eid,
                "profile": profile,
                "grade_s": round(total, 1),
                "execution_s": result.execution.duration_s,
                "calibration_s": round(calib_s, 1) if calib_s else None,
                "score": f"{result.score:g}/{result.max_score:g}",
                "accuracy": accuracy,
            }
        )
        print(f"  {eid}: {total:.1f}s ({result.score:g}/{result.max_score:g})", file=sys.stderr)
    return rows


async def _train_concurrently(k: int, samples: int, epochs: int, batch: int) -> dict[str, Any]:
    import nbformat

    from grader.datasets.served import prepare_keras_home
    from grader.execution import kernel, kernel_env
    from grader.keras_support.budget import DETERMINISM_ENV
    from grader.models import Limits

    home, _ = prepare_keras_home(("fashion_mnist",))
    env = kernel_env.default_kernel_env({"KERAS_HOME": str(home), **DETERMINISM_ENV})
    limits = Limits(cell_timeout=3600, notebook_timeout=7200)
    root = Path(tempfile.mkdtemp(prefix="cnn-grader-bench-"))
    try:
        dirs = []
        for i in range(k):
            d = root / f"k{i}"
            d.mkdir()
            dirs.append(d)
        source = TRAIN_CELL.format(samples=samples, epochs=epochs, batch=batch)
        t0 = time.perf_counter()
        runs = await asyncio.gather(
            *[
                kernel.run_async(
                    nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]),
                    d,
                    limits=limits,
                    env=env,
                )
                for d in dirs
            ]
        )
        wall = time.perf_counter() - t0
        reports = []
        for run, d in zip(runs, dirs, strict=False):
            path = d / "bench.json"
            if not path.exists():
                raise RuntimeError(f"a kernel failed: {run.summary.problems[:1]}")
            reports.append(json.loads(path.read_text()))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    examples = sum(r["examples"] for r in reports)
    slowest_fit = max(r["fit_s"] for r in reports)
    return {
        "kernels": k,
        "wall_s": round(wall, 1),
        "slowest_fit_s": round(slowest_fit, 1),
        "examples_per_s_fit": round(examples / slowest_fit),
        "examples_per_s_wall": round(examples / wall),
        "gpus_seen": reports[0]["gpus"],
    }


def throughput(levels: list[int], samples: int, epochs: int, batch: int) -> list[dict[str, Any]]:
    rows = []
    for k in levels:
        row = asyncio.run(_train_concurrently(k, samples, epochs, batch))
        print(f"  {k} kernel(s): {row['examples_per_s_fit']} examples/s", file=sys.stderr)
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append(
            "| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in columns) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile",
        choices=["full", "smoke"],
        help="grading profile (default: full with a GPU, smoke without)",
    )
    parser.add_argument("--exercises", nargs="*", default=keras_exercises())
    parser.add_argument("--concurrency", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument(
        "--samples",
        type=int,
        help="training examples per kernel (default: 60000 on a GPU, 5000 on CPU)",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--skip-grading", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    from grader import profiles

    profile = profiles.resolve(args.profile)
    device = _device()
    samples = args.samples or (60_000 if device == "GPU" else 5_000)
    out: dict[str, Any] = {"device": device, "profile": profile, "cpus": os.cpu_count()}
    print(f"# Keras grading benchmark ({device}, {os.cpu_count()} CPU cores, profile {profile})\n")
    if not args.skip_grading:
        print("grading the solutions…", file=sys.stderr)
        out["grading"] = grading_times(profile, args.exercises)
        print("## Grading time per solution\n")
        print(
            _table(
                out["grading"],
                [
                    "exercise",
                    "profile",
                    "grade_s",
                    "execution_s",
                    "calibration_s",
                    "score",
                    "accuracy",
                    "skipped",
                ],
            )
        )
        print()
    if not args.skip_throughput:
        print("training with concurrent kernels…", file=sys.stderr)
        out["throughput"] = throughput(args.concurrency, samples, args.epochs, args.batch_size)
        print(
            f"## Training throughput (course CNN, {samples:,} examples × {args.epochs} epoch(s) "
            f"per kernel, batch {args.batch_size})\n"
        )
        print(
            _table(
                out["throughput"],
                ["kernels", "wall_s", "slowest_fit_s", "examples_per_s_fit", "examples_per_s_wall"],
            )
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
