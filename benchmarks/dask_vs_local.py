"""Dask's overhead: the same NumPy batch graded by `--executor local` (worker processes) and by
`--executor dask` (a LocalCluster of as many single-threaded worker processes), end to end,
as an instructor runs them. Goal: Dask at most 10% slower.

    .venv/bin/python benchmarks/dask_vs_local.py            # 45 submissions, default workers
    .venv/bin/python benchmarks/dask_vs_local.py -n 90 --workers 4 --repeat 2

The class is batch_throughput.py's (ex01–ex03: solutions, starters, buggy variants, each with
its student's name). Both executors use the same --seed; the script checks that they agree on
every status and score. The Dask time includes starting and stopping the cluster, as the
command does; the script also says when the Dask workers were ready (the command's note
"workers on …"), which is the fixed part of that cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_throughput import make_class, verdicts  # noqa: E402

CLI = str(Path(sys.executable).with_name("cnn-grader"))


def timed(subs: Path, out: Path, workers: int, *extra: str) -> tuple[float, float]:
    """(wall seconds, seconds until the workers were ready: the Dask note, else 0)."""
    cmd = [
        CLI,
        "batch",
        str(subs),
        "--out",
        str(out),
        "--seed",
        "1",
        "--workers",
        str(workers),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = 0.0
    assert proc.stderr is not None
    tail: list[str] = []
    for line in proc.stderr:
        if not ready and line.startswith("workers on "):
            ready = time.perf_counter() - t0
        tail = (tail + [line])[-20:]
    wall = time.perf_counter() - t0
    if proc.wait() not in (0, 1):
        raise SystemExit(f"batch failed ({proc.returncode}):\n{''.join(tail)}")
    return wall, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=45, help="submissions (default 45)")
    parser.add_argument("--workers", type=int, help="workers for both (default: one per CPU)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, best kept")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = args.workers or cores or 1
    work = Path(tempfile.mkdtemp(prefix="cnn-dask-bench-"))
    try:
        make_class(work / "subs", args.n)
        print(f"{args.n} submissions (ex01–ex03), {cores} CPU(s), {workers} workers each")
        local, dask, ready = [], [], []
        for i in range(args.repeat):  # alternated, so that a busy machine hurts both
            local.append(timed(work / "subs", work / f"local{i}", workers)[0])
            wall, up = timed(work / "subs", work / f"dask{i}", workers, "--executor", "dask")
            dask.append(wall)
            ready.append(up)
        same = all(
            verdicts(work / f"local{i}") == verdicts(work / f"dask{i}") for i in range(args.repeat)
        )
        best_local, best_dask = min(local), min(dask)
        print(f"{'run':<20} {'wall s':>8} {'subs/min':>9}")
        for name, wall in (("--executor local", best_local), ("--executor dask", best_dask)):
            print(f"{name:<20} {wall:8.1f} {args.n / wall * 60:9.1f}")
        print(
            f"dask workers ready {min(ready):.1f} s after the command started (discovery, "
            "cluster start, worker setup)"
        )
        ratio = best_dask / best_local
        print(
            f"dask / local wall time: {ratio:.3f} ({(ratio - 1) * 100:+.1f}%; goal: at most +10%)"
        )
        print(f"same verdicts: {same}")
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
