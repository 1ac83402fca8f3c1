"""`from cnn_selfcheck.datasets import install; install("fashion_mnist")`: the course's datasets
where Keras' loaders look, from a copy on the machine, for a student who is offline.

`keras.datasets.fashion_mnist.load_data()` looks in `$KERAS_HOME/datasets/` (`~/.keras` when
KERAS_HOME is not set) and downloads on a miss, which fails offline ("URL fetch failure") even
when the machine has the files elsewhere: Debian's `dataset-fashion-mnist` package puts them in
/usr/share/datasets/fashion-mnist, and an instructor may hand out a folder. `install` copies them
into Keras' layout after checking each file's sha256 the way the grader does (the uncompressed
bytes of a .gz file, since Debian compresses them again; the file itself for an archive), so a
notebook then loads them offline exactly as it would online.

The files, hashes and system folders come from the grader (`datasets.json`, written by the
release). Shipped in the student release as `cnn_selfcheck/selfcheck/datasets.py`: the standard
library only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

# In the release: cnn_selfcheck/selfcheck/datasets.py → cnn_selfcheck/datasets.json
SPEC = Path(__file__).resolve().parents[1] / "datasets.json"


def keras_home() -> Path:
    """Where Keras 3 keeps its cache: $KERAS_HOME, else ~/.keras."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def digest(path: Path, *, gunzip: bool) -> str:
    h = hashlib.sha256()
    opener: Any = gzip.open if gunzip else open
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _good(path: Path, file: dict[str, Any]) -> bool:
    try:
        return path.is_file() and digest(path, gunzip=bool(file["gunzip"])) == file["sha256"]
    except (OSError, EOFError, gzip.BadGzipFile):
        return False


def _candidates(folder: Path, file: dict[str, Any]) -> list[Path]:
    """A folder may be flat, a Keras `datasets/` folder, or a Keras home."""
    relpath = str(file["relpath"])
    name, inner = relpath.rsplit("/", 1)[-1], relpath.split("/", 1)[1]
    out = [folder / name, folder / inner, folder / relpath]
    return out + [p for a in file.get("aliases", []) for p in (folder / a, folder / "datasets" / a)]


def install(
    *names: str,
    source: str | Path | None = None,
    home: str | Path | None = None,
    spec: Path | None = None,
    out: TextIO | None = None,
) -> bool:
    """Put each dataset (default: all the course uses) into Keras' cache, from `source` (a
    folder) or the system's copy, each file checked; print what was done. True when every
    dataset asked for is in place."""
    stream = out if out is not None else sys.stdout
    known = {d["id"]: d for d in json.loads((spec or SPEC).read_text(encoding="utf-8"))}
    target = Path(home).expanduser() if home is not None else keras_home()
    ok = True
    for name in names or tuple(known):
        if name not in known:
            stream.write(f"{name}: unknown dataset (known: {', '.join(known)})\n")
            ok = False
            continue
        ok = _install(known[name], target, source, stream) and ok
    return ok


def _install(
    dataset: dict[str, Any], home: Path, source: str | Path | None, stream: TextIO
) -> bool:
    folders = ([Path(source).expanduser()] if source is not None else []) + [
        Path(d) for d in dataset.get("system_dirs", [])
    ]
    copied, bad = 0, []
    for file in dataset["files"]:
        dest = home / file["relpath"]
        if _good(dest, file):
            continue
        found = None
        for folder in folders:
            for path in _candidates(folder, file):
                if path.is_file():
                    if _good(path, file):
                        found = path
                        break
                    bad.append(str(path))
            if found is not None:
                break
        if found is None:
            where = ", ".join(str(f) for f in folders) or "no folder (give source=...)"
            why = f"; these do not have the official content: {', '.join(bad)}" if bad else ""
            stream.write(
                f"{dataset['title']}: {file['relpath'].rsplit('/', 1)[-1]} is not in "
                f"{where}{why}. Online, Keras downloads it itself; offline, ask for "
                "the files and run install(..., source=FOLDER)\n"
            )
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(found, partial)
        os.replace(partial, dest)
        copied += 1
    stream.write(
        f"{dataset['title']}: ready in {home / 'datasets'} ({copied} file"
        f"{'s' if copied != 1 else ''} copied, every file checked); "
        f"{dataset['loader']} now works offline\n"
    )
    return True
