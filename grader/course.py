"""Where the course material lives: the solution and exercise notebooks.

The default is the repository this package was installed from (an editable install, or the
source tree); `CNN_GRADER_COURSE_DIR` points elsewhere, e.g. inside a Gradescope image.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.errors import ConfigurationError


def course_dir() -> Path:
    env = os.environ.get("CNN_GRADER_COURSE_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[1]
    if not (root / "solutions").is_dir():
        raise ConfigurationError(
            f"no solutions/ folder under {root}; set CNN_GRADER_COURSE_DIR to the course folder")
    return root


def solutions_dir() -> Path:
    return course_dir() / "solutions"


def exercises_dir() -> Path:
    return course_dir() / "exercises"
