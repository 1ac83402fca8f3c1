"""The last guard of a student release (grader.release): no exercise's solution code in any
file it wrote.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader import nbformat_typed
from grader.checks.core import Exercise
from grader.errors import ConfigurationError


def refuse_solution_lines(
    files: list[Path], exercises: list[Exercise], allow_reveal: Sequence[str] = ()
) -> None:
    """The last guard: no exercise's solution code in any file written.

    Not in another exercise's starter (a later exercise giving an earlier one's answer as given
    code hands it out), not in a hint, not in the data. In a notebook, a cell leaks a solution
    block when it holds most of the block's distinctive lines (more than 60%, and at least
    three, or all of a shorter block): a few idioms such as `keras.layers.Flatten(),` are
    everyone's Keras. Anywhere else (the cases' hints, the package) one distinctive line is a
    quote. A line the exercise's own starter shows outside its solution blocks is no secret.
    `allow_reveal` names exercises whose solutions may be shown (already due: said on purpose).
    ConfigurationError lists every leak with its file and cell."""
    from grader.generate import solution_blocks

    texts = {path: _readable(path) for path in files if path.suffix != ".whl"}
    cells = {
        path: [
            set(line.strip() for line in c.source.splitlines())
            for c in nbformat_typed.reads(path.read_text(encoding="utf-8")).cells
        ]
        for path in texts
        if path.suffix == ".ipynb"
    }
    leaks: list[str] = []
    for ex in exercises:
        if ex.id in allow_reveal:
            continue
        own = next((texts[p] for p in files if p.name == f"{ex.id}.ipynb"), "")
        for block in solution_blocks(nbformat_typed.read(ex.solution_path)):
            secret = list(
                dict.fromkeys(line for line in block if distinctive(line) and line not in own)
            )
            if not secret:
                continue
            for path, text in texts.items():
                if path in cells:
                    for i, lines in enumerate(cells[path]):
                        hits = [line for line in secret if line in lines]
                        if len(hits) >= min(3, len(secret)) and len(hits) > 0.6 * len(secret):
                            leaks.append(
                                f"{path.name} cell {i + 1}: {len(hits)} lines of "
                                f"{ex.id}'s solution, e.g. {hits[0]!r}"
                            )
                else:
                    leaks += [
                        f"{path.name}: a line of {ex.id}'s solution: {line!r}"
                        for line in secret
                        if line in text
                    ]
    if leaks:
        leaks = list(dict.fromkeys(leaks))
        shown = "\n  ".join(leaks[:20]) + (
            f"\n  … and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        )
        raise ConfigurationError(
            f"the release would hand out solution code:\n  {shown}\n"
            "Give that code another way (a stub the student fills with their earlier answer), "
            "make hints describe rather than quote, or release the exercise once the other is "
            "due: --exercise ID, and --allow-reveal ID to say on purpose that an exercise's "
            "solution may be shown"
        )


def distinctive(line: str) -> bool:
    """A line that tells something of a solution: long enough, and naming more than keywords
    and builtins (`raise ValueError(` could be anyone's code; `out = sums / counts` is not)."""
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line)
    return len(line) >= 12 and any(
        not keyword.iskeyword(n) and not hasattr(builtins, n) for n in names
    )


def _readable(path: Path) -> str:
    """A file's text as a person reads it: a notebook's cell sources and a JSON file's
    strings unescaped, besides the raw text."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix not in (".ipynb", ".json"):
        return raw
    strings: list[str] = [raw]

    def walk(v: Any) -> None:
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)

    walk(json.loads(raw))
    return "\n".join(strings)
