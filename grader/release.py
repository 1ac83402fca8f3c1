"""`cnn-grader release --out DIR`: what students receive, and `check` with nothing else.

    DIR/release.json                 manifest: format, versions, exercises, sha256 of each file
    DIR/README.md                    for students: Colab, Jupyter, VS Code, a terminal
    DIR/pyproject.toml, DIR/dist/    `cnn_selfcheck` as an installable package and its wheel
                                     (grader.release_package)
    DIR/<exercise>.ipynb             the starters, as `cnn-grader generate` makes them
    DIR/cnn_selfcheck/               `from cnn_selfcheck import check; check(conv2d)`
        checks/, selfcheck/          grader/checks/{outcomes,expect,diagnosis}.py and
                                     grader/selfcheck/{codec,runtime}.py, copied byte for byte
                                     (NumPy only)
        cases/<exercise>.json        the public examples: inputs, the reference's answers and
                                     the catalogued mistakes' answers (to name them)

A student's copy of the comparisons is the grader's own file, so a self-check fails with the
words of the report. No solution code goes in: the reference only answers the public inputs,
which are drawn on streams no grading seed reaches (`grader.checks.calls.PUBLIC_SALT`), and the
build refuses to finish if a line of a solution block turns up in any file it wrote
(grader.release_leaks). `check` against a release alone is grader.release_check.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.checks.core import Exercise
from grader.checks.reference import load_reference
from grader.course import RELEASE_FORMAT as FORMAT  # how grader.course recognises a release
from grader.course import RELEASE_MANIFEST as MANIFEST
from grader.errors import ConfigurationError
from grader.release_leaks import refuse_solution_lines
from grader.selfcheck.cases import public_cases
from grader.selfcheck.public import candidates
from grader.version import __version__

FORMAT_VERSION = 1
PACKAGE = "cnn_selfcheck"
GRADER_ROOT = Path(__file__).resolve().parent
SHIPPED = (
    "checks/__init__.py",
    "checks/outcomes.py",
    "checks/expect.py",
    "checks/diagnosis.py",
    "selfcheck/__init__.py",
    "selfcheck/codec.py",
    "selfcheck/runtime.py",
    "selfcheck/datasets.py",
    "selfcheck/models.py",
    "selfcheck/judges.py",
    "selfcheck/description.py",
    "selfcheck/comparison.py",
)
DATASETS_SHIM = '''"""`install("fashion_mnist")`: the course's datasets where Keras looks, offline."""

from .selfcheck.datasets import install

__all__ = ["install"]
'''
PACKAGE_INIT = '''"""Public self-checks of the course: `check(conv2d)` after writing conv2d."""

from .selfcheck.runtime import HIDDEN_NOTE, check

__all__ = ["HIDDEN_NOTE", "check"]
'''
README = """# {title}

This folder is your copy of the course's exercises: one notebook per exercise, and the
`cnn_selfcheck/` package its self-check cells need. Write your code where a notebook says
`# YOUR CODE HERE`. Under each function there is a cell such as

    from cnn_selfcheck import check
    check(conv2d)

Run it after your function's cell: it calls your function, as it is defined now, on a few public
examples and shows ✔ or ✘ with what was expected, what you returned and a hint. `check()` alone
checks every function of the notebook that has public examples. It needs only NumPy. In the
Keras exercises, `check(build_cnn)` builds your model and judges what the exercise states about
it (input, layers, parameters, compile settings, or the properties it asks for) with the
grade's own words; accuracy needs training and the hidden test images, so only the grade
measures it.

## Google Colab

Open the notebook (File → Open notebook → GitHub, or the link your course gives).{colab}

## JupyterLab, classic Jupyter, VS Code

Open the notebooks from this folder: `cnn_selfcheck/` beside them is found as it is. Elsewhere,
install it once into the Python your notebooks use: `pip install {wheel}` (or
`pip install DIR`, DIR being this folder). In VS Code pick that Python as the notebook's kernel.

## Datasets offline

The Keras exercises load their data with Keras' loaders, which download on first use. Offline,
with the files on the machine (Debian's `dataset-fashion-mnist` package, or a folder your course
gives you), run once: `from cnn_selfcheck.datasets import install; install("fashion_mnist")`
(`install("mnist", source="FOLDER")` for a folder): it checks every file and copies it where
Keras looks (`$KERAS_HOME/datasets`, `~/.keras` by default).

## A terminal

With the grader installed, `cnn-grader check NOTEBOOK --course DIR` (DIR: this folder) runs your
whole notebook in a fresh kernel and then the same public examples; `--out REPORTS` also writes
them as JSON and HTML.

These are public examples only: your final grade also uses hidden inputs, so make your
functions right in general, not just on these examples.

Exercises: {exercises}
"""
COLAB_AUTO = """ Run its first code cell
(tagged `setup`): it installs the self-checks with pip, once per session, and says so."""
COLAB_HAND = """ Colab opens a notebook alone,
without this folder: first run a cell with `!pip install {wheel}` (the wheel's address where
your course publishes this folder), then the self-check cells work."""


def build(
    out: Path,
    exercise_ids: Sequence[str] = (),
    *,
    selfcheck_url: str | None = None,
    allow_reveal: Sequence[str] = (),
) -> list[Path]:
    """Write the release of `exercise_ids` (default: every exercise) into `out`; its files.
    `selfcheck_url`: the pip requirement each starter's setup cell installs `cnn_selfcheck` from
    when it cannot import it (grader.release_package); without it, no setup cell.
    `allow_reveal`: exercises whose solution code may appear in the release (see
    `grader.release_leaks.refuse_solution_lines`); any other leak stops the build.

    It is written beside `out` and moved there only when complete and checked, so a failed
    build leaves nothing a teacher could hand out by mistake."""
    from grader.course import current
    from grader.exercises import available, get

    course = current()
    if course.kind == "release":
        raise ConfigurationError(
            f"the course is {course.describe()}: a release is made from the course folder or a "
            "grading bundle (it needs the reference solutions), never from another release"
        )
    solutions = course.solutions_dir
    ids = list(dict.fromkeys(exercise_ids)) or [
        i for i in available() if (solutions / f"{i}.ipynb").is_file()
    ]
    exercises = [get(i) for i in ids]  # UnknownExercise lists the known ids
    out = Path(out).resolve()
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        _write_release(tmp, exercises, course.exercises_dir, selfcheck_url, allow_reveal)
        if out.exists():
            shutil.rmtree(out)  # an earlier release (_check_target), or an empty folder
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(p for p in out.rglob("*") if p.is_file())


def _write_release(
    out: Path,
    exercises: list[Exercise],
    starters: Path,
    selfcheck_url: str | None = None,
    allow_reveal: Sequence[str] = (),
) -> None:
    from grader import release_package

    for ex in exercises:
        text = _starter(ex, starters)
        if selfcheck_url:
            text = release_package.with_setup_cell(text, selfcheck_url)
        _write(out / f"{ex.id}.ipynb", text)
        reference = (
            load_reference(ex.solution_path)
            if candidates(ex) or ex.public_models or ex.public_compile
            else None
        )
        _write(
            out / PACKAGE / "cases" / f"{ex.id}.json",
            json.dumps(public_cases(ex, reference), ensure_ascii=False) + "\n",
        )
    for name in SHIPPED:
        _write(out / PACKAGE / name, (GRADER_ROOT / name).read_bytes())
    _write(out / PACKAGE / "__init__.py", PACKAGE_INIT)
    _write(out / PACKAGE / "datasets.py", DATASETS_SHIM)
    _write(out / PACKAGE / "datasets.json", json.dumps(_dataset_spec(), indent=1) + "\n")
    wheel_name, wheel_bytes = release_package.wheel(out / PACKAGE, __version__)
    _write(out / "dist" / wheel_name, wheel_bytes)
    _write(out / "pyproject.toml", release_package.pyproject(__version__))
    ids = [ex.id for ex in exercises]
    colab = (COLAB_AUTO if selfcheck_url else COLAB_HAND).format(wheel=f"dist/{wheel_name}")
    _write(
        out / "README.md",
        README.format(
            title="Convolutional neural networks: exercises",
            exercises=", ".join(ids),
            colab=colab,
            wheel=f"dist/{wheel_name}",
        ),
    )
    files = sorted(p for p in out.rglob("*") if p.is_file())
    refuse_solution_lines(files, exercises, allow_reveal)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "grader_version": __version__,
        "exercises": ids,
        "files": {p.relative_to(out).as_posix(): _sha256(p) for p in files},
    }
    _write(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def _dataset_spec() -> list[dict[str, Any]]:
    """What `cnn_selfcheck.datasets` needs of grader.datasets: files, hashes, system copies."""
    from grader.datasets.registry import DATASETS

    return [
        {
            "id": d.id,
            "title": d.title,
            "loader": d.loader,
            "system_dirs": list(d.system_dirs),
            "files": [
                {
                    "relpath": f.relpath,
                    "sha256": f.content_sha256,
                    "gunzip": f.relpath.endswith(".gz") and not f.raw_hash,
                    "aliases": list(f.aliases),
                }
                for f in d.files
            ],
        }
        for d in DATASETS.values()
    ]


def _starter(ex: Exercise, starters: Path) -> str:
    """The exercise's starter notebook, as `cnn-grader generate` makes it from the solution;
    the course's exercises/ copy must be that (else it was edited by hand or not regenerated)."""
    from grader.generate import render

    text = render(ex.solution_path)
    starter = starters / f"{ex.id}.ipynb"
    if starter.is_file() and starter.read_text(encoding="utf-8") != text:
        raise ConfigurationError(
            f"{starter} differs from what {ex.solution_path.name} "
            "generates; run `cnn-grader generate` first"
        )
    return text


def _check_target(out: Path) -> None:
    """`out` may be new, an empty folder, or an earlier release (replaced); nothing else."""
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"{out} is a file; give a folder for the release")
    if out.is_dir() and any(out.iterdir()) and not _is_release(out / MANIFEST):
        raise ConfigurationError(
            f"{out} is not empty and holds no release; give an empty or new folder"
        )


def _is_release(manifest: Path) -> bool:
    try:
        return bool(json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
