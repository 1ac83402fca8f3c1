"""Read a submitted notebook the way Jupyter would, or say plainly why it cannot be read."""

from __future__ import annotations

import json
import stat
import warnings
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader import nbformat_typed
from grader.errors import InvalidNotebook

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
# The starters' cells that run the release's public examples (grader.generate): never graded.
SELF_CHECK_TAG = "self-check"
# The release's first code cell, which installs its self-checks when a notebook is opened alone
# (grader.release_package): blanked by grading, as self-check cells are.
SETUP_TAG = "setup"
# The cell the grader inserts with a profile's training budget (grader.keras_support.budget).
INJECTED_TAG = "injected-parameters"


def read(path: Path) -> tuple[NotebookNode, list[str]]:
    """The notebook upgraded to nbformat 4, with its outputs cleared, plus notes for the report."""
    notes: list[str] = []
    try:
        st = path.stat()
    except OSError as exc:
        raise InvalidNotebook(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):  # a folder, or a FIFO that would block the reader
        raise InvalidNotebook(f"{path.name} is not a file")
    size = st.st_size
    if size == 0:
        raise InvalidNotebook(f"{path.name} is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(
            f"{path.name} is {size / 2**20:.0f} MiB; the limit is "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MiB (clear the outputs and save again)"
        )
    try:  # a byte-order mark (some Windows editors write one) is not the student's fault
        raw: Any = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise InvalidNotebook(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidNotebook(f"{path.name} is not a text file (not UTF-8)") from None
    except RecursionError:
        raise InvalidNotebook(f"{path.name} is JSON nested too deeply to be a notebook") from None
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "was it saved from Jupyter?"
        ) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise InvalidNotebook(f"{path.name} is JSON but not a Jupyter notebook (no 'nbformat')")
    major = raw.get("nbformat")
    try:
        with warnings.catch_warnings():  # missing or repeated cell ids: nbformat mends them
            warnings.simplefilter("ignore")
            nb = nbformat_typed.reads(json.dumps(raw))
    except RecursionError:
        raise InvalidNotebook(f"{path.name} is JSON nested too deeply to be a notebook") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on bad input
        raise InvalidNotebook(f"{path.name} could not be read as a notebook: {exc}") from None
    if major != 4:
        notes.append(f"the notebook was saved in nbformat {major}; it was upgraded to nbformat 4")
    if not isinstance(nb.get("cells"), list):
        raise InvalidNotebook(f"{path.name} has no list of cells")
    for i, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidNotebook(f"cell {i + 1} of {path.name} is not a valid cell")
        if not isinstance(cell.get("source", ""), str):
            raise InvalidNotebook(f"cell {i + 1} of {path.name} has no text source")
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except (nbformat.ValidationError, RecursionError) as exc:
        why = getattr(exc, "message", None) or "nested too deeply to check"
        notes.append(
            f"the notebook does not fully follow the nbformat schema ({why}); it was run anyway"
        )
    return nb, notes


def exercise_from_metadata(nb: NotebookNode) -> str | None:
    meta = nb.metadata.get("cnn_grader")
    if isinstance(meta, dict) and isinstance(meta.get("exercise"), str):
        return str(meta["exercise"])
    return None


def blank_tagged(nb: NotebookNode, tag: str) -> int:
    """Empty the source of the code cells tagged `tag` (in place), keeping the cells so that
    cell numbers in the report still match the student's notebook; returns how many."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and tag in tags(cell):
            cell.source = ""
            count += 1
    return count


def tags(cell: Any) -> list[str]:
    """A cell's tags; the metadata is untrusted, any JSON the schema check let through."""
    meta = cell.get("metadata")
    found = meta.get("tags") if isinstance(meta, dict) else None
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []
