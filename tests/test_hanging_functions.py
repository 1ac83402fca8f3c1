"""A function that hangs when the grader calls it costs one timeout, not one per check.

The notebook's own cells run fine (the functions are only replaced at the end), so everything
hangs only when probed; the credit for what works is kept.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import nbformat

HANG = """
import time
def _hangs(name):
    def f(*args, **kwargs):
        while True:
            time.sleep(0.05)
    f.__name__ = name
    return f
conv2d = _hangs("conv2d")
sobel_edges = _hangs("sobel_edges")
"""


def test_each_hanging_function_is_waited_for_once(tmp_path: Path) -> None:
    nb = nbformat.read(helpers.solution_path("ex01_convolution"), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(HANG))
    path = tmp_path / "ex01_hangs.ipynb"
    nbformat.write(nb, path)
    result = helpers.grade_nb(path, "ex01_convolution", helpers.SEED)
    by_group: dict[str, list] = {}
    for c in result.checks:
        by_group.setdefault(c.group, []).append(c)
    assert all(c.status.value == "passed" for c in by_group["zero_pad"]), helpers.describe(result)
    assert result.score == sum(c.max_score for c in by_group["zero_pad"])
    for name in ("conv2d", "sobel_edges"):
        checks = by_group[name]
        assert all(c.status.value == "timeout" for c in checks)
        waited = [c for c in checks if "was not run" not in c.message]
        assert len(waited) == 1 and "did not finish within 10 s" in waited[0].message
        assert all(f"an earlier call of `{name}`" in c.message for c in checks if c not in waited)
