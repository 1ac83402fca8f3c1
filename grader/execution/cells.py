"""One cell numbering everywhere: the number a student sees in Jupyter.

After "Restart Kernel and Run All", Jupyter labels the code cells [1], [2], … in order; empty
cells get no number. That is the number the terminal, the HTML report, the JSON (`cell`) and
tracebacks use. Cells the grader adds (the `injected-parameters` budget cell) are not the
student's and have none; the starters' `self-check` cells are blanked for grading but the
student sees and runs them, so they keep theirs.

Tracebacks name cells in two ways, both rewritten to "cell N, line M":

- IPython's `Cell In[14], line 5`, where 14 is the kernel's execution count at the time;
- a frame file such as `/tmp/cnn-grader-…/home/ipykernel_3011/861314392.py`, line 5 (a
  function defined in a cell, called later, e.g. by the probe): ipykernel names that file by
  a MurmurHash2 of the cell's source with a fixed seed, so hashing each cell finds it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from grader.execution.notebook import INJECTED_TAG, SELF_CHECK_TAG, SETUP_TAG, tags

_IPYKERNEL_SEED = 0xC70F6907  # ipykernel.compiler.get_tmp_hash_seed()

_CELL_IN = re.compile(r"Cell In\[(\d+)\], line (\d+)")
_FRAME_FILE = re.compile(
    r'(?:File )?"?(?:[^\s"]*/)?ipykernel_\d+/(\d+)\.py"?(?::(\d+)|, line (\d+))'
)


def student_numbers(nb: Any) -> dict[int, int]:
    """Index in `nb.cells` → the cell's number as the student sees it in Jupyter."""
    out: dict[int, int] = {}
    n = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell_tags = tags(cell)
        if INJECTED_TAG in cell_tags:
            continue
        if cell.source.strip() or SELF_CHECK_TAG in cell_tags or SETUP_TAG in cell_tags:
            n += 1
            out[i] = n
    return out


def murmur2(data: str, seed: int = _IPYKERNEL_SEED) -> int:
    """MurmurHash2 (x86, 32-bit) of UTF-8 text, as ipykernel names cell files."""
    key = bytearray(data.encode("utf-8"))
    length = len(key)
    m, r = 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    i = 0
    while length - i >= 4:
        k = key[i] | key[i + 1] << 8 | key[i + 2] << 16 | key[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
        i += 4
    rest = length - i
    if rest == 3:
        h ^= key[i + 2] << 16
    if rest >= 2:
        h ^= key[i + 1] << 8
    if rest >= 1:
        h ^= key[i]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def student_frames(text: str, nb: Any, counts: Mapping[int, int] | None = None) -> str:
    """`text` with every cell reference as "cell N, line M" (N as in `student_numbers`).

    `counts` maps the kernel's execution counts to cell indexes (for `Cell In[k]`); without
    it those references are left as they are. Grader cells have no number and keep theirs.
    """
    if not text or ("Cell In[" not in text and "ipykernel_" not in text):
        return text
    numbers = student_numbers(nb)
    by_hash = {
        murmur2(c.source): i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.source.strip()
    }

    def cell_in(m: re.Match[str]) -> str:
        idx = (counts or {}).get(int(m.group(1)))
        return m.group(0) if idx not in numbers else f"cell {numbers[idx]}, line {m.group(2)}"

    def frame(m: re.Match[str]) -> str:
        idx = by_hash.get(int(m.group(1)))
        line = m.group(2) or m.group(3)
        return m.group(0) if idx not in numbers else f"cell {numbers[idx]}, line {line}"

    return _FRAME_FILE.sub(frame, _CELL_IN.sub(cell_in, text))
