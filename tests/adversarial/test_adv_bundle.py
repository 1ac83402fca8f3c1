"""A course given as a bundle stays out of the student's kernel: neither the unpacked copy nor
the bundle file can be read where the sandbox isolates the kernel."""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest

from grader import Options, bundle, course, grade
from grader.execution import sandbox

REPO = Path(__file__).resolve().parents[2]

FROM_FOLDER = """
import json
nb = json.load(open(%r))
for cell in nb["cells"]:
    if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
        exec("".join(cell["source"]))
"""
FROM_BUNDLE = """
import json, zipfile
nb = json.loads(zipfile.ZipFile(%r).read("solutions/ex02_pooling.ipynb"))
for cell in nb["cells"]:
    if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
        exec("".join(cell["source"]))
"""


@pytest.mark.parametrize("how", ["unpacked_copy", "bundle_file"])
def test_the_kernel_cannot_read_the_course_of_a_bundle(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    secret = tmp_path / "instructor"
    secret.mkdir()
    made = bundle.build(REPO, secret / "course.bundle", exercises=["ex02_pooling"])
    monkeypatch.setenv("CNN_GRADER_COURSE", str(made))
    unpacked = course.current().solutions_dir / "ex02_pooling.ipynb"
    code = (FROM_FOLDER % str(unpacked)) if how == "unpacked_copy" else (FROM_BUNDLE % str(made))
    path = helpers.write_notebook(
        tmp_path / "sub", "ex02.ipynb", ["import numpy as np", code], "ex02_pooling"
    )
    result = grade(path, Options(seed=helpers.SEED))
    if sandbox.capabilities().mount_ns:
        assert result.score == 0, helpers.describe(result)
        assert result.execution.problems[0].ename in ("FileNotFoundError", "PermissionError")
    else:  # no isolation on this machine: documented; the copy works
        assert result.score == result.max_score
