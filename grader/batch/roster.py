"""The class list: who the students are, under every name a submission may carry.

A roster is read from the CSV an instructor already has:

- GitHub Classroom's roster export: `identifier, github_username, github_id, name`;
- a Canvas gradebook export: `Student, ID, SIS User ID, SIS Login ID, Section, ...` (its
  "Points Possible" row is skipped);
- a Moodle export: `First name, Last name, ID number, Email address, ...`;
- a Blackboard Grade Center download: `Last Name, First Name, Username, Student ID, ...`;
- a plain CSV: `id, name, email, aliases` (aliases separated by `;` or spaces).

Each student keeps an id (the name the gradebook files them under), a display name, the LMS's
own ids for exports, and aliases: a submission named after any of them (a GitHub username, an
email or its local part, a login) is theirs. Matching ignores case. A submission that matches
nobody is listed, never dropped; a student with no submission is listed as missing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ConfigurationError


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    aliases: tuple[str, ...] = ()
    lms: dict[str, str] = field(default_factory=dict, compare=False)  # the LMS's own columns

    def names(self) -> set[str]:
        local = self.email.split("@", 1)[0] if "@" in self.email else ""
        return {n.strip().lower() for n in (self.id, self.email, local, *self.aliases) if n.strip()}


@dataclass(frozen=True)
class Roster:
    students: tuple[Student, ...]
    source: str = ""

    def match(self, name: str) -> Student | None:
        """The student a submission named `name` belongs to, or None."""
        key = name.strip().lower()
        for s in self.students:
            if key in s.names():
                return s
        return None

    def ids(self) -> list[str]:
        return [s.id for s in self.students]


def _split(text: str) -> tuple[str, ...]:
    return tuple(a for a in re.split(r"[;\s]+", text or "") if a)


Column = Callable[[str], str]  # a row's value in a column named case-insensitively, or ""


def _classroom(col: Column) -> Student | None:
    user, ident = col("github_username"), col("identifier")
    if not (user or ident):
        return None
    return Student(
        ident or user,
        col("name") or ident or user,
        ident if "@" in ident else "",
        aliases=tuple(a for a in (user, ident) if a),
        lms={"github_username": user},
    )


def _canvas(col: Column) -> Student | None:
    name = col("student")
    if not name or name.lower().startswith("points possible"):
        return None
    login, sis, canvas_id = col("sis login id"), col("sis user id"), col("id")
    return Student(
        login or sis or canvas_id,
        name,
        aliases=tuple(a for a in (login, sis, canvas_id) if a),
        lms={
            "Student": name,
            "ID": canvas_id,
            "SIS User ID": sis,
            "SIS Login ID": login,
            "Section": col("section"),
        },
    )


def _blackboard(col: Column) -> Student | None:
    user = col("username")
    if not user:
        return None
    first, last, number = col("first name"), col("last name"), col("student id")
    return Student(
        user,
        f"{first} {last}".strip() or user,
        aliases=tuple(a for a in (number,) if a),
        lms={"Last Name": last, "First Name": first, "Username": user, "Student ID": number},
    )


def _moodle(col: Column) -> Student | None:
    email = col("email address")
    if not email:
        return None
    number = col("id number")
    return Student(
        email.split("@", 1)[0],
        f"{col('first name')} {col('last name')}".strip(),
        email,
        aliases=tuple(a for a in (number,) if a),
        lms={"Email address": email, "ID number": number},
    )


def _plain(col: Column) -> Student | None:
    ident = col("id")
    return Student(ident, col("name"), col("email"), _split(col("aliases"))) if ident else None


# Each layout: how its header is told apart (lower-cased column names), and how a row is read.
LAYOUTS: tuple[tuple[str, Callable[[set[str]], bool], Callable[[Column], Student | None]], ...] = (
    ("GitHub Classroom", lambda h: "github_username" in h or "identifier" in h, _classroom),
    ("Canvas", lambda h: "sis login id" in h or {"student", "id"} <= h, _canvas),
    ("Blackboard", lambda h: {"username", "last name"} <= h, _blackboard),
    ("Moodle", lambda h: "email address" in h, _moodle),
    ("plain", lambda h: "id" in h, _plain),
)


def _columns(row: dict[str, str], header: dict[str, str]) -> Column:
    def col(name: str) -> str:
        key = header.get(name)
        return (row.get(key) or "").strip() if key else ""

    return col


def parse(text: str, *, source: str = "roster") -> Roster:
    """A roster from CSV text in one of the layouts of the module docstring."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise ConfigurationError(f"{source}: no students (an empty file, or a header only)")
    header = {h.strip().lower(): h for h in rows[0]}
    reader = next((read for _, fits, read in LAYOUTS if fits(set(header))), None)
    if reader is None:
        raise ConfigurationError(
            f"{source}: not a roster this grader reads (columns: {', '.join(rows[0])}); "
            "expected GitHub Classroom's (identifier, github_username, ...), Canvas' (Student, "
            "ID, SIS User ID, SIS Login ID, Section), Moodle's (Email address, ...), Blackboard's "
            "(Last Name, First Name, Username, ...) or id, name, email, aliases"
        )
    students = [s for row in rows if (s := reader(_columns(row, header)))]
    seen: dict[str, str] = {}
    for s in students:
        for n in s.names():
            if n in seen and seen[n] != s.id:
                raise ConfigurationError(f"{source}: {n!r} names both {seen[n]} and {s.id}")
            seen[n] = s.id
    return Roster(tuple(students), source)


def read(path: Path) -> Roster:
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"roster {path} does not exist")
    return parse(path.read_text(encoding="utf-8"), source=str(path))


def as_data(student: Student) -> dict[str, object]:
    """A student as the gradebook keeps them (JSON)."""
    return {
        "id": student.id,
        "name": student.name,
        "email": student.email,
        "aliases": list(student.aliases),
        "lms": dict(student.lms),
    }


def assign(roster: Roster, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Each submission name → its student's id, and the names no student has (kept as they
    are, and listed)."""
    out: dict[str, str] = {}
    unmatched: list[str] = []
    for name in names:
        student = roster.match(name)
        if student is None:
            unmatched.append(name)
            out[name] = name
        else:
            out[name] = student.id
    return out, sorted(set(unmatched))
