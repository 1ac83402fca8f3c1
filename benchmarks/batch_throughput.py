"""Batch throughput: how many ex01–ex03 submissions a minute `cnn-grader batch` grades, with one
worker and with the default number, and (optionally) nbgrader's `autograde` on the same files.

    .venv/bin/python benchmarks/batch_throughput.py                  # 45 submissions
    .venv/bin/python benchmarks/batch_throughput.py -n 90 --nbgrader /tmp/nbgrader-venv

The submissions are made from the course's notebooks: the solution, the starter, the solution
with a cell appended that redefines one function with a small bug, and mixtures (the solution
with one function put back to the stub); each carries its student's name, so no two are
byte-identical. Both batch runs use the same --seed, and the script checks that they agree.

nbgrader is measured in its own virtualenv (created with `pip install nbgrader` when the folder
does not exist): our notebooks have no nbgrader test cells, so its autograde only executes each
notebook once in a fresh kernel, sequentially, which is a lower bound on its time for the same
class (cnn-grader also runs hidden probes, judges 10+ checks and writes two reports each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ("ex01_convolution", "ex02_pooling", "ex03_parameters")

BUGS = {
    "ex01_convolution": [
        "def zero_pad(x, pad):\n    x = np.asarray(x)\n"
        "    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad\n"
        "    out = np.zeros((x.shape[0] + ph, x.shape[1] + pw) + x.shape[2:], x.dtype)\n"
        "    out[:x.shape[0], :x.shape[1]] = x\n    return out\n",
        "_conv2d_ok = conv2d\n\ndef conv2d(x, kernel, bias=None, stride=1, padding='valid'):\n"
        "    return _conv2d_ok(x, np.asarray(kernel)[::-1, ::-1], bias, stride, padding)\n",
        "def sobel_edges(image):\n    k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)\n"
        "    return np.abs(conv2d(image, k, padding='same'))\n",
    ],
    "ex02_pooling": [
        "def global_avg_pool(x):\n    return np.asarray(x).sum(axis=(0, 1))\n",
        "_mp_ok = max_pool2d\n\ndef max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    return _mp_ok(x, pool_size, None, padding)\n",
        "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
        "    return max_pool2d(x, pool_size, stride, padding)\n",
    ],
    "ex03_parameters": [
        "def conv2d_params(kernel_size, in_channels, filters, use_bias=True):\n"
        "    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size\n"
        "    return k[0] * k[1] * in_channels * filters\n",
        "_dp_ok = dense_params\n\ndef dense_params(in_features, units, use_bias=True):\n"
        "    return _dp_ok(in_features, units, use_bias) + 1\n",
        "_co_ok = conv_output_size\n\n"
        "def conv_output_size(n, kernel_size, stride=1, padding='valid'):\n"
        "    return _co_ok(n, kernel_size, stride, 'valid')\n",
    ],
}
STUBS = {
    "ex01_convolution": "def sobel_edges(image):\n    raise NotImplementedError()\n",
    "ex02_pooling": "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
    "    raise NotImplementedError()\n",
    "ex03_parameters": "def summarize(layers, input_shape):\n    raise NotImplementedError()\n",
}


def _code(source: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def make_class(folder: Path, n: int) -> list[tuple[str, str, Path]]:
    """n submissions, spread over ex01–ex03, as flat `<student>_<exercise>.ipynb` files."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(n):
        exercise = EXERCISES[i % 3]
        kind = (i // 3) % 6
        base = "exercises" if kind == 1 else "solutions"
        nb = json.loads((ROOT / base / f"{exercise}.ipynb").read_text())
        if kind in (2, 3, 4):
            nb["cells"].append(_code(BUGS[exercise][kind - 2]))
        elif kind == 5:
            nb["cells"].append(_code(STUBS[exercise]))
        student = f"s{i:03d}"
        nb["cells"].insert(
            0, {"cell_type": "markdown", "metadata": {}, "source": f"Submitted by {student}"}
        )
        path = folder / f"{student}_{exercise}.ipynb"
        path.write_text(json.dumps(nb))
        made.append((student, exercise, path))
    return made


def run_batch(subs: Path, out: Path, workers: int | None) -> float:
    cmd = [
        str(Path(sys.executable).with_name("cnn-grader")),
        "batch",
        str(subs),
        "--out",
        str(out),
        "--seed",
        "1",
    ] + (["--workers", str(workers)] if workers else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def verdicts(out: Path) -> dict[tuple[str, str], tuple[str, float]]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    try:
        return {
            (s, e): (st, sc)
            for s, e, st, sc in db.execute(
                "SELECT student, exercise, status, score FROM submissions"
            )
        }
    finally:
        db.close()


def nbgrader_python(venv: Path) -> Path | None:
    """The venv's python with nbgrader in it, creating the venv when it does not exist."""
    py = venv / "bin" / "python"
    if not py.exists():
        print(
            f"creating {venv} and installing nbgrader (numpy, matplotlib for the notebooks)…",
            file=sys.stderr,
        )
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "nbgrader", "numpy", "matplotlib"],
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            print(f"nbgrader did not install:\n{pip.stderr[-2000:]}", file=sys.stderr)
            return None
    return py


def run_nbgrader(py: Path, made: list[tuple[str, str, Path]], work: Path) -> float | None:
    """nbgrader's autograde over the same notebooks, one assignment per exercise."""
    course = work / "course"
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.root = r'{course}'\nc.ExecutePreprocessor.timeout = 120\n"
    )
    nbgrader = [str(py), "-m", "nbgrader"]
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",  # nbgrader calls `alembic` from its venv's bin
        "PATH": f"{py.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def call(*args: str) -> None:
        proc = subprocess.run(
            [*nbgrader, *args], cwd=course, capture_output=True, text=True, env=env
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
            )

    for exercise in EXERCISES:
        src = course / "source" / exercise
        src.mkdir(parents=True)
        shutil.copy(ROOT / "exercises" / f"{exercise}.ipynb", src / f"{exercise}.ipynb")
        call("generate_assignment", exercise, "--force")
    for student, exercise, path in made:
        call("db", "student", "add", student)
        dest = course / "submitted" / student / exercise
        dest.mkdir(parents=True)
        shutil.copy(path, dest / f"{exercise}.ipynb")
    t0 = time.perf_counter()
    for exercise in EXERCISES:
        call("autograde", exercise, "--force")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=45, help="submissions (default 45)")
    parser.add_argument(
        "--nbgrader",
        type=Path,
        metavar="VENV",
        help="also time nbgrader autograde, from this virtualenv (made if absent)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cnn-batch-bench-"))
    try:
        made = make_class(work / "subs", args.n)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"{args.n} submissions (ex01–ex03), {cores} CPU(s) available")
        rows = []
        seq = run_batch(work / "subs", work / "seq", workers=1)
        rows.append(("cnn-grader batch --workers 1", seq))
        par = run_batch(work / "subs", work / "par", workers=None)
        rows.append((f"cnn-grader batch (default: {cores} workers)", par))
        cached = run_batch(work / "subs", work / "par", workers=None)
        rows.append(("cnn-grader batch, rerun (all cached)", cached))
        same = verdicts(work / "seq") == verdicts(work / "par")
        if args.nbgrader:
            py = nbgrader_python(args.nbgrader)
            try:
                t = run_nbgrader(py, made, work / "nbgrader") if py else None
            except RuntimeError as exc:
                print(f"nbgrader autograde could not run: {exc}", file=sys.stderr)
                t = None
            if t is not None:
                rows.append(("nbgrader autograde (execution only)", t))
        print(f"{'run':<46} {'wall s':>8} {'subs/min':>9}")
        for name, wall in rows:
            print(f"{name:<46} {wall:8.1f} {args.n / wall * 60:9.1f}")
        print(f"speed-up of the default workers over one: {seq / par:.2f}x")
        print(f"same verdicts with 1 and with {cores} workers: {same}")
        return 0 if same else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
