"""Fixtures for testing the grader as users deploy it: a wheel in a fresh venv outside the repo.

The wheel is built once per test session from a copy of this checkout's package files (so no
build folder appears in the repo, and xdist workers share one build behind a file lock). A
fresh venv gets the wheel with pip, and only then a .pth line that makes the project venv's
site-packages visible for the dependencies (TensorFlow, Jupyter): fast, offline, and what runs
is the wheel's `grader`, never the checkout's (the editable finder there is not activated by a
path added through a .pth file).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT_PY = Path(sys.executable)


def run(
    cmd: list[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, and on failure show what it printed."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\n"
            f"stderr:\n{proc.stderr[-4000:]}"
        )
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of this checkout's course or cache settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CNN_GRADER_", "PYTEST_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(extra)
    return env


def _build_wheel(dest: Path) -> Path:
    src = dest / "src"
    shutil.copytree(
        REPO / "grader", src / "grader", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    run(
        [
            PROJECT_PY,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            dest / "dist",
            src,
        ]
    )
    (wheel,) = (dest / "dist").glob("cnn_grader-*.whl")
    return wheel


@pytest.fixture(scope="session")
def grader_wheel(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A wheel of this checkout, built once for all xdist workers of the session."""
    shared = (
        tmp_path_factory.getbasetemp()
        if worker_id == "master"
        else tmp_path_factory.getbasetemp().parent
    )
    dest = shared / "grader-wheel"
    dest.mkdir(exist_ok=True)
    with open(shared / "grader-wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = list((dest / "dist").glob("cnn_grader-*.whl")) if (dest / "dist").is_dir() else []
        return found[0] if found else _build_wheel(dest)


# What the `keras` extra brings: a base install (`training=False`) sees none of it.
TRAINING_PACKAGES = ("tensorflow", "keras", "tf_keras", "tensorboard", "_tensorflow")


def _base_site(folder: Path) -> Path:
    """The project's site-packages without the training extra's packages: a folder of links to
    everything else, as a base install of the wheel would have."""
    site = folder / "base-site-packages"
    site.mkdir(parents=True, exist_ok=True)
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if entry.name.lower().startswith(TRAINING_PACKAGES) or entry.suffix == ".pth":
            continue
        (site / entry.name).symlink_to(entry)
    return site


@pytest.fixture(scope="session")
def fresh_venv(grader_wheel: Path) -> Callable[..., Path]:
    """`fresh_venv(folder) -> python`: a venv in `folder` with the wheel installed;
    `fresh_venv(folder, training=False)`: without TensorFlow and Keras (the base install)."""

    def make(folder: Path, training: bool = True) -> Path:
        venv = Path(folder) / "venv"
        base = getattr(sys, "_base_executable", sys.executable)
        run([base, "-m", "venv", "--without-pip", venv])
        python = venv / "bin" / "python"
        run(
            [
                PROJECT_PY,
                "-m",
                "pip",
                "--python",
                python,
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                grader_wheel,
            ]
        )
        purelib = Path(
            run(
                [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
            ).stdout.strip()
        )
        # Only now: were the project's packages visible during the install, pip would see the
        # checkout's editable cnn-grader as already installed.
        deps = sysconfig.get_path("purelib") if training else str(_base_site(Path(folder)))
        (purelib / "zz_project_dependencies.pth").write_text(deps + "\n", encoding="utf-8")
        return python

    return make


@pytest.fixture(scope="session")
def course_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain bundle of the whole course (this checkout's solutions/ and exercises/)."""
    out = tmp_path_factory.mktemp("bundle") / "course.bundle"
    run([PROJECT_PY, "-m", "grader.cli", "bundle", "--out", out, "--course", REPO], env=clean_env())
    return out


@pytest.fixture(scope="session")
def encrypted_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An encrypted bundle of the whole course and its key."""
    from grader.bundle import new_key

    key = new_key()
    out = tmp_path_factory.mktemp("bundle") / "course.bundle"
    run(
        [PROJECT_PY, "-m", "grader.cli", "bundle", "--out", out, "--encrypt", "--course", REPO],
        env=clean_env(CNN_GRADER_BUNDLE_KEY=key),
    )
    return out, key


@pytest.fixture
def user_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty folder outside the repository, where a user runs the grader."""
    folder = tmp_path / "user"
    folder.mkdir()
    yield folder
