"""What grading costs on top of running the notebook, in one run (issue 13's three figures).

    .venv/bin/python benchmarks/grading_cost.py                     # all three parts
    .venv/bin/python benchmarks/grading_cost.py --repeat 3 --skip-keras

1. Keras exercises (ex04, ex05, ex06; smoke profile): `cnn-grader grade` against plain nbclient
   running the same notebook with the same injected budget and Keras home (as
   benchmarks/grade_vs_nbclient.py, whose helpers this reuses; calibration is done first and
   not timed). Goal: ratio ≤ 1.15.
2. A 20-notebook NumPy class (ex01–ex03, made by benchmarks/batch_throughput.py): `cnn-grader
   batch` (default workers) against plain sequential nbclient, one fresh kernel per notebook,
   in one Python process. Goal: ratio ≤ 0.20 (issue 23; issue 13 asked for 0.27).
3. One `cnn-grader check` of the ex01 solution, wall clock of the whole command. Goal: ≤ 1.0 s.
   Twice: cold (`--no-server`: a Python, the grader's imports and a kernel started for it), and
   served warm, as a student's second and later checks are (grader.cli.check_server; the server
   is started by a first check that is not timed, in a runtime folder of the benchmark's own,
   and stopped at the end).

Each figure is the median of --repeat runs; the runs of a part alternate between the two sides,
so a busy machine weighs on both alike. Every grading is also checked for the expected score,
so a fast wrong answer cannot pass for a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch_throughput import make_class, verdicts  # noqa: E402
from grade_vs_nbclient import PLAIN, _plain_notebook  # noqa: E402

KERAS = ("ex04_dense_baseline", "ex05_cnn", "ex06_regularization")
CLI = [sys.executable, "-m", "grader.cli"]
SEQUENTIAL = (
    "import sys, nbformat, nbclient\n"
    "for path in sys.argv[2:]:\n"
    "    nb = nbformat.read(path, as_version=4)\n"
    "    nbclient.NotebookClient(nb, kernel_name='python3', timeout=600, allow_errors=True,\n"
    "        resources={'metadata': {'path': sys.argv[1]}}).execute()\n"
)


def _timed(
    cmd: list[str], *, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n"
            f"{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return wall


def _full_marks(report: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(report.read_text())
    if doc["score"] != doc["max_score"] or doc["execution"]["status"] != "ok":
        raise SystemExit(
            f"{report.name}: {doc['score']}/{doc['max_score']} "
            f"[{doc['execution']['status']}]: the solution must get full marks"
        )
    return doc


def keras_part(
    repeat: int, exercises: tuple[str, ...] = KERAS
) -> list[tuple[str, float, float, str]]:
    """(exercise, plain s, grade s, where the grading's time went: the command's start before
    the pipeline, the notebook's execution, the checks and reports after it; medians)."""
    rows = []
    for eid in exercises:
        with tempfile.TemporaryDirectory() as tmp:
            plain_nb, env, extra = _plain_notebook(eid, Path(tmp))
            plain, graded, parts = [], [], []
            for _ in range(repeat):
                plain.append(_timed([sys.executable, "-c", PLAIN, str(plain_nb), tmp], env=env))
                wall = _timed(
                    [
                        *CLI,
                        "grade",
                        str(ROOT / "solutions" / f"{eid}.ipynb"),
                        "--out",
                        tmp,
                        "--seed",
                        "1",
                        *extra,
                    ]
                )
                graded.append(wall)
                doc = _full_marks(Path(tmp) / f"{eid}.json")
                run, total = doc["execution"]["duration_s"], doc["duration_s"]
                parts.append((wall - total, run, total - run))
        split = [statistics.median(p[i] for p in parts) for i in range(3)]
        rows.append(
            (
                eid,
                statistics.median(plain),
                statistics.median(graded),
                "start {:.1f} + execution {:.1f} + checks {:.1f}".format(*split),
            )
        )
    return rows


def class_part(repeat: int, n: int) -> tuple[float, float, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = make_class(work / "subs", n)
        run_dir = work / "run"
        run_dir.mkdir()
        plain, graded, same = [], [], True
        first: dict[tuple[str, str], tuple[str, float]] | None = None
        for i in range(repeat):
            plain.append(
                _timed(
                    [sys.executable, "-c", SEQUENTIAL, str(run_dir), *(str(p) for _, _, p in made)],
                    env={**os.environ, "MPLBACKEND": "Agg"},
                )
            )
            out = work / f"graded{i}"
            graded.append(
                _timed(
                    [*CLI, "batch", str(work / "subs"), "--out", str(out), "--seed", "1"], ok=(0, 1)
                )
            )
            got = verdicts(out)
            same = same and len(got) == n and (first is None or got == first)
            first = first or got
        return statistics.median(plain), statistics.median(graded), same


def check_part(repeat: int) -> tuple[float, float]:
    """(cold, served) medians; the runs alternate between the two."""
    nb = ROOT / "solutions" / "ex01_convolution.ipynb"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir="/tmp") as run:
        env = {**os.environ, "XDG_RUNTIME_DIR": run, "CNN_GRADER_CHECK_SERVER": "on"}
        env.pop("CI", None)
        cmd = [*CLI, "check", str(nb), "--out", tmp]
        try:
            _timed(cmd, env=env)  # starts the server
            subprocess.run([*CLI, "check-server", "status"], env=env, capture_output=True)
            cold, served = [], []
            for _ in range(repeat):
                cold.append(_timed([*cmd, "--no-server"], env=env))
                _full_marks(Path(tmp) / "ex01_convolution.json")
                served.append(_timed(cmd, env=env))
                _full_marks(Path(tmp) / "ex01_convolution.json")
        finally:
            subprocess.run([*CLI, "check-server", "stop"], env=env, capture_output=True)
    return statistics.median(cold), statistics.median(served)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("-n", type=int, default=20, help="notebooks in the class (default 20)")
    parser.add_argument(
        "--keras",
        nargs="+",
        default=list(KERAS),
        metavar="EXERCISE",
        help="the Keras exercises to time (default: ex04, ex05, ex06)",
    )
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument("--skip-class", action="store_true")
    parser.add_argument("--skip-check", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} CPU(s); medians of {args.repeat}")
    if not args.skip_keras:
        print(f"\n{'Keras (smoke)':<22}{'plain s':>9}{'grade s':>9}{'ratio':>8}  goal ≤ 1.15")
        for eid, p, g, split in keras_part(args.repeat, tuple(args.keras)):
            print(f"{eid:<22}{p:>9.2f}{g:>9.2f}{g / p:>8.2f}  ({split})")
    if not args.skip_class:
        p, g, same = class_part(args.repeat, args.n)
        print(
            f"\n{args.n}-notebook NumPy class      plain sequential nbclient {p:.2f} s, "
            f"cnn-grader batch {g:.2f} s, ratio {g / p:.2f}  goal ≤ 0.20"
            f"{'' if same else '  (VERDICTS DIFFER between runs)'}"
        )
    if not args.skip_check:
        cold, served = check_part(args.repeat)
        print(
            f"\ncnn-grader check ex01 (solution)  cold {cold:.2f} s, served warm {served:.2f} s "
            "wall  goal ≤ 1.0"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
