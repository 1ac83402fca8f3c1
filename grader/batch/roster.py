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
from collections.abc import Iterable
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


def parse(text: str, *, source: str = "roster") -> Roster:
    """A roster from CSV text in one of the layouts of the module docstring."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise ConfigurationError(f"{source}: no students (an empty file, or a header only)")
    header = {h.strip().lower(): h for h in rows[0]}

    def col(row: dict[str, str], name: str) -> str:
        key = header.get(name)
        return (row.get(key) or "").strip() if key else ""

    students: list[Student] = []
    if "github_username" in header or "identifier" in header:  # GitHub Classroom
        for row in rows:
            user, ident = col(row, "github_username"), col(row, "identifier")
            if not (user or ident):
                continue
            students.append(
                Student(
                    ident or user,
                    col(row, "name") or ident or user,
                    ident if "@" in ident else "",
                    aliases=tuple(a for a in (user, ident) if a),
                    lms={"github_username": user},
                )
            )
    elif "sis login id" in header or ("student" in header and "id" in header):  # Canvas
        for row in rows:
            name = col(row, "student")
            if not name or name.lower().startswith("points possible"):
                continue
            login, sis, canvas_id = (
                col(row, "sis login id"),
                col(row, "sis user id"),
                col(row, "id"),
            )
            students.append(
                Student(
                    login or sis or canvas_id,
                    name,
                    aliases=tuple(a for a in (login, sis, canvas_id) if a),
                    lms={
                        "Student": name,
                        "ID": canvas_id,
                        "SIS User ID": sis,
                        "SIS Login ID": login,
                        "Section": col(row, "section"),
                    },
                )
            )
    elif "username" in header and "last name" in header:  # Blackboard's Grade Center
        for row in rows:
            user = col(row, "username")
            if not user:
                continue
            first, last, number = (
                col(row, "first name"),
                col(row, "last name"),
                col(row, "student id"),
            )
            students.append(
                Student(
                    user,
                    f"{first} {last}".strip() or user,
                    aliases=tuple(a for a in (number,) if a),
                    lms={
                        "Last Name": last,
                        "First Name": first,
                        "Username": user,
                        "Student ID": number,
                    },
                )
            )
    elif "email address" in header:  # Moodle
        for row in rows:
            email = col(row, "email address")
            name = f"{col(row, 'first name')} {col(row, 'last name')}".strip()
            if not email:
                continue
            students.append(
                Student(
                    email.split("@", 1)[0],
                    name,
                    email,
                    aliases=tuple(a for a in (col(row, "id number"),) if a),
                    lms={"Email address": email, "ID number": col(row, "id number")},
                )
            )
    elif "id" in header:  # plain
        for row in rows:
            ident = col(row, "id")
            if ident:
                students.append(
                    Student(ident, col(row, "name"), col(row, "email"), _split(col(row, "aliases")))
                )
    else:
        raise ConfigurationError(
            f"{source}: not a roster this grader reads (columns: {', '.join(rows[0])}); "
            "expected GitHub Classroom's (identifier, github_username, ...), Canvas' (Student, "
            "ID, SIS User ID, SIS Login ID, Section), Moodle's (Email address, ...), Blackboard's "
            "(Last Name, First Name, Username, ...) or "
            "id, name, email, aliases"
        )
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
