"""What a fresh kernel home starts with, so that a kernel does not redo work every kernel
before it already did: matplotlib's font list.

The sandbox gives every kernel an empty home of its own (`MPLCONFIGDIR` inside it), so the
first `import matplotlib.pyplot` of every notebook scanned the machine's fonts and wrote
`fontlist-v*.json` again: about 0.3 s of each NumPy-exercise grading (measured on the 2-core
CI machine; ex01 imports pyplot in its first cell). The list is built here once per machine,
by a grader-run Python that imports matplotlib and nothing of any student's, and copied into
each new home. A kernel only ever gets its own copy, so what one notebook does to it reaches
no other kernel; a list that does not fit (fonts hidden, another matplotlib) is rebuilt by
matplotlib itself, as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

_BUILD = "import matplotlib.font_manager"
_lock = threading.Lock()


def _seed_dir() -> Path:
    from grader.datasets.registry import cache_root

    return cache_root() / "kernel-seed" / "matplotlib"


def font_lists(*, build: bool = True) -> list[Path]:
    """The prebuilt font lists (built now when missing and `build`); [] when matplotlib is not
    installed or the build failed (a kernel then builds its own, as without a seed)."""
    folder = _seed_dir()
    found = sorted(folder.glob("fontlist-v*.json")) if folder.is_dir() else []
    if found or not build:
        return found
    with _lock:
        found = sorted(folder.glob("fontlist-v*.json")) if folder.is_dir() else []
        if found:
            return found
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".build-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))}
        env["MPLCONFIGDIR"] = str(scratch)
        try:
            subprocess.run(
                [sys.executable, "-c", _BUILD],
                env=env,
                timeout=120,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if not list(scratch.glob("fontlist-v*.json")):
                return []
            for extra in scratch.iterdir():  # only the font list is kept
                if not extra.name.startswith("fontlist-v"):
                    shutil.rmtree(extra, ignore_errors=True) if extra.is_dir() else extra.unlink()
            try:
                os.replace(scratch, folder)  # atomic: a parallel builder's copy wins or ours
            except OSError:
                pass
        except (OSError, subprocess.SubprocessError):
            return []
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return sorted(folder.glob("fontlist-v*.json")) if folder.is_dir() else []


def seed_home(home: Path, uid: int | None) -> None:
    """Copy the font list into `home/.config/matplotlib` (the launcher's MPLCONFIGDIR), owned
    by the kernel's user; nothing happens when there is none."""
    lists = font_lists()
    if not lists:
        return
    target = home / ".config" / "matplotlib"
    target.mkdir(parents=True, exist_ok=True)
    for path in lists:
        shutil.copyfile(path, target / path.name)
    if uid is not None:
        for p in (home / ".config", target, *(target / p.name for p in lists)):
            os.chown(p, uid, uid)
