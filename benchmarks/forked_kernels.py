"""Kernels forked from a warm parent against fresh and pre-warmed ones, side by side in one run.

    .venv/bin/python benchmarks/forked_kernels.py                   # 20 notebooks, 3 repeats
    .venv/bin/python benchmarks/forked_kernels.py --repeat 5 --handover 10 -n 20

Two measurements, each the median of its runs, the sides alternating so that a busy machine
weighs on all alike:

1. **Hand-over**: a one-cell notebook (`import numpy as np`) run through
   `grader.execution.kernel.run_async` in its own sandbox (made beforehand, untimed), its kernel
   (a) started fresh, (b) pre-started by the pool (`warm.prestart`, done and idle before the
   clock starts: the pool's best case), (c) forked from a zygote (`grader.execution.forkserver`)
   when the run asks for it. The time is the run's: kernel had, cell run, kernel stopped.
2. **A 20-notebook NumPy class** (ex01–ex03, made by benchmarks/batch_throughput.py) through
   `cnn-grader batch` (default workers) with each kernel mode of the workers
   (`CNN_GRADER_KERNELS`: `fresh`, `pool`, `fork`, `fork-ahead` — the default —), and plain
   sequential nbclient (one fresh kernel per notebook, in one Python process) as the unit:
   the ratio batch / plain is benchmarks/grading_cost.py's part 2 (goal ≤ 0.20). Every mode
   must give the same verdicts (status and score of each submission), which the script checks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import nbformat  # noqa: E402
from batch_throughput import make_class, verdicts  # noqa: E402
from grading_cost import SEQUENTIAL  # noqa: E402

from grader.execution import forkserver, kernel, kernel_env, warm  # noqa: E402
from grader.execution.sandbox import policy  # noqa: E402
from grader.models import Limits  # noqa: E402

CLI = [sys.executable, "-m", "grader.cli"]
MODES = ("fresh", "pool", "fork", "fork-ahead")


async def _handover_once(mode: str, server: forkserver.ForkServer, env: dict[str, str]) -> float:
    limits = Limits(cell_timeout=60, startup_timeout=60)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np")])
    submission = ROOT / "submissions" / "x.ipynb"
    ready: Any = None
    if mode == "pool":  # started and idle before the clock starts: the pool's best case
        spec = warm.KernelSpec.of(
            limits=limits,
            env=env,
            sandbox_env={},
            submission=submission,
            launch_prefix=(),
            sandboxed=True,
            prelude=warm.NUMPY_PRELUDE,
        )
        ready = await warm.prestart(spec)
        root, workdir, box = ready.root, ready.workdir, ready.box
        await asyncio.sleep(0.5)
    else:
        root = Path(tempfile.mkdtemp(prefix="cnn-grader-"))
        workdir = root / "work"
        workdir.mkdir()
        box = policy.for_grading(root, workdir, limits, submission=submission, env={})
    t0 = time.perf_counter()
    run = await kernel.run_async(
        nb,
        workdir,
        limits=limits,
        env=env,
        guard=box,
        warm=ready,
        forker=server if mode == "fork" else None,
    )
    took = time.perf_counter() - t0
    box.close()
    shutil.rmtree(root, ignore_errors=True)
    assert run.summary.status.value == "ok", run.summary
    return took


def handover(repeat: int) -> dict[str, float]:
    env = kernel_env.default_kernel_env()
    server = forkserver.ForkServer.start(env, warm.NUMPY_PRELUDE)
    times: dict[str, list[float]] = {m: [] for m in ("fresh", "pool", "fork")}
    try:
        for _ in range(repeat):
            for mode in times:
                times[mode].append(asyncio.run(_handover_once(mode, server, env)))
    finally:
        server.close()
    return {m: statistics.median(t) for m, t in times.items()}


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, check=False
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:4])}… failed:\n{proc.stderr.decode()[-2000:]}")
    return time.perf_counter() - t0


def batch_class(repeat: int, n: int, modes: tuple[str, ...]) -> tuple[dict[str, float], bool]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = make_class(work / "subs", n)
        run_dir = work / "run"
        run_dir.mkdir()
        times: dict[str, list[float]] = {m: [] for m in ("plain", *modes)}
        first: Any = None
        same = True
        for i in range(repeat):
            times["plain"].append(
                _timed(
                    [sys.executable, "-c", SEQUENTIAL, str(run_dir), *(str(p) for _, _, p in made)],
                    {**os.environ, "MPLBACKEND": "Agg"},
                )
            )
            for mode in modes:
                out = work / f"{mode}{i}"
                env = {**os.environ, "CNN_GRADER_KERNELS": mode}
                cmd = [*CLI, "batch", str(work / "subs"), "--out", str(out), "--seed", "1"]
                times[mode].append(_timed(cmd, env))
                got = verdicts(out)
                same = same and len(got) == n and (first is None or got == first)
                first = first or got
        return {m: statistics.median(t) for m, t in times.items()}, same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="notebooks in the class")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--handover", type=int, default=7, help="hand-over runs per mode")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = ap.parse_args()
    why = forkserver.why_not(warm.NUMPY_PRELUDE)
    if why is not None:
        print(f"kernels cannot be forked here: {why}")
        return 1
    if args.handover:
        got = handover(args.handover)
        print(
            f"hand-over, median of {args.handover} (s): "
            + ", ".join(f"{m} {t:.3f}" for m, t in got.items())
        )
        print(
            f"  forked / fresh {got['fork'] / got['fresh']:.2f}, "
            f"forked / pool {got['fork'] / got['pool']:.2f}"
        )
    if args.repeat:
        times, same = batch_class(args.repeat, args.n, tuple(args.modes))
        plain = times["plain"]
        print(
            f"{args.n}-notebook NumPy class, median of {args.repeat} (s): plain nbclient "
            f"{plain:.2f}"
        )
        for mode in args.modes:
            print(
                f"  batch, kernels {mode:<10} {times[mode]:6.2f} s  ratio {times[mode] / plain:.2f}"
            )
        print("  verdicts identical across modes:", same)
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
