"""A full student release, built once per test process from the course in this repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.release import build


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "course"
    build(out)
    return out
