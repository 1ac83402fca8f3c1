"""The student release's self-checks as an installable package, and the cell that installs them.

A notebook opened alone (Colab opens one from GitHub with nothing beside it) cannot import the
release's `cnn_selfcheck/` folder. So a release is also a Python project:

    DIR/pyproject.toml                      `pip install DIR`, or a git URL with #subdirectory=
    DIR/dist/cnn_selfcheck-V-py3-none-any.whl   the same package, built here: installs offline,
                                            with no build backend (a wheel is a zip file)

and, with `cnn-grader release --selfcheck-url SPEC`, each starter's first code cell, tagged
`setup`, imports `cnn_selfcheck` and, only when that fails, installs it from SPEC (a pip
requirement: a path, a wheel URL, `git+https://…#subdirectory=…`) and says so in one line.
Grading blanks `setup` cells as it blanks `self-check` cells.

The package needs NumPy and the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from grader import nbformat_typed
from grader.execution.notebook import SETUP_TAG

DIST_NAME = "cnn_selfcheck"
PROJECT_NAME = "cnn-selfcheck"
SUMMARY = "Public self-checks of the course on convolutional neural networks"

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "{summary}"
requires-python = ">=3.9"
dependencies = ["numpy>=1.22"]

[tool.setuptools]
packages = ["cnn_selfcheck", "cnn_selfcheck.checks", "cnn_selfcheck.selfcheck"]

[tool.setuptools.package-data]
cnn_selfcheck = ["cases/*.json", "datasets.json"]
"""

SETUP_CELL = """# Setup: the course's self-checks. Next to the release's cnn_selfcheck/ folder, or once
# installed, this does nothing; opened alone (Colab), it installs them. Grading skips this cell.
try:
    import cnn_selfcheck
except ImportError:
    import importlib, subprocess, sys
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", {spec!r}], check=True)
    importlib.invalidate_caches()
    import cnn_selfcheck
    print("setup: installed cnn_selfcheck from " + {spec!r})
"""


def pyproject(version: str) -> str:
    return PYPROJECT.format(name=PROJECT_NAME, version=version, summary=SUMMARY)


def wheel(package_dir: Path, version: str) -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel of the folder `package_dir` (cnn_selfcheck/).

    Written in a fixed order with fixed times, so the same release gives the same bytes."""
    files = sorted(
        p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    info = f"{DIST_NAME}-{version}.dist-info"
    entries = [
        (f"{DIST_NAME}/{p.relative_to(package_dir).as_posix()}", p.read_bytes()) for p in files
    ]
    entries.append(
        (
            f"{info}/METADATA",
            (
                f"Metadata-Version: 2.1\nName: {PROJECT_NAME}\nVersion: {version}\n"
                f"Summary: {SUMMARY}\nRequires-Python: >=3.9\nRequires-Dist: numpy>=1.22\n"
            ).encode(),
        )
    )
    entries.append(
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: cnn-grader\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in entries]
    entries.append((f"{info}/RECORD", ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(item, data)
    return f"{DIST_NAME}-{version}-py3-none-any.whl", buffer.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def with_setup_cell(notebook_text: str, spec: str) -> str:
    """The starter with the setup cell first among its code cells (after the title)."""
    nb = nbformat_typed.reads(notebook_text)
    cell = nbformat_typed.new_code_cell(SETUP_CELL.format(spec=spec).rstrip("\n"))
    cell.metadata["tags"] = [SETUP_TAG]
    cell.pop("id", None)
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    if any("id" in c for c in nb.cells):
        cell["id"] = "cnn-selfcheck-setup"
    return nbformat_typed.writes(nb) + "\n"
