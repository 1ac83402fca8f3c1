"""Where the course comes from: the package is the grader, the course is material beside it.

A course is found in one of three forms (CONTRACT.md §4), named by `--course PATH` or the
`CNN_GRADER_COURSE` variable:

- a **bundle** file (`cnn-grader bundle`): the private grading material, verified and unpacked
  into `<cache root>/courses/<sha256>/`, a folder only the grader's user may enter;
- a **release** folder (`cnn-grader release`): what students receive, with public self-checks
  only; it cannot grade;
- a **course** folder holding `solutions/` (and `exercises/`), such as this repository.

Without either, the course folder the package was installed from (an editable install or the
source tree); `CNN_GRADER_COURSE_DIR`, the older name, still works. A wheel installed from PyPI
or a release asset has no course beside it: then every command that needs one says the three
ways to give it and exits 2.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import ConfigurationError

COURSE_ENV = "CNN_GRADER_COURSE"
LEGACY_ENV = "CNN_GRADER_COURSE_DIR"
RELEASE_MANIFEST = "release.json"
RELEASE_FORMAT = "cnn-grader-release"

Kind = Literal["course", "bundle", "release"]


class NoCourse(ConfigurationError):
    """No course was named and none lies beside the installed package."""


@dataclass(frozen=True)
class Course:
    """A resolved course: what it is, where its files are, and what names its content."""

    kind: Kind
    root: Path  # course folder, unpacked bundle, or release folder
    source: Path  # what was named: the bundle file, or the folder itself
    identity: str = ""  # a bundle's manifest sha256 ("" for folders)

    @property
    def can_grade(self) -> bool:
        return self.kind != "release"

    @property
    def solutions_dir(self) -> Path:
        if not self.can_grade:
            raise ConfigurationError(
                f"{self.source} is a student release: it has public self-checks only, no "
                "reference solutions; grading needs the grading bundle or the course folder "
                f"(--course or {COURSE_ENV})"
            )
        return self.root / "solutions"

    @property
    def exercises_dir(self) -> Path:
        return self.root if self.kind == "release" else self.root / "exercises"

    @property
    def calibration_file(self) -> Path | None:
        """Reference accuracies shipped with a bundle (read-only; the machine's cache wins)."""
        path = self.root / "calibration.json"
        return path if self.kind == "bundle" and path.is_file() else None

    def describe(self) -> str:
        what = {"course": "course folder", "bundle": "grading bundle", "release": "student release"}
        return f"{what[self.kind]} {self.source}"


def _missing_message(where: Path | None = None) -> str:
    head = (
        f"no course at {where}"
        if where is not None
        else "no course found: this grader was installed without one"
    )
    return (
        f"{head}. Give the course in one of three ways: --course BUNDLE (a file made by "
        "`cnn-grader bundle`), --course RELEASE_DIR (a folder made by `cnn-grader release`; "
        "self-checks only), or --course COURSE_DIR (a folder with solutions/); or set "
        f"{COURSE_ENV} to one of them"
    )


def resolve(spec: str | os.PathLike[str] | None = None) -> Course:
    """The course named by `spec`, else by the environment, else the installed-from folder."""
    named = spec if spec is not None else (os.environ.get(COURSE_ENV) or os.environ.get(LEGACY_ENV))
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise NoCourse(_missing_message(path))
        return _resolve_path(path.resolve())
    default = Path(__file__).resolve().parents[1]
    if (default / "solutions").is_dir():
        return Course("course", default, default)
    raise NoCourse(_missing_message())


def current() -> Course:
    """The course of this process (`--course` sets `CNN_GRADER_COURSE`, which worker processes
    inherit); resolved once per value and bundle version."""
    named = os.environ.get(COURSE_ENV) or os.environ.get(LEGACY_ENV) or ""
    stamp = 0
    if named:
        try:
            stamp = Path(named).expanduser().stat().st_mtime_ns
        except OSError:
            stamp = -1
    return _current(named, stamp)


@functools.lru_cache(maxsize=8)
def _current(named: str, stamp: int) -> Course:
    return resolve(named or None)


def _resolve_path(path: Path) -> Course:
    from grader import bundle

    if path.is_file():
        if not bundle.is_bundle(path):
            raise NoCourse(
                f"{path} is neither a grading bundle nor a course folder. "
                + _missing_message().split(". ", 1)[1]
            )
        return _unpacked(path)
    manifest = path / RELEASE_MANIFEST
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or data.get("format") != RELEASE_FORMAT:
            raise NoCourse(f"{manifest} is not the manifest of a cnn-grader release")
        return Course("release", path, path)
    if (path / "solutions").is_dir():
        return Course("course", path, path)
    raise NoCourse(_missing_message(path))


def _unpacked(path: Path) -> Course:
    """Open and verify the bundle, and unpack it once per content into the grader's cache."""
    from grader import bundle
    from grader.datasets.registry import cache_root

    opened = bundle.open_bundle(path)
    courses = cache_root() / "courses"
    courses.mkdir(parents=True, exist_ok=True)
    try:
        courses.chmod(0o700)  # the kernels' uid may reach the cache root, never in here
    except OSError:
        pass
    digest = hashlib.sha256(opened.identity.encode() + path.read_bytes()).hexdigest()[:32]
    dest = courses / digest
    if not (dest.is_dir() and bundle.matches(opened, dest)):
        tmp = courses / f".{digest}.{uuid.uuid4().hex}"
        bundle.unpack(opened, tmp)
        shutil.rmtree(dest, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:  # another process unpacked the same bundle first
            shutil.rmtree(tmp, ignore_errors=True)
            if not bundle.matches(opened, dest):
                raise ConfigurationError(f"cannot unpack {path} into {dest}") from None
    return Course("bundle", dest, path, opened.identity)


def course_dir() -> Path:
    """The folder holding solutions/ of the current course (a grading course only)."""
    return current().solutions_dir.parent


def solutions_dir() -> Path:
    return current().solutions_dir


def exercises_dir() -> Path:
    return current().exercises_dir
