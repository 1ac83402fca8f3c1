"""How much a mutant's grade moves with the seed: every catalogued mutant (tests/mutants) and
every solution, graded in-process (no kernel) at N seeds; prints min / max / distinct scores
and the checks that failed at some seeds but not at others.

    .venv/bin/python benchmarks/seed_spread.py [--seeds 30] [--exercise ex03_parameters]

The in-process path is tests/inprocess.py (the kernel path is checked against it by
tests/test_mutants.py). Seeds are 0 … N-1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import inprocess  # noqa: E402
from mutant_catalogue import all_mutants  # noqa: E402

from grader.exercises import get  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--exercise", action="append", default=[])
    opts = parser.parse_args()
    seeds = range(opts.seeds)
    t0 = time.monotonic()
    rows = [(e, "(solution)", "") for e in sorted({m.exercise for m in all_mutants()})]
    rows += [(m.exercise, m.name, m.source) for m in all_mutants()]
    print(
        f"{'mutant':52} {'min':>5} {'max':>5} {'spread':>6}  scores (count)  | checks failing "
        "at some seeds only"
    )
    for exercise, name, source in rows:
        if opts.exercise and exercise not in opts.exercise:
            continue
        ex = get(exercise)
        ns_source = (source,) if source else ()
        scores: Counter[float] = Counter()
        failed: Counter[str] = Counter()
        for seed in seeds:
            results = inprocess.grade(ex, seed, *ns_source)
            scores[inprocess.score(results)] += 1
            failed.update(inprocess.not_passed(results))
        unstable = sorted(c for c, n in failed.items() if n < len(seeds))
        lo, hi = min(scores), max(scores)
        shown = ", ".join(
            f"{s:g}" + (f" ({n})" if len(scores) > 1 else "") for s, n in sorted(scores.items())
        )
        print(
            f"{exercise + '/' + name:52} {lo:5.2f} {hi:5.2f} {hi - lo:6.2f}  {shown}"
            + (f"  | {', '.join(unstable)}" if unstable else "")
        )
    print(f"\n{len(seeds)} seeds, {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
