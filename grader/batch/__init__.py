"""Grade a whole class: `cnn-grader batch SUBMISSIONS --out DIR`.

    from grader.batch import BatchOptions, run
    summary = run(BatchOptions(submissions=Path("submitted"), out=Path("graded")))

DIR then holds `gradebook.sqlite` (the resumable record of every grading), `students/<student>/
<exercise>.{html,json}` (what `grade` writes), `grades.csv` and `dashboard.html`. The package:

    discover   find submissions in nbgrader / per-student / flat layouts and zips (safezip)
    gradebook  SQLite, one committed row per finished submission; the cache of unchanged ones
    pool       worker processes, one submission each at a time; a crash fails only its task
    worker     the code inside a worker: grade, write reports, answer with plain data
    progress   the live line on stderr
    runner     the whole run, in order
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.batch.runner import BatchOptions, BatchSummary, run

__all__ = ["BatchOptions", "BatchSummary", "run", "run_batch"]


def run_batch(args: argparse.Namespace) -> int:
    """The CLI's `batch` command: 0 when every submission was graded (whatever the scores),
    1 when the grader failed on some (listed in the dashboard; a rerun retries them)."""
    options = BatchOptions(
        submissions=Path(args.submissions), out=Path(args.out), exercise=args.exercise,
        profile=args.profile, seed=args.seed, cell_timeout=args.cell_timeout,
        notebook_timeout=args.timeout, workers=args.workers,
        training_workers=getattr(args, "training_workers", None), force=args.force,
        similarity_threshold=getattr(args, "similarity_threshold", None) or 0.9)
    summary = run(options)
    print(f"{summary.submissions} submissions: {summary.graded} graded, {summary.cached} "
          f"unchanged, {summary.failed} grader failures, {summary.problems} with problems, "
          f"{summary.similar_pairs} similar pairs")
    for name, path in summary.outputs.items():
        print(f"  {name}: {path}")
    if summary.failed:
        print("some submissions could not be graded (grader failures); run the same command "
              "again to retry them", file=sys.stderr)
    return 1 if summary.failed else 0
