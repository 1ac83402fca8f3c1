"""A release starter opened alone, as Colab opens one: a bare Python kernel, nothing beside the
notebook. Its setup cell installs `cnn_selfcheck` from the release (here its wheel, by path);
the self-check cells then run; correct code passes them; grading ignores the setup cell.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import helpers
import nbformat
import pytest
from nbclient import NotebookClient

from grader.execution.notebook import SETUP_TAG, tags
from grader.exercises import get
from grader.options import Options
from grader.pipeline import grade_exercise
from grader.release import build
from grader.version import __version__

WHEEL = f"cnn_selfcheck-{__version__}-py3-none-any.whl"


def run(cmd: list[str | Path], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=clean_env(),
    )
    assert not check or proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """A student's environment: none of this checkout's settings, no venv of ours active."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CNN_GRADER_", "PYTEST_", "VIRTUAL_ENV", "PYTHON"))
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("published") / "course"
    build(out, ["ex01_convolution", "ex05_cnn"], selfcheck_url=str(out / "dist" / WHEEL))
    return out


def _bare_kernel(folder: Path) -> str:
    """A venv with pip and nothing else of its own (NumPy and ipykernel seen through a .pth
    line, as a bare Python with those two has them), registered as a Jupyter kernel."""
    venv = folder / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", venv])
    python = venv / "bin" / "python"
    purelib = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    )
    (purelib / "zz_numpy_ipykernel.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    probe = run([python, "-c", "import cnn_selfcheck"], check=False)
    assert probe.returncode != 0, "cnn_selfcheck must not be importable before the setup cell"
    spec = folder / "jupyter" / "kernels" / "bare"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "bare",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    return str(folder / "jupyter")


def test_the_release_is_an_installable_package(release: Path) -> None:
    names = zipfile.ZipFile(release / "dist" / WHEEL).namelist()
    assert "cnn_selfcheck/selfcheck/runtime.py" in names
    assert "cnn_selfcheck/cases/ex01_convolution.json" in names
    assert any(n.endswith(".dist-info/RECORD") for n in names)
    text = (release / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "cnn-selfcheck"' in text and '"numpy' in text
    readme = (release / "README.md").read_text(encoding="utf-8")
    for where in ("## Google Colab", "## JupyterLab", "VS Code", "## A terminal"):
        assert where in readme
    # the same release, built twice, gives the same wheel
    again = release.parent / "again"
    build(again, ["ex01_convolution", "ex05_cnn"], selfcheck_url=str(release / "dist" / WHEEL))
    assert (again / "dist" / WHEEL).read_bytes() == (release / "dist" / WHEEL).read_bytes()


def test_a_starter_opened_alone_installs_its_self_checks_and_runs_them(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupyter_path = _bare_kernel(tmp_path)
    alone = tmp_path / "colab"
    alone.mkdir()
    shutil.copy(release / "ex01_convolution.ipynb", alone / "ex01_convolution.ipynb")
    nb = nbformat.read(alone / "ex01_convolution.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert SETUP_TAG in tags(code[0])
    nb.cells.append(
        nbformat.v4.new_code_cell("def zero_pad(x, pad):\n    raise ValueError('not this way')\n")
    )
    nb.cells.append(nbformat.v4.new_code_cell("from cnn_selfcheck import check\ncheck(zero_pad)"))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            helpers.solution_definitions("ex01_convolution")
            + "\n\nfrom cnn_selfcheck import check\ncheck(zero_pad, conv2d, sobel_edges)"
        )
    )
    for key, value in clean_env(JUPYTER_PATH=jupyter_path).items():
        monkeypatch.setenv(key, value)
    NotebookClient(
        nb,
        kernel_name="bare",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(alone)}},
    ).execute()
    # The starter's own demo cells call the stubs: NotImplementedError, nothing else.
    errors = {
        o.get("ename")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    }
    assert errors <= {"NotImplementedError"}, errors
    texts = [
        "".join(o.get("text", "") for o in c.get("outputs", []))
        for c in nb.cells
        if c.cell_type == "code"
    ]
    assert texts[0].startswith("setup: installed cnn_selfcheck from "), texts[0]
    raised = texts[-2]
    number = len(texts) - 2  # the raising cell's number after Restart Kernel and Run All
    assert "raised ValueError: not this way" in raised
    assert f"cell {number}, line 2, in zero_pad" in raised, raised
    stubs = "\n".join(texts[1:-3])
    assert "not attempted yet" in stubs and "✘" not in stubs
    last = texts[-1]
    assert "✔" in last and "✘" not in last and "not attempted" not in last, last


def test_grading_blanks_the_setup_cell(release: Path, tmp_path: Path) -> None:
    """The same score with and without the setup cell, and the grader never runs pip."""
    nb = nbformat.read(release / "ex01_convolution.ipynb", as_version=4)
    setup = next(c for c in nb.cells if SETUP_TAG in tags(c))
    setup.source = "raise SystemExit('the grader ran the setup cell')"
    nb.cells.append(nbformat.v4.new_code_cell(helpers.solution_definitions("ex01_convolution")))
    with_setup = helpers.write_notebook(tmp_path, "ex01_convolution.ipynb", nb)
    nb.cells.remove(setup)
    (tmp_path / "b").mkdir()
    without = helpers.write_notebook(tmp_path / "b", "ex01_convolution.ipynb", nb)
    ex = get("ex01_convolution")
    a = grade_exercise(with_setup, ex, Options(seed=5))
    b = grade_exercise(without, ex, Options(seed=5))
    assert a.score == b.score == ex.max_score, helpers.describe(a)
