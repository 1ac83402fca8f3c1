"""Find a class's submissions, whichever way they were collected.

Three layouts are recognised, alone or mixed in one folder, and the same inside a zip:

    submitted/<student>/<assignment>/*.ipynb     nbgrader's exchange layout
    <student>/<assignment>/*.ipynb               the same without the `submitted/` root
    <student>/*.ipynb                            a folder per student
    <student>_<anything>.ipynb                   a flat folder (LMS downloads)

Each notebook's exercise is inferred as `grade` would (--exercise, else the notebook's metadata,
else its file name), then from the nbgrader assignment folder's name. Nothing here runs a
notebook; the only parsing is a bounded `json.loads` for the metadata.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader import nbformat_typed
from grader.api import resolve_exercise
from grader.batch.collect import Origin, find
from grader.batch.safezip import extract_notebooks
from grader.errors import ConfigurationError, UnknownExercise
from grader.execution.notebook import MAX_NOTEBOOK_BYTES
from grader.exercises import available, infer_from_name


@dataclass(frozen=True)
class Submission:
    """One notebook of one student, with where it came from, for people and for the cache."""

    student: str
    exercise: str | None  # None: it could not be told (see `problem`)
    path: Path  # the file to grade (inside the out folder when it came from a zip)
    label: str  # where it came from: "submitted/alice/ex01/ex01.ipynb", "class.zip:bob_ex01.ipynb"
    layout: str  # "nbgrader" | "folder" | "flat" | "classroom" | "gradescope"
    sha256: str
    mtime: float = 0.0
    problem: str = ""
    handed_at: dt.datetime | None = None  # when the layout says it was handed in
    handed_how: str = ""  # how that was read: "git commit 3f2a1b0", "Gradescope's created_at"
    repo: Path | None = None  # the git repository of a Classroom clone it lives in
    repo_path: str = ""  # its path there


@dataclass
class Discovery:
    submissions: list[Submission] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def discover(
    source: Path, *, extract_to: Path, exercise: str | None = None, exclude: tuple[Path, ...] = ()
) -> Discovery:
    """Every submission under `source` (a folder, a zip, or one notebook), one per
    (student, exercise): when a student handed in several notebooks for one exercise, the most
    recently modified one is graded and the others are named in `warnings`."""
    source = Path(source)
    found = Discovery()
    if not source.exists():
        raise ConfigurationError(f"{source} does not exist")
    # file, parts, label prefix, what its layout knows
    candidates: list[tuple[Path, tuple[str, ...], str, Origin | None]] = []
    if source.is_file() and source.suffix.lower() == ".zip":
        candidates += _from_zip(source, extract_to, found)
    elif source.is_file():
        candidates.append((source, (source.name,), "", None))
    else:
        collected = find(source)
        candidates += collected.notebooks
        found.warnings += collected.warnings
        skip = {p.resolve() for p in (*exclude, extract_to, *collected.claimed)}
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
                continue
            if any(path.resolve().is_relative_to(s) for s in skip):
                continue
            if path.suffix.lower() in (".ipynb", ".zip") and (
                path.is_symlink() or not path.is_file()
            ):
                what = "a link" if path.is_symlink() else "not a regular file"
                if not (path.is_dir() and not path.is_symlink()):  # a folder named x.ipynb
                    found.warnings.append(f"skipped {rel}: {what} (only regular files are graded)")
                continue
            if path.is_symlink():
                continue
            if path.is_file() and path.suffix.lower() == ".ipynb":
                candidates.append((path, rel.parts, "", None))
            elif path.is_file() and path.suffix.lower() == ".zip" and len(rel.parts) == 1:
                candidates += _from_zip(path, extract_to, found)
    chosen: dict[tuple[str, str], Submission] = {}
    for path, parts, prefix, origin in candidates:
        sub = _submission(path, parts, prefix, exercise, origin)
        key = (sub.student, sub.exercise or f"?{sub.label}")
        other = chosen.get(key)
        if other is None:
            chosen[key] = sub
            continue
        keep, drop = (sub, other) if _when(sub) > _when(other) else (other, sub)
        chosen[key] = keep
        found.warnings.append(
            f"{sub.student}: two notebooks for {sub.exercise}; graded "
            f"{keep.label}, ignored {drop.label}"
        )
    found.submissions = sorted(chosen.values(), key=lambda s: (s.exercise or "~", s.student))
    return found


def _when(sub: Submission) -> float:
    """When a notebook was handed in, as well as it is known: its layout's time, else the file's."""
    return sub.handed_at.timestamp() if sub.handed_at is not None else sub.mtime


def _from_zip(
    archive: Path, extract_to: Path, found: Discovery
) -> list[tuple[Path, tuple[str, ...], str, Origin | None]]:
    digest = hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:8]
    extraction = extract_notebooks(archive, extract_to / f"{_slug(archive.stem)}-{digest}")
    found.warnings += [f"{archive.name}: skipped {why}" for why in extraction.skipped]
    out: list[tuple[Path, tuple[str, ...], str, Origin | None]] = []
    for file in extraction.files:
        parts = file.relative_to(extraction.root).parts
        # `class.zip` holding a single `class/` folder: that folder is not a student.
        if len(parts) > 1 and parts[0].lower() == archive.stem.lower():
            parts = parts[1:]
        out.append((file, parts, f"{archive.name}:", None))
    return out


def _layout(parts: tuple[str, ...]) -> tuple[str, str, str | None]:
    """(layout, student, assignment folder) from the path of a notebook below the root."""
    lowered = [p.lower() for p in parts]
    if "submitted" in lowered[:-1]:
        i = lowered.index("submitted")
        rest = parts[i + 1 :]
        if len(rest) >= 3:
            return "nbgrader", rest[0], rest[1]
        if len(rest) == 2:
            return "folder", rest[0], None
        parts = rest
    if len(parts) >= 3:
        return "nbgrader", parts[0], parts[1]
    if len(parts) == 2:
        return "folder", parts[0], None
    stem = Path(parts[-1]).stem
    return "flat", stem.split("_", 1)[0] if "_" in stem else stem, None


def _submission(
    path: Path, parts: tuple[str, ...], prefix: str, explicit: str | None, origin: Origin | None
) -> Submission:
    layout, student, assignment = _layout(parts)
    if origin is not None:
        layout, student = origin.layout, origin.student
    student = student.strip() or "unknown"
    data = b""
    try:
        if path.stat().st_size <= MAX_NOTEBOOK_BYTES:
            data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    sha = hashlib.sha256(data).hexdigest()
    exercise, problem = _exercise(path, data, assignment, explicit)
    return Submission(
        student=student,
        exercise=exercise,
        path=path,
        label=prefix + "/".join(parts),
        layout=layout,
        sha256=sha,
        mtime=mtime,
        problem=problem,
        handed_at=origin.handed_at if origin else None,
        handed_how=origin.handed_how if origin else "",
        repo=origin.repo if origin else None,
        repo_path=origin.repo_path if origin else "",
    )


def _exercise(
    path: Path, data: bytes, assignment: str | None, explicit: str | None
) -> tuple[str | None, str]:
    nb = None
    try:
        raw = json.loads(data.decode("utf-8-sig")) if data else None
        if isinstance(raw, dict) and isinstance(raw.get("metadata"), dict):
            nb = nbformat_typed.from_dict({"metadata": raw["metadata"]})
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        nb = None  # a broken notebook is graded (as invalid) under the name's exercise
    try:
        found: str | None = resolve_exercise(path, nb, explicit)
    except UnknownExercise:
        found = infer_from_name(assignment) if assignment else None
    if found is None:
        return None, (
            f"cannot tell which exercise {path.name} is (no metadata, no exercise id "
            "in its name or folder); pass --exercise"
        )
    if found not in available():
        return None, f"{path.name} is for {found}, which this grader version cannot grade"
    return found, ""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "x"


def student_slug(student: str) -> str:
    """A folder name for a student's reports: readable, and unique even when two names differ
    only in characters a file system (or a URL) would not keep."""
    slug = _slug(student)[:60]
    if slug != student:
        slug += "-" + hashlib.sha256(student.encode()).hexdigest()[:6]
    return slug
