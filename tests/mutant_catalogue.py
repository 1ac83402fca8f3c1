"""The catalogue of realistic student bugs in tests/mutants/<exercise>/<name>.py.

Each file redefines one or more student functions with a bug. It is graded as one more code
cell after the solution, so the buggy definition wins (and the solution's other functions call
it, as a student's own helpers would be called). The file's leading comments declare:

    # fails: a, b         the checks that fail whatever the seed (may be empty only with `gap`)
    # may fail: c, d      checks that catch the bug for some seeds only (none left in the
    #                     NumPy exercises: their hidden inputs show every catalogued mistake)
    # gap: why            the checks cannot always catch this bug (reported, not hidden)
    # names: w1, w2       the known-wrong variants (grader/exercises/<exercise>.py) that every
    #                     failed check's message must name
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MUTANTS_DIR = Path(__file__).parent / "mutants"
FIELDS = ("fails", "may fail", "gap", "names")


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    source: str
    fails: frozenset[str]
    may_fail: frozenset[str]
    gap: str
    names: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return f"{self.exercise}/{self.name}"


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def parse(path: Path) -> Mutant:
    """Read the header comments of a mutant file (see the module docstring)."""
    source = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep and key.strip() in FIELDS:
            fields[key.strip()] = value.strip()
    if "fails" not in fields or not source.startswith("# fails:"):
        raise ValueError(f"{path}: the first line must be '# fails: check_id, ...'")
    return Mutant(
        path.parent.name,
        path.stem,
        source,
        _ids(fields["fails"]),
        _ids(fields.get("may fail", "")),
        fields.get("gap", ""),
        _ids(fields.get("names", "")),
    )


def all_mutants() -> list[Mutant]:
    return [parse(p) for p in sorted(MUTANTS_DIR.glob("*/*.py"))]
