"""What Gradescope's `run_autograder` runs for one submission: find the notebook, grade it,
write results.json, always.

    python -m grader.deploy.gradescope_run --root /autograder --exercise ex01_convolution \
        --timeout 480

The submission folder holds whatever the student uploaded: Jupyter's checkpoint copies
(`.ipynb_checkpoints/x-checkpoint.ipynb`, often an older version), macOS's `__MACOSX/` and
`._x.ipynb` shadows, notebooks of other exercises, an `Untitled.ipynb` left over. One notebook
is graded, chosen by content first: the one that implements most of the exercise's functions
(defined, and not still raising NotImplementedError), then by name (the exercise's file name,
names holding its id, its number), then the newest; the output the student sees names it, says
why, and lists the notebooks left aside. A grader failure still writes a results.json that
says it is not the student's fault.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CHECKPOINT_DIR = ".ipynb_checkpoints"
_MAX_ENTRIES = 20_000  # a submission is a handful of files; stop looking after this many


@dataclass(frozen=True)
class Pick:
    """The notebook to grade, and what was left aside (paths relative to the submission)."""

    notebook: Path | None
    others: tuple[Path, ...] = ()
    checkpoints: tuple[Path, ...] = ()
    why: str = ""

    def describe(self, exercise: str) -> str:
        """The lines the student reads first."""
        lines = []
        if self.notebook is None:
            lines.append(
                f"No notebook (.ipynb) found in your submission: upload {exercise}.ipynb itself."
            )
        else:
            lines.append(
                f"Graded notebook: {self.notebook.as_posix()}"
                + (f" ({self.why})" if self.why else "")
            )
        if self.others:
            names = ", ".join(p.as_posix() for p in self.others[:10])
            more = f" and {len(self.others) - 10} more" if len(self.others) > 10 else ""
            lines.append(f"Not graded (one notebook is graded per submission): {names}{more}")
        if self.checkpoints:
            n = len(self.checkpoints)
            lines.append(
                f"Ignored {n} Jupyter checkpoint cop{'y' if n == 1 else 'ies'} "
                f"({CHECKPOINT_DIR}/, *-checkpoint.ipynb): they are autosaved "
                "snapshots, not your notebook."
            )
        return "\n".join(lines)


def is_checkpoint(rel: Path) -> bool:
    return CHECKPOINT_DIR in rel.parts or rel.name.lower().endswith("-checkpoint.ipynb")


def _ignored(rel: Path) -> bool:
    """Hidden files and folders (macOS `._x` shadows too) and macOS's `__MACOSX/`."""
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def _rank(rel: Path, exercise: str) -> tuple[int, int, str]:
    name = rel.name.lower()
    ex = exercise.lower()
    number = ex.split("_", 1)[0]  # "ex01"
    if name == f"{ex}.ipynb":
        tier = 0
    elif ex in name:
        tier = 1
    elif re.search(rf"(?<![a-z0-9]){re.escape(number)}(?![0-9])", name):
        tier = 2
    else:
        tier = 3
    return tier, len(rel.parts), rel.as_posix()


def pick_notebook(submission: Path, exercise: str) -> Pick:
    """The notebook of `exercise` in the submission folder, by name; never a checkpoint copy."""
    notebooks: list[Path] = []
    checkpoints: list[Path] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(submission, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            seen += 1
            path = Path(dirpath, name)
            if not name.lower().endswith(".ipynb") or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(submission)
            if is_checkpoint(rel):
                checkpoints.append(rel)
            elif not _ignored(rel):
                notebooks.append(rel)
        if seen > _MAX_ENTRIES:
            break
    if not notebooks:
        return Pick(None, (), tuple(checkpoints))
    names = _functions(exercise)
    done = {rel: _implemented(submission / rel, names) for rel in notebooks}
    newest = {rel: -_mtime(submission / rel) for rel in notebooks}
    notebooks.sort(
        key=lambda rel: (-done[rel], _rank(rel, exercise)[0], newest[rel], _rank(rel, exercise)[1:])
    )
    best = notebooks[0]
    why = ""
    if len(notebooks) > 1 and done[best] > done[notebooks[1]]:
        why = (
            f"it implements {done[best]} of the {len(names)} names the exercise grades; "
            "the others fewer"
        )
    return Pick(best, tuple(notebooks[1:]), tuple(checkpoints), why)


def _functions(exercise: str) -> list[str]:
    try:
        from grader.exercises import get

        return list(get(exercise).functions())
    except Exception:  # noqa: BLE001 - an unknown exercise: the name decides, grading says why
        return []


_MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


def _implemented(path: Path, names: list[str]) -> int:
    """How many of `names` the notebook defines (or assigns) other than as a stub."""
    import json

    try:
        if path.stat().st_size > _MAX_NOTEBOOK_BYTES:
            return 0
        cells = json.loads(path.read_text(encoding="utf-8", errors="replace")).get("cells", [])
        code = "\n".join(
            "".join(c.get("source", ""))
            if isinstance(c.get("source"), list)
            else str(c.get("source", ""))
            for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code"
        )
    except (OSError, ValueError, AttributeError):
        return 0
    count = 0
    for name in names:
        match = re.search(rf"^def {re.escape(name)}\(.*?(?=^\S|\Z)", code, re.M | re.S)
        if match is not None:
            count += "raise NotImplementedError" not in match.group(0)
        elif re.search(rf"^{re.escape(name)}\s*=", code, re.M):
            count += 1
    return count


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def grade_submission(root: Path, exercise: str, timeout: float | None) -> Path:
    """Grade the submission under `root` (Gradescope's /autograder); returns results.json."""
    from grader.api import Options, grade
    from grader.deploy.gradescope_dates import lateness
    from grader.reporting import write_reports
    from grader.reporting.gradescope import write_results

    submission, results = root / "submission", root / "results"
    pick = pick_notebook(submission, exercise)
    # No notebook at all: grading the expected path gives a report saying it could not be read.
    notebook = submission / (pick.notebook or Path(f"{exercise}.ipynb"))
    result = grade(notebook, Options(exercise=exercise, notebook_timeout=timeout))
    penalty, late = lateness(root, result.exercise)
    if late:  # Gradescope's own dates; the course's late policy where the zip ships one
        result.notes = [*result.notes, late]
    write_reports(result, results / "reports", notebook.stem)
    note = "\n".join(part for part in (pick.describe(exercise), late) if part)
    print(
        f"{note}\n{result.exercise}: {result.score:g}/{result.max_score:g} "
        f"[{result.execution.status.value}]"
    )
    return write_results([result], results / "results.json", note=note, score_factor=1.0 - penalty)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m grader.deploy.gradescope_run",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("--root", type=Path, default=Path("/autograder"))
    p.add_argument("--exercise", required=True)
    p.add_argument("--timeout", type=float, help="seconds the whole notebook may run")
    args = p.parse_args(argv)
    try:
        grade_submission(args.root, args.exercise, args.timeout)
    except Exception as exc:  # the grader failed: say so to the student, keep the traceback
        from grader.reporting.gradescope import failure_document, write_document

        traceback.print_exc()
        write_document(
            failure_document(
                "The autograder failed while grading this submission. This is not a problem with "
                f"your notebook; your instructor can see the log ({type(exc).__name__})."
            ),
            args.root / "results" / "results.json",
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
