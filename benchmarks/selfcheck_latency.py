"""How long a student waits for a self-check: `check(f)` in the notebook, and the command line.

    python benchmarks/selfcheck_latency.py [--repeat 5]

Builds a release into a temporary folder, then for a NumPy and a Keras exercise times the
self-check cell's `check(...)` on the solution's functions (in this process, as a notebook's
kernel runs it, after one warm-up call), and `cnn-grader check NOTEBOOK --course RELEASE` on the
ex01 solution (a fresh kernel runs the notebook first). Prints milliseconds and seconds,
measured in one run, side by side.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = {
    "ex01_convolution": ["conv2d"],
    "ex02_pooling": ["max_pool2d"],
    "ex05_cnn": ["build_cnn"],
    "ex06_regularization": ["build_regularized_cnn", "AccuracyThreshold", "make_callbacks"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    import helpers  # the solutions' definitions only

    with tempfile.TemporaryDirectory(prefix="cnn-grader-latency-") as tmp:
        release = Path(tmp) / "release"
        subprocess.run(
            [sys.executable, "-m", "grader.cli", "release", "--out", str(release)],
            check=True,
            capture_output=True,
        )
        sys.path.insert(0, str(release))
        from cnn_selfcheck import check

        for eid, names in CASES.items():
            ns: dict[str, object] = {"__name__": "__main__"}
            exec(compile(helpers.solution_definitions(eid), "<notebook>", "exec"), ns)  # noqa: S102
            check(*(ns[n] for n in names), out=io.StringIO(), namespace=ns)
            t0 = time.perf_counter()
            for _ in range(args.repeat):
                check(*(ns[n] for n in names), out=io.StringIO(), namespace=ns)
            ms = (time.perf_counter() - t0) / args.repeat * 1000
            print(f"in the notebook  {eid:22} check({', '.join(names)}): {ms:7.0f} ms")
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.cli",
                "check",
                str(REPO / "solutions" / "ex01_convolution.ipynb"),
                "--course",
                str(release),
            ],
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        print(
            f"command line     ex01_convolution cnn-grader check --course: "
            f"{time.perf_counter() - t0:6.1f} s"
        )


if __name__ == "__main__":
    main()
