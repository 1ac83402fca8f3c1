"""Where a class's submissions were collected, beyond plain folders and zips.

- **A GitHub Classroom clone** (`gh classroom clone student-repos`, or any folder of git
  repositories): a folder per student repository, at the top or one level down (a folder per
  assignment). The student is the repository's folder name less the prefix the assignment's
  repositories share (`ex01-convolution-alice` → `alice`; the roster then matches it by GitHub
  username). The notebooks are the ones git tracks; when each was handed in is its last commit,
  read with git itself.
- **A Gradescope export** ("Export Submissions"): `submission_metadata.yml` beside a folder per
  submission (`submission_<id>/`). The student is the first submitter's email (else their SID,
  else name), the hand-in time the metadata's `:created_at:`.

`pin_to_deadline` then grades, for a repository, the notebook as it was at its last commit
before the student's cutoff (grader.batch.term: the hard deadline, or the due date where late
work is not accepted), taken out with `git show` into the batch's own folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import ConfigurationError

if TYPE_CHECKING:
    from grader.batch.discover import Submission

METADATA = "submission_metadata.yml"
_GIT_TIMEOUT_S = 30


@dataclass(frozen=True)
class Origin:
    """What a collection layout knows of one notebook that its path does not say."""

    layout: str  # "classroom" | "gradescope"
    student: str
    handed_at: dt.datetime | None = None
    handed_how: str = ""  # "git commit 3f2a1b0", "Gradescope's created_at"
    repo: Path | None = None  # the git repository it lives in
    repo_path: str = ""  # its path inside that repository


@dataclass
class Found:
    """Notebooks a layout claimed (file, path parts, label prefix, origin), and the folders the
    generic walk must leave alone."""

    notebooks: list[tuple[Path, tuple[str, ...], str, Origin]] = field(default_factory=list)
    claimed: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def git_bytes(repo: Path, *args: str) -> bytes:
    """git's standard output in `repo`, b"" where git fails or is missing."""
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return b""


def git(repo: Path, *args: str) -> str:
    """git's standard output in `repo` as text, "" where git fails or is missing."""
    return git_bytes(repo, *args).decode("utf-8", errors="replace")


def find(source: Path) -> Found:
    """The Classroom repositories and Gradescope exports under the folder `source`."""
    found = Found()
    if not source.is_dir():
        return found
    for meta in sorted([source / METADATA, *source.glob(f"*/{METADATA}")]):
        if meta.is_file():
            _gradescope(meta, source, found)
    groups: dict[Path, list[Path]] = {}
    for candidate in sorted([*source.iterdir(), *source.glob("*/*")]):
        if candidate.is_dir() and not candidate.is_symlink() and (candidate / ".git").exists():
            if not any(candidate.is_relative_to(c) for c in found.claimed):
                groups.setdefault(candidate.parent, []).append(candidate)
    for repos in groups.values():
        prefix = _shared_prefix([r.name for r in repos])
        for repo in repos:
            _classroom(repo, source, repo.name[len(prefix) :] or repo.name, found)
    return found


def _shared_prefix(names: list[str]) -> str:
    """The prefix, up to a `-`, that an assignment's repositories share (`ex01-conv-`), when
    there are two or more of them."""
    if len(names) < 2:
        return ""
    common = os.path.commonprefix(names)
    return common[: common.rfind("-") + 1] if "-" in common else ""


def _classroom(repo: Path, source: Path, student: str, found: Found) -> None:
    found.claimed.append(repo)
    tracked = [p for p in git(repo, "ls-files", "-z", "--", "*.ipynb").split("\0") if p]
    if not tracked:
        found.warnings.append(f"{repo.relative_to(source)}: a git repository with no notebook")
    for rel in tracked:
        path = repo / rel
        if path.is_symlink() or not path.is_file():
            found.warnings.append(f"skipped {repo.name}/{rel}: not a regular file in the clone")
            continue
        at, how = last_commit(repo, rel)
        parts = (*path.relative_to(source).parts,)
        found.notebooks.append(
            (path, parts, "", Origin("classroom", student, at, how, repo.resolve(), rel))
        )


def last_commit(
    repo: Path, rel: str, *, before: dt.datetime | None = None
) -> tuple[dt.datetime | None, str]:
    """When `rel` was last committed in `repo` (at or before `before`), and that commit."""
    limit = [f"--before={before.isoformat()}"] if before is not None else []
    out = git(repo, "log", "-1", "--format=%H %cI", *limit, "--", rel).split()
    if len(out) != 2:
        return None, ""
    return dt.datetime.fromisoformat(out[1]), f"git commit {out[0][:7]}"


def _gradescope(meta: Path, source: Path, found: Found) -> None:
    import yaml

    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{meta}: not a readable Gradescope export ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{meta}: not a Gradescope export (no submissions in it)")
    root = meta.parent
    found.claimed.append(root)
    for key, record in sorted(data.items(), key=lambda kv: str(kv[0])):
        folder = root / str(key)
        if not isinstance(record, dict) or not folder.is_dir():
            found.warnings.append(f"{meta.name}: {key} has no folder beside it")
            continue
        student = _submitter(record.get(":submitters"))
        at = _time(record.get(":created_at"))
        for path in sorted(folder.rglob("*.ipynb")):
            if path.is_symlink() or not path.is_file():
                continue
            found.notebooks.append(
                (
                    path,
                    path.relative_to(source).parts,
                    "",
                    Origin("gradescope", student or str(key), at, "Gradescope's created_at"),
                )
            )


def _submitter(value: Any) -> str:
    people = value if isinstance(value, list) else []
    first = people[0] if people and isinstance(people[0], dict) else {}
    for key in (":email", ":sid", ":name"):
        if str(first.get(key) or "").strip():
            return str(first[key]).strip()
    return ""


def _time(value: Any) -> dt.datetime | None:
    """`:created_at:` as YAML gives it: a timestamp, or Ruby's `2026-10-01 22:10:05.123 -0700`."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    text = str(value or "").strip()
    if not text:
        return None
    date, _, rest = text.partition(" ")
    clock, _, zone = rest.partition(" ")
    clock = clock.split(".", 1)[0]
    try:
        return dt.datetime.fromisoformat(f"{date}T{clock}{zone or '+00:00'}")
    except ValueError:
        return None


def pin_to_deadline(
    subs: list[Submission],
    cutoff: Callable[[str, str], dt.datetime | None],
    extract_to: Path,
) -> tuple[list[Submission], list[str]]:
    """Each repository's notebook as of its last commit at or before `cutoff(student,
    exercise)`, and what was chosen (one line per submission that changed). A notebook with no
    commit before the cutoff is graded as it is now (its lateness says the rest)."""
    out, said = [], []
    for sub in subs:
        limit = cutoff(sub.student, sub.exercise) if sub.exercise else None
        if sub.repo is None or limit is None or sub.handed_at is None or sub.handed_at <= limit:
            out.append(sub)
            continue
        at, how = last_commit(sub.repo, sub.repo_path, before=limit)
        if at is None:
            out.append(sub)
            said.append(
                f"{sub.student} {sub.exercise}: no commit before {limit.isoformat()}; graded "
                f"{sub.handed_how} ({sub.handed_at.isoformat()})"
            )
            continue
        commit = how.rsplit(" ", 1)[-1]
        data = git_bytes(sub.repo, "show", f"{commit}:{sub.repo_path}")
        digest = hashlib.sha256(str(sub.repo).encode()).hexdigest()[:8]
        path = extract_to / "pinned" / f"{sub.repo.name}-{digest}" / commit / Path(sub.repo_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        said.append(
            f"{sub.student} {sub.exercise}: graded {how} ({at.isoformat()}), the last before "
            f"{limit.isoformat()}; the later {sub.handed_how} is not graded"
        )
        out.append(
            replace(
                sub,
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                label=f"{sub.label}@{commit}",
                handed_at=at,
                handed_how=how,
            )
        )
    return out, said
