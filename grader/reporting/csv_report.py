"""The class's grades as one CSV: a row per student, the columns an instructor sorts on.

    student, ex01.score, ex01.max, ex01.status, ex01.<check id>..., ex02.score, ..., total,
    max_total, similarity

`ClassEntry` (grader.models) is the gradebook row as every class-level renderer (this CSV, the
dashboard) sees it: typed values built from the results document, no database, so that
renderers stay below the batch that fills the gradebook.

Text cells that a spreadsheet would run as a formula (=, +, -, @) are quoted with a leading
apostrophe: student names and messages come from students.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from grader.models import CheckEntry as CheckEntry  # re-exported: the renderers' row model
from grader.models import ClassEntry as ClassEntry
from grader.similarity import SimilarPair


def short_id(exercise: str) -> str:
    """`ex01_convolution` → `ex01`: short column prefixes that still sort by exercise."""
    return exercise.split("_", 1)[0]


def exercises_of(entries: Iterable[ClassEntry]) -> list[str]:
    return sorted({e.exercise for e in entries if e.exercise})


def check_ids(entries: Iterable[ClassEntry], exercise: str) -> list[str]:
    """The exercise's check ids in declaration order (from the fullest result), then any that
    only older results have."""
    results = sorted((e for e in entries if e.exercise == exercise), key=lambda e: -len(e.checks))
    ids: list[str] = []
    for e in results:
        ids += [c.id for c in e.checks if c.id not in ids]
    return ids


def render_csv(entries: Sequence[ClassEntry], pairs: Sequence[SimilarPair] = ()) -> str:
    exercises = exercises_of(entries)
    checks = {ex: check_ids(entries, ex) for ex in exercises}
    header = ["student"]
    for ex in exercises:
        s = short_id(ex)
        header += [f"{s}.score", f"{s}.max", f"{s}.status"] + [f"{s}.{c}" for c in checks[ex]]
    header += ["total", "max_total", "similarity"]

    by_student: dict[str, dict[str, ClassEntry]] = {}
    for e in entries:
        by_student.setdefault(e.student, {})
        if e.exercise:
            by_student[e.student][e.exercise] = e
    flags: dict[str, list[str]] = {}
    for p in pairs:
        flags.setdefault(p.student_a, []).append(
            f"{short_id(p.exercise)}: {p.student_b} ({p.score:.2f})"
        )
        flags.setdefault(p.student_b, []).append(
            f"{short_id(p.exercise)}: {p.student_a} ({p.score:.2f})"
        )

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for student in sorted(by_student):
        row: list[str] = [defuse(student)]
        total = max_total = 0.0
        for ex in exercises:
            got = by_student[student].get(ex)
            if got is None:
                row += ["", "", "missing"] + [""] * len(checks[ex])
                continue
            total += got.score
            max_total += got.max_score
            by_id = {c.id: c for c in got.checks}
            row += [_num(got.score), _num(got.max_score), got.status.value]
            row += [_num(by_id[c].score) if c in by_id else "" for c in checks[ex]]
        row += [_num(total), _num(max_total), defuse("; ".join(flags.get(student, [])))]
        writer.writerow(row)
    return out.getvalue()


def write_csv(entries: Sequence[ClassEntry], pairs: Sequence[SimilarPair], path: Path) -> Path:
    path = Path(path)
    path.write_text(render_csv(entries, pairs), encoding="utf-8")
    return path


def _num(value: float) -> str:
    return f"{round(float(value), 4):g}"


def defuse(value: str) -> str:
    """Defuse spreadsheet formulas (OWASP's CSV injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
