"""Where a NumPy grading's time goes: `grade`, `check` and a batch worker, part by part.

    .venv/bin/python benchmarks/grading_breakdown.py                  # 5 runs of each command
    .venv/bin/python benchmarks/grading_breakdown.py --repeat 9 --batch 6 --only check
    .venv/bin/python benchmarks/grading_breakdown.py --compare /tmp/old   # and an old tree

Each command is run as an instructor or a student runs it (`python -m grader.cli …`, a fresh
process, the ex01_convolution solution, --seed 1) with CNN_GRADER_TIMING pointing at a file:
the grader then records its named spans (grader.timing, whose docstring lists them), and this
script lays them out from the moment it launched the command to the moment the command exited.
The parts: process start (the interpreter and site, up to the grader's first line), the
grader's imports (the command line parsed, the grading's modules, and what runs between spans),
kernel start (or the hand-over of a batch worker's pre-warmed kernel), sandbox set-up (and its
closing and the scratch folders' removal), notebook execution, probe I/O (the hidden inputs
written, the probe's calls that write the evidence, the evidence read), checks (calibration
looked up, the notebook prepared, the checks judged, the result assembled), reports (JSON and
HTML written, `check`'s summary printed) and exit (the interpreter's shutdown). The
reference's answers are computed in a thread beside the kernel: shown, not added. Rows are
medians over --repeat runs (so a column need not add up to the median total, which is printed
as measured); the runs of the commands alternate, so a busy machine weighs on each alike. The
last row, the grader's own, is the total less the kernel's parts (its start or hand-over, the
notebook, the probe's calls, its stop): what a change to the grader's code can cut.

The batch columns are one worker (`cnn-grader batch --workers 1`) grading --batch copies of the
solution (`<student>_ex01_convolution.ipynb`, one folder), per grading from its first span to its
reports written: the first grading (the worker's kernel started fresh) and the median of the
others (each handed the kernel its pool started while the previous one was checked and
reported). The worker's imports happen while the parent plans and are printed apart.

A second table gives each command whole: its wall clock, and the grader process's own CPU
seconds (user + system, read at exit; its kernel's not), which a busy machine moves far less.
--compare DIR also runs each command with the grader of another tree (`git archive` an older
commit into DIR), alternating with this one, and prints the ratios; an older grader that records
no spans gets the second table only. Each tree runs `check` once untimed first, which also
caches the compiled modules (PYTHONDONTWRITEBYTECODE is dropped for the commands: an installed
grader has them). Every report is checked for full marks, so a fast wrong answer cannot pass for
a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ex01_convolution.ipynb"
ENV = "CNN_GRADER_TIMING"  # grader.timing.ENV, spelt out: this script imports no grader

# span -> part of the table; None: beside the main thread, not added
PARTS: dict[str, str | None] = {
    "cli.parse": "imports",
    "imports": "imports",
    "worker.imports": "imports",
    "course": "imports",
    "kernel.claim": "kernel start",
    "kernel.start": "kernel start",
    "kernel.stop": "kernel start",
    "sandbox": "sandbox set-up",
    "sandbox.close": "sandbox set-up",
    "cleanup": "sandbox set-up",
    "notebook": "notebook execution",
    "probe.inputs": "probe I/O",
    "probe.calls": "probe I/O",
    "evidence": "probe I/O",
    "open": "checks",
    "calibration": "checks",
    "prepare": "checks",
    "checks": "checks",
    "result": "checks",
    "reports": "reports",
    "terminal": "reports",
    "reference": None,
}
ORDER = [
    "process start",
    "imports",
    "kernel start",
    "sandbox set-up",
    "notebook execution",
    "probe I/O",
    "checks",
    "reports",
    "exit",
]


# The command as `python -m grader.cli` runs it, with the grader process's own CPU seconds (user
# + system, its threads included, its kernel not) written at exit: a figure that a busy machine
# moves far less than the wall clock.
WRAP = (
    "import atexit, resource, runpy, sys\n"
    "def _cpu(path=sys.argv[1]):\n"
    "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    open(path, 'w').write(repr(r.ru_utime + r.ru_stime))\n"
    "atexit.register(_cpu)\n"
    "sys.argv = ['grader.cli', *sys.argv[2:]]\n"
    "runpy.run_module('grader.cli', run_name='__main__', alter_sys=True)\n"
)


# The grader's own time: the whole less what its kernel did (started, ran the cells, the probe's
# calls, stopped), which is what a change to the grader's own code can cut.
OWN = "grader's own"
KERNEL_SIDE = ("kernel.claim", "kernel.start", "notebook", "probe.calls", "kernel.stop")


def _kernel_side(spans: dict[str, float]) -> float:
    return sum(spans.get(name, 0.0) for name in KERNEL_SIDE)


def _run(
    args: list[str], pythonpath: Path, log: Path | None, cpu: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """(epoch at launch, epoch at exit, the grader's CPU seconds) of one command, run from the
    root of the tree whose grader it runs (`python -c` puts the working folder first on
    sys.path: from another folder, that folder's grader would run)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "MPLBACKEND": "Agg"}
    env.pop(ENV, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules cached
    if log is not None:
        log.unlink(missing_ok=True)
        env[ENV] = str(log)
    cpu.unlink(missing_ok=True)
    launched = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", WRAP, str(cpu), *args],
        cwd=pythonpath,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    exited = time.time()
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(args[:3])}… failed ({proc.returncode}):\n"
            f"{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return launched, exited, float(cpu.read_text())


def _grader_of(tree: Path) -> None:
    """Make sure that a command run for `tree` runs the grader in `tree`."""
    found = subprocess.run(
        [sys.executable, "-c", "import grader; print(grader.__file__)"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"a command run for {tree} would import {found}")


def _records(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _full_marks(report: Path) -> None:
    doc = json.loads(report.read_text())
    if doc["score"] != doc["max_score"] or doc["execution"]["status"] != "ok":
        raise SystemExit(f"{report}: {doc['score']}/{doc['max_score']}: expected full marks")


def _layout(records: list[dict[str, Any]], launched: float, exited: float) -> dict[str, float]:
    """One command's parts, in seconds, from the records of its own process."""
    main_pid = next(r["pid"] for r in records if r["name"] == "cli")
    mine = [r for r in records if r["pid"] == main_pid]
    first = min(r["start"] for r in mine)
    last = max(r["end"] for r in mine)
    parts: dict[str, float] = defaultdict(float)
    spans: dict[str, float] = defaultdict(float)
    counted = 0.0
    for r in mine:
        if r["name"] == "cli":  # the mark where the grader's code starts
            continue
        took = r["end"] - r["start"]
        spans[r["name"]] += took
        part = PARTS.get(r["name"], "imports")
        if part is not None:
            parts[part] += took
            counted += took
    parts["process start"] = first - launched
    parts["exit"] = exited - last
    # what ran between the spans (module imports on first use, argument handling): the grader's
    parts["imports"] += max(0.0, (last - first) - counted)
    parts["total"] = exited - launched
    parts[OWN] = parts["total"] - _kernel_side(spans)
    return {**parts, **{f"span:{k}": v for k, v in spans.items()}}


def _worker_gradings(records: list[dict[str, Any]]) -> tuple[list[dict[str, float]], float]:
    """Each grading of the batch's worker (in the order graded), and the worker's imports."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    imports = 0.0
    for r in records:
        if r["name"] == "worker.imports":
            imports = r["end"] - r["start"]
        if r["grading"] is not None:
            by[r["grading"]].append(r)
    out = []
    for rs in sorted(by.values(), key=lambda rs: min(r["start"] for r in rs)):
        first, last = min(r["start"] for r in rs), max(r["end"] for r in rs)
        parts: dict[str, float] = defaultdict(float)
        counted = 0.0
        for r in rs:
            took = r["end"] - r["start"]
            parts[f"span:{r['name']}"] += took
            part = PARTS.get(r["name"], "checks")
            if part is not None:
                parts[part] += took
                counted += took
        parts["imports"] += max(0.0, (last - first) - counted)  # the grader's code between spans
        parts["total"] = last - first
        parts[OWN] = parts["total"] - _kernel_side(
            {k[5:]: v for k, v in parts.items() if k.startswith("span:")}
        )
        out.append(dict(parts))
    return out, imports


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r.get(key, 0.0) for r in rows)


def _table(columns: dict[str, list[dict[str, float]]]) -> list[str]:
    names = list(columns)
    lines = [
        "| part | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    spans = sorted(
        {k[5:] for rows in columns.values() for r in rows for k in r if k.startswith("span:")},
        key=lambda s: (ORDER.index(PARTS[s]) if PARTS.get(s) else 99, s),
    )
    for part in [*ORDER, "total", OWN]:
        cells = [f"{_median(columns[n], part):.3f}" if columns[n] else "" for n in names]
        if any(c not in ("0.000", "") for c in cells):
            bold = part in ("total", OWN)
            label = f"**{part}**" if bold else part
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        for s in spans:
            if (PARTS.get(s) or "") != part:
                continue
            cells = [f"{_median(columns[n], 'span:' + s):.3f}" if columns[n] else "" for n in names]
            lines.append(f"| &nbsp;&nbsp;{s} | " + " | ".join(cells) + " |")
    besides = [f"{_median(columns[n], 'span:reference'):.3f}" if columns[n] else "" for n in names]
    lines.append("| (reference answers, beside the kernel) | " + " | ".join(besides) + " |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    ap.add_argument("--batch", type=int, default=4, help="submissions in the batch (default 4)")
    ap.add_argument(
        "--only",
        action="append",
        choices=["grade", "check", "batch"],
        help="measure only these commands (repeat; default: all three)",
    )
    ap.add_argument(
        "--compare", type=Path, metavar="DIR", help="also run each command with DIR's grader"
    )
    ap.add_argument("--json", type=Path, help="write every run's parts here")
    args = ap.parse_args()
    wanted = args.only or ["grade", "check", "batch"]
    trees = {"": ROOT} | ({" (--compare)": args.compare.resolve()} if args.compare else {})
    columns: dict[str, list[dict[str, float]]] = {}
    walls: dict[str, list[float]] = defaultdict(list)
    cpus: dict[str, list[float]] = defaultdict(list)
    workers: dict[str, list[list[dict[str, float]]]] = defaultdict(list)
    worker_imports: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "spans.jsonl"
        cpu = work / "cpu"
        subs = work / "subs"
        subs.mkdir()
        for i in range(args.batch):
            shutil.copy(SOLUTION, subs / f"s{i:02d}_{SOLUTION.name}")
        commands = {
            "grade": ["grade", str(SOLUTION), "--out", str(work / "grade"), "--seed", "1"],
            "check": ["check", str(SOLUTION), "--out", str(work / "check"), "--seed", "1"],
            "batch": ["batch", str(subs), "--out", str(work / "batch"), "--seed", "1"]
            + ["--workers", "1"],
        }
        for tree in trees.values():
            _grader_of(tree)
            # one untimed run: modules compiled and cached, files in the page cache
            _run(commands["check"], tree, None, cpu)
        for _ in range(args.repeat):
            for name in [c for c in commands if c in wanted]:
                for suffix, tree in trees.items():
                    shutil.rmtree(work / name, ignore_errors=True)
                    launched, exited, used = _run(commands[name], tree, log, cpu)
                    reports = sorted((work / name).glob("students/*/*.json")) or [
                        work / name / "ex01_convolution.json"
                    ]
                    if len(reports) != (args.batch if name == "batch" else 1):
                        raise SystemExit(f"{name}: {len(reports)} reports")
                    for report in reports:
                        _full_marks(report)
                    walls[name + suffix].append(exited - launched)
                    cpus[name + suffix].append(used)
                    records = _records(log)
                    if not records:  # a grader that records no spans: its whole only
                        continue
                    if name == "batch":
                        gradings, imported = _worker_gradings(records)
                        workers[suffix].append(gradings)
                        worker_imports[suffix].append(imported)
                    else:
                        columns.setdefault(name + suffix, []).append(
                            _layout(records, launched, exited)
                        )
    for suffix, runs in workers.items():
        columns[f"batch: first grading{suffix}"] = [g[0] for g in runs if g]
        columns[f"batch: the others{suffix}"] = [
            {k: statistics.median(x.get(k, 0.0) for x in g[1:]) for k in set().union(*g[1:])}
            for g in runs
            if len(g) > 1
        ]
    print(f"## Where the time goes (seconds, median of {args.repeat} runs)\n")
    print("\n".join(_table(columns)))
    for suffix, imported in worker_imports.items():
        print(f"\nbatch worker's imports{suffix}, while the parent plans: {_median_list(imported)}")
    print("\n## Each command, whole (seconds; the grader's CPU: its process, not its kernel)\n")
    print("| command | wall median | min | max | grader CPU median | n |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, times in walls.items():
        print(
            f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | "
            f"{max(times):.3f} | {statistics.median(cpus[name]):.3f} | {len(times)} |"
        )
    if args.compare:
        print()
        for name in [c for c in commands if c in wanted]:
            ratios = [
                statistics.median(runs[name]) / statistics.median(runs[name + " (--compare)"])
                for runs in (walls, cpus)
            ]
            print(
                f"{name}: this tree / {args.compare}: wall {ratios[0]:.2f}, "
                f"grader CPU {ratios[1]:.2f}"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"columns": columns, "walls": walls, "cpus": cpus, "worker_imports": worker_imports}
            )
        )
    return 0


def _median_list(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s"


if __name__ == "__main__":
    sys.exit(main())
