"""How much does grading cost on top of running the notebook?

For each solution notebook, times (as separate processes, interleaved, median of --repeat runs):
  plain   python -c "nbclient.NotebookClient(nb).execute()"   (what Jupyter would do)
  grade   cnn-grader grade NOTEBOOK --out TMP                    (execute + probe + check + report)
and prints the ratio grade / plain. Run: .venv/bin/python benchmarks/grade_vs_nbclient.py

Keras exercises (e.g. `… grade_vs_nbclient.py --repeat 3 ex04_dense_baseline ex05_cnn`) are
compared under the smoke profile: the plain run executes the same notebook with the same
injected budget cell and the same Keras home (the datasets offline), and the grader runs with
`--profile smoke` after `cnn-grader calibrate` (so calibration is not timed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAIN = (
    "import sys, nbformat, nbclient;"
    "nb = nbformat.read(sys.argv[1], as_version=4);"
    "nbclient.NotebookClient(nb, kernel_name='python3', timeout=600,"
    " resources={'metadata': {'path': sys.argv[2]}}).execute()"
)


def _time(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def _plain_notebook(eid: str, tmp: Path) -> tuple[Path, dict[str, str] | None, list[str]]:
    """The notebook plain nbclient runs, its environment, and the grader's extra options: for
    an exercise that trains, the smoke budget injected as the grader injects it."""
    import nbformat

    from grader.exercises import get

    nb_path = ROOT / "solutions" / f"{eid}.ipynb"
    exercise = get(eid)
    if exercise.prepare is None:
        return nb_path, None, []
    subprocess.run(
        [sys.executable, "-m", "grader.cli", "calibrate", eid, "--profile", "smoke"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    nb = nbformat.read(nb_path, as_version=4)
    exercise.prepare(nb, "smoke")
    out = tmp / f"{eid}.plain.ipynb"
    nbformat.write(nb, out)
    kernel_env = exercise.kernel_env("smoke") if exercise.kernel_env else {}
    env = {**os.environ, **{k: v for k, v in kernel_env.items() if k != "PYTHONSTARTUP"}}
    return out, env, ["--profile", "smoke"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "exercises", nargs="*", default=["ex01_convolution", "ex02_pooling", "ex03_parameters"]
    )
    args = parser.parse_args()
    print(f"{'exercise':<22}{'plain s':>9}{'grade s':>9}{'ratio':>8}")
    for eid in args.exercises:
        nb = ROOT / "solutions" / f"{eid}.ipynb"
        plain, graded = [], []
        with tempfile.TemporaryDirectory() as tmp:
            plain_nb, env, extra = _plain_notebook(eid, Path(tmp))
            for _ in range(args.repeat):
                plain.append(_time([sys.executable, "-c", PLAIN, str(plain_nb), tmp], env))
                graded.append(
                    _time(
                        [
                            sys.executable,
                            "-m",
                            "grader.cli",
                            "grade",
                            str(nb),
                            "--out",
                            tmp,
                            "--seed",
                            "1",
                            *extra,
                        ]
                    )
                )
        p, g = statistics.median(plain), statistics.median(graded)
        print(f"{eid:<22}{p:>9.2f}{g:>9.2f}{g / p:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
