"""The nbformat calls the grader makes, with their types.

nbformat's functions carry no annotations, so `mypy --strict` sees every call of them as
untyped and every result as Any. Here each is declared once with what it takes and returns
(a `NotebookNode`, always nbformat 4), and the grader calls these instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

# nbformat's own functions, as the types they have (their results are NotebookNodes or text)
_reads: Callable[..., NotebookNode] = nbformat.reads
_read: Callable[..., NotebookNode] = nbformat.read
_writes: Callable[..., str] = nbformat.writes
_from_dict: Callable[[Any], NotebookNode] = nbformat.from_dict
_new_code_cell: Callable[..., NotebookNode] = nbformat.v4.new_code_cell
_new_notebook: Callable[..., NotebookNode] = nbformat.v4.new_notebook
_new_output: Callable[..., NotebookNode] = nbformat.v4.new_output


def reads(text: str) -> NotebookNode:
    """A notebook from its JSON text, upgraded to nbformat 4."""
    return _reads(text, as_version=4)


def read(path: str | Path) -> NotebookNode:
    """A notebook from its file, upgraded to nbformat 4."""
    return _read(path, as_version=4)


def writes(nb: NotebookNode) -> str:
    """A notebook's JSON text, in its own nbformat version."""
    return _writes(nb)


def from_dict(data: Mapping[str, Any]) -> NotebookNode:
    """A notebook (or part of one) from plain JSON data, with attribute access."""
    return _from_dict(data)


def new_code_cell(source: str = "") -> NotebookNode:
    return _new_code_cell(source)


def new_notebook(*, cells: list[NotebookNode]) -> NotebookNode:
    return _new_notebook(cells=cells)


def new_output(output_type: str, **fields: Any) -> NotebookNode:
    """One output of a code cell ("stream" with `name` and `text`, ...)."""
    return _new_output(output_type, **fields)
