"""Unpack a class's zip of notebooks without trusting it.

A zip from an LMS export or a student is untrusted input: member names can climb out of the
target folder (`../../.bashrc`, `/etc/x`), be symlinks, or be small on disk and huge unpacked
(a zip bomb). Only notebooks are extracted, each under a limit on its size, with a limit on the
whole archive; sizes are counted while streaming, because the sizes in the zip's header are
whatever the archive's author wrote there.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import ConfigurationError
from grader.execution.notebook import MAX_NOTEBOOK_BYTES

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 4 * 1024**3
_CHUNK = 1 << 16


@dataclass
class Extraction:
    """What came out of an archive, and what was left in it and why."""

    root: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _safe_name(name: str) -> PurePosixPath | None:
    """The member's path if it stays inside the target folder, else None."""
    name = name.replace("\\", "/")
    if not name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts):
        return None
    return PurePosixPath(*parts)


def _wanted(rel: PurePosixPath) -> bool:
    """Notebooks only, and none of the copies editors leave behind."""
    if rel.suffix.lower() != ".ipynb":
        return False
    return not any(p.startswith(".") or p == "__MACOSX" for p in rel.parts)


def extract_notebooks(
    archive: Path,
    dest: Path,
    *,
    max_member_bytes: int = MAX_NOTEBOOK_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_members: int = MAX_MEMBERS,
) -> Extraction:
    """Extract the notebooks of `archive` under `dest` (emptied first).

    A member that is unsafe or too large is skipped with a reason; an archive that is not a zip,
    or one whose notebooks together exceed `max_total_bytes`, is a ConfigurationError (the
    instructor's input is wrong, no student's fault).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigurationError(f"{archive.name} is not a readable zip archive: {exc}") from None
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = Extraction(root=dest)
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise ConfigurationError(
                f"{archive.name} has {len(infos)} entries; the limit is {max_members}"
            )
        for info in infos:
            if info.is_dir():
                continue
            rel = _safe_name(info.filename)
            if rel is None:
                out.skipped.append(f"{info.filename!r}: path leaves the archive's folder")
                continue
            if not _wanted(rel):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                out.skipped.append(f"{info.filename}: symbolic link")
                continue
            if info.flag_bits & 0x1:
                out.skipped.append(f"{info.filename}: encrypted")
                continue
            if info.file_size > max_member_bytes:
                out.skipped.append(
                    f"{info.filename}: {info.file_size} bytes unpacked, over the "
                    f"limit of {max_member_bytes}"
                )
                continue
            target = dest.joinpath(*rel.parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                out.skipped.append(f"{info.filename!r}: path leaves the archive's folder")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written, complete = 0, True
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_member_bytes or total + written > max_total_bytes:
                            complete = False
                            break
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)
                out.skipped.append(f"{info.filename}: cannot be unpacked ({exc})")
                continue
            if not complete:
                target.unlink(missing_ok=True)
                if total + written > max_total_bytes:
                    raise ConfigurationError(
                        f"{archive.name} unpacks to more than {max_total_bytes} bytes of "
                        "notebooks; refusing it (a zip bomb?)"
                    )
                out.skipped.append(
                    f"{info.filename}: unpacks to more than {max_member_bytes} "
                    "bytes (its header said less)"
                )
                continue
            total += written
            out.files.append(target)
    return out
