"""`cnn-grader gradescope-zip`: Gradescope's autograder zip for one exercise.

    setup.sh, run_autograder        the scripts (`gradescope_scripts`)
    cnn-grader.env                  EXERCISE WHEEL EXTRAS BUNDLE DATASETS CALIBRATE NOTEBOOK_TIMEOUT
    constraints.txt                 the versions to install (pip -c): this environment's
    dist/cnn_grader-<v>-….whl       this package: built from the source checkout, or --wheel
    course.bundle                   the private grading bundle (`cnn-grader bundle`): built
                                    from a course folder for this exercise only, or as given

No solutions/ folder and no grader source: setup.sh installs the wheel (no build step on
Gradescope) and makes the bundle readable by root only, where the student's kernel, which runs
as a user of its own, cannot open it.

Gradescope's defaults are 10 minutes per submission (up to 40), 0.5 CPU and 768 MB
(https://gradescope-autograders.readthedocs.io/en/latest/troubleshooting/). The notebook gets
the autograder timeout the zip is built for, less what grading needs after it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from grader.deploy.gradescope_scripts import ENV_FILE, RUN_AUTOGRADER, SETUP_SH
from grader.errors import ConfigurationError

BUNDLE_NAME = "course.bundle"
DEFAULT_AUTOGRADER_MINUTES = 10.0  # Gradescope's default; the settings page goes up to 40
MAX_AUTOGRADER_MINUTES = 40.0
GRADING_RESERVE_S = 120  # after the notebook: kernel restarts, grading calls, Keras evaluation
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry timestamps
_SOURCE_FILES = ("pyproject.toml", "README.md", "setup.cfg", "setup.py", "MANIFEST.in")


def notebook_timeout(autograder_minutes: float) -> int:
    """Seconds the notebook may run inside Gradescope's timeout: what is left after grading's
    reserve (2 minutes, or a fifth of a longer timeout), so a notebook that runs too long is
    reported as a timeout with its partial credit instead of Gradescope's bare kill."""
    if not 1 <= autograder_minutes <= MAX_AUTOGRADER_MINUTES:
        raise ConfigurationError(
            f"--autograder-timeout {autograder_minutes:g}: Gradescope allows "
            f"1 to {MAX_AUTOGRADER_MINUTES:g} minutes"
        )
    total = autograder_minutes * 60
    return int(max(60.0, total - max(GRADING_RESERVE_S, 0.2 * total)))


def build_autograder_zip(
    exercise: str,
    out: Path,
    *,
    course: str | Path | None = None,
    wheel: Path | None = None,
    source_root: Path | None = None,
    autograder_minutes: float = DEFAULT_AUTOGRADER_MINUTES,
    term: Path | None = None,
) -> Path:
    """Write Gradescope's autograder zip for one exercise; returns its path.

    `course` is a bundle file or a course folder (default: `CNN_GRADER_COURSE`, else the
    course the grader was installed from); `wheel` a wheel of this package (default: one built
    now from `source_root`, the checkout this package runs from); `term` the course's term
    file, whose late policy applies to Gradescope's own dates (grader.deploy.gradescope_dates).
    """
    from grader.bundle import constraints_text
    from grader.exercises import get
    from grader.keras_support.checks import find_accuracy_specs

    ex = get(exercise)  # an unknown id is a usage error, raised before anything is written
    if term is not None:
        from grader.batch.term import load

        load(Path(term))  # a bad term file is a usage error, said before anything is built
    timeout = notebook_timeout(autograder_minutes)
    bundle_bytes, manifest = _bundle_for(exercise, course)
    with tempfile.TemporaryDirectory(prefix="cnn-grader-zip-") as tmp:
        whl = Path(wheel) if wheel else build_wheel(_source_root(source_root), Path(tmp))
        _check_wheel(whl, manifest)
        env = {
            "EXERCISE": exercise,
            "WHEEL": f"dist/{whl.name}",
            "EXTRAS": "keras" if ex.needs_tensorflow else "",
            "BUNDLE": BUNDLE_NAME,
            "DATASETS": " ".join(ex.datasets),
            "CALIBRATE": "1" if find_accuracy_specs(ex) else "0",
            "NOTEBOOK_TIMEOUT": str(timeout),
        }
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            _add(zf, "setup.sh", SETUP_SH.encode(), mode=0o755)
            _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), mode=0o755)
            _add(zf, ENV_FILE, _env_text(env).encode())
            _add(zf, "constraints.txt", constraints_text().encode())
            _add(zf, env["WHEEL"], whl.read_bytes())
            _add(zf, BUNDLE_NAME, bundle_bytes, mode=0o600)
            if term is not None:
                _add(zf, "term.toml", Path(term).read_bytes())
        partial.replace(out)
    return out


def _env_text(values: dict[str, str]) -> str:
    lines = ["# Read by setup.sh and run_autograder; written by `cnn-grader gradescope-zip`."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _bundle_for(exercise: str, course: str | Path | None) -> tuple[bytes, dict[str, Any]]:
    """The bundle's bytes and manifest: a bundle file as given, else one built from the course
    folder with this exercise only (the less the image holds, the less can leak)."""
    from grader import bundle as bundles
    from grader.course import COURSE_ENV, resolve

    named = course if course is not None else (os.environ.get(COURSE_ENV) or None)
    path = Path(named).expanduser() if named is not None else None
    if path is None or not path.is_file():
        found = resolve(path)
        if found.kind == "release":
            raise ConfigurationError(
                f"{found.describe()} cannot grade (it has no reference "
                "solutions): give the grading bundle or the course folder"
            )
        if found.kind == "course":
            with tempfile.TemporaryDirectory(prefix="cnn-grader-bundle-") as tmp:
                built = bundles.build(found.root, Path(tmp) / BUNDLE_NAME, exercises=[exercise])
                return built.read_bytes(), bundles.open_bundle(built).manifest
        path = found.source
    data = path.read_bytes()
    if data.startswith(bundles.MAGIC):
        raise ConfigurationError(
            f"{path} is encrypted, and Gradescope has nowhere to keep its key apart from the "
            "zip: give a plain bundle (`cnn-grader bundle --out FILE`) or the course folder"
        )
    manifest = bundles.open_bundle(path).manifest  # verified: hashes, format, grader version
    if exercise not in manifest.get("exercises", []):
        raise ConfigurationError(
            f"the bundle {path} has no {exercise} (it holds "
            f"{', '.join(manifest.get('exercises', [])) or 'nothing'})"
        )
    return data, manifest


def _source_root(given: Path | None) -> Path:
    src = Path(given) if given else Path(__file__).resolve().parents[2]
    if not (src / "pyproject.toml").is_file() or not (src / "grader").is_dir():
        raise ConfigurationError(
            f"{src} is not a source checkout of the grader (no "
            "pyproject.toml and grader/): give a wheel with --wheel FILE"
        )
    return src


def build_wheel(source_root: Path, dest: Path) -> Path:
    """A wheel of the grader, built offline from a copy of the checkout (so that concurrent
    builds never share the checkout's build/ folder) with this environment's setuptools."""
    copy = dest / "src"
    copy.mkdir(parents=True)
    for name in _SOURCE_FILES:
        if (source_root / name).is_file():
            shutil.copy2(source_root / name, copy / name)
    shutil.copytree(
        source_root / "grader",
        copy / "grader",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    wheels = dest / "wheels"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(copy),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    found = sorted(wheels.glob("cnn_grader-*.whl")) if wheels.is_dir() else []
    if proc.returncode or len(found) != 1:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ConfigurationError(
            f"could not build a wheel of {source_root} (pip wheel "
            f"--no-build-isolation needs setuptools here): {tail}"
        )
    return found[0]


def _check_wheel(whl: Path, manifest: dict[str, Any]) -> None:
    """A cnn-grader wheel of the version the bundle was made for (same major.minor), so that
    a mismatch fails here rather than on Gradescope's build machine."""
    parts = whl.name.split("-")
    if not whl.is_file() or whl.suffix != ".whl" or len(parts) < 5 or parts[0] != "cnn_grader":
        raise ConfigurationError(f"{whl} is not a wheel of cnn-grader (cnn_grader-VERSION-…whl)")
    made_for = str(manifest.get("grader_version", ""))
    if parts[1].split(".")[:2] != made_for.split(".")[:2]:
        raise ConfigurationError(
            f"the wheel {whl.name} is cnn-grader {parts[1]}, but the bundle "
            f"was made with {made_for}: make both with the same version"
        )


def _add(zf: zipfile.ZipFile, name: str, data: bytes, *, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
