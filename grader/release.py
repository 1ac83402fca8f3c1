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
which are drawn on streams no grading seed reaches (`grader.checks.core.PUBLIC_SALT`), and the
build refuses to finish if a line of a solution block turns up in any file it wrote.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import keyword
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from grader.checks.core import Call, Context, Driver, Exercise, Fail, copy_value
from grader.checks.reference import load_reference
from grader.course import RELEASE_FORMAT as FORMAT  # how grader.course recognises a release
from grader.course import RELEASE_MANIFEST as MANIFEST
from grader.errors import ConfigurationError, InvalidNotebook
from grader.models import GradeResult
from grader.selfcheck.codec import decode
from grader.selfcheck.public import candidates, public_cases
from grader.selfcheck.runtime import judge
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
    "selfcheck/architecture.py",
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
    `_refuse_solution_lines`); any other leak stops the build.

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
    _refuse_solution_lines(files, exercises, allow_reveal)
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


def public_exercise(release_root: Path, exercise_id: str) -> Exercise:
    """The exercise as a release can check it: its public examples, with the answers stored
    in the release, so grading loads no reference (there is none on a student's machine)."""
    from grader.exercises import get

    base = get(exercise_id)
    path = Path(release_root) / PACKAGE / "cases" / f"{exercise_id}.json"
    if not path.is_file():
        raise ConfigurationError(f"the release {release_root} does not hold {exercise_id}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    answers: dict[str, Any] = {}
    # The registered exercise's limits and hooks (a Keras notebook still gets its budget and
    # datasets); its checks replaced by the public examples, answered and their mistakes named
    # from the release by the self-check cells' own `judge`, so both say the same.
    ex = dataclasses.replace(
        base,
        checks=[],
        answers=answers,
        wrong=[],
        examples=[],
        unchecked=dict(doc.get("unchecked", {})),
        _inputs=0,
    )

    def as_input(name: str, value: Any) -> Any:
        """A stored input shown by its name, as its hidden counterpart is in a report."""

        def make(rng: Any, v: Any = value) -> Any:
            return copy_value(v)

        return ex.input(name, make)

    for case in doc["cases"]:
        if case.get("kind") in ("model", "properties", "defined"):
            _kernel_fact(ex, case)
            continue
        args = decode(case["args"], on_input=as_input)
        kwargs = {k: decode(v, on_input=as_input) for k, v in case["kwargs"].items()}
        driver = case.get("driver")
        if driver is not None:
            call = Call.driver(
                Driver(driver["name"], driver["source"]), case["function"], *args, **kwargs
            )
        else:
            call = Call(case["function"], *args, **kwargs)
        call.labelled(case["call"])
        ex.check(
            points=1,
            call=call,
            hint=case["hint"],
            title=case["title"],
            group=case["function"],
            id=case["check"],
        )(_public_check(case))
        if case.get("kind") == "judged":  # judged as data: no answer to compare with
            continue
        expected = decode(case["expected"])
        answers[call.key()] = {"own": expected} if driver is not None else expected
    return ex


DEFINED_DRIVER = Driver(
    "drive_defined",
    """
def drive_defined(need, name):
    value = need(name)
    return {"own": {"class": type(value).__name__,
                    "model": hasattr(value, "layers") and hasattr(value, "count_params")}}
""",
)


def _kernel_fact(ex: Exercise, case: dict[str, Any]) -> None:
    """A model builder's stated facts, or a name the grader needs after the run, judged as the
    self-check cell judges them (a driver describes the model in the kernel)."""
    from grader.selfcheck.models import driver_source
    from grader.selfcheck.runtime import fact_problems

    name = case["function"]
    if case["kind"] in ("model", "properties"):
        call = Call.driver(Driver("drive_model_facts", driver_source(name)), name)
    else:
        call = Call.driver(DEFINED_DRIVER, name, name)
    call.labelled(case["call"])

    def fn(got: Any, ctx: Context) -> None:
        value = got.get("own") if isinstance(got, dict) else None
        if case["kind"] in ("model", "properties"):
            problems = fact_problems(value, case)
            if problems:
                raise Fail("\n".join(problems), hint=case["hint"])
        elif not (isinstance(value, dict) and value.get("model")):
            kind = value.get("class") if isinstance(value, dict) else "nothing readable"
            raise Fail(f"`{name}` is a {kind}, not a Keras model", hint=case["hint"])

    ex.check(
        points=1, call=call, hint=case["hint"], title=case["title"], group=name, id=case["check"]
    )(fn)


def _public_check(case: dict[str, Any]) -> Any:
    """The check of one public example: the self-check cell's own judgement of it."""

    def fn(got: Any, ctx: Context) -> None:
        if case.get("driver") is not None and case.get("kind") != "judged":
            if not isinstance(got, dict) or "own" not in got:
                raise Fail(
                    f"{ctx.text}: the grader could not read the result (got {type(got).__name__})"
                )
            got = got["own"]
        if case.get("kind") == "judged":
            from grader.selfcheck.runtime import fact_problems

            problems = fact_problems(got, case) or []
            if problems:
                raise Fail("\n".join(problems), hint=case["hint"])
            return
        verdict = judge(got, case)
        if verdict is not None:
            raise Fail(verdict[0], hint=verdict[1])

    return fn


def check_public(
    notebook: Path,
    release_root: Path,
    *,
    exercise: str | None = None,
    profile: str | None = None,
    cell_timeout: float | None = None,
    notebook_timeout: float | None = None,
) -> tuple[Exercise, GradeResult | None]:
    """Run a notebook in a fresh kernel, through the grading pipeline, against the release's
    public examples; no result when the exercise has none (nothing worth running it for)."""
    from grader.api import resolve_exercise
    from grader.execution import notebook as nbio
    from grader.options import Options
    from grader.pipeline import grade_exercise

    try:
        nb: Any = nbio.read(Path(notebook))[0]
    except InvalidNotebook:
        nb = None  # grade() says why, in the result
    ex = public_exercise(release_root, resolve_exercise(Path(notebook), nb, exercise))
    if not ex.checks:
        return ex, None
    return ex, grade_exercise(
        Path(notebook),
        ex,
        Options(
            profile=profile, seed=0, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout
        ),
    )


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
        return json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT
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


def _refuse_solution_lines(
    files: list[Path], exercises: list[Exercise], allow_reveal: Sequence[str] = ()
) -> None:
    """The last guard: no exercise's solution code in any file written.

    Not in another exercise's starter (a later exercise giving an earlier one's answer as given
    code hands it out), not in a hint, not in the data. In a notebook, a cell leaks a solution
    block when it holds most of the block's distinctive lines (more than 60%, and at least
    three, or all of a shorter block): a few idioms such as `keras.layers.Flatten(),` are
    everyone's Keras. Anywhere else (the cases' hints, the package) one distinctive line is a
    quote. A line the exercise's own starter shows outside its solution blocks is no secret.
    `allow_reveal` names exercises whose solutions may be shown (already due: said on purpose).
    ConfigurationError lists every leak with its file and cell."""
    from grader.generate import solution_blocks

    texts = {path: _readable(path) for path in files if path.suffix != ".whl"}
    cells = {
        path: [
            set(line.strip() for line in c.source.splitlines())
            for c in nbformat.reads(path.read_text(encoding="utf-8"), as_version=4).cells
        ]
        for path in texts
        if path.suffix == ".ipynb"
    }
    leaks: list[str] = []
    for ex in exercises:
        if ex.id in allow_reveal:
            continue
        own = next((texts[p] for p in files if p.name == f"{ex.id}.ipynb"), "")
        for block in solution_blocks(nbformat.read(ex.solution_path, as_version=4)):
            secret = list(
                dict.fromkeys(line for line in block if _distinctive(line) and line not in own)
            )
            if not secret:
                continue
            for path, text in texts.items():
                if path in cells:
                    for i, lines in enumerate(cells[path]):
                        hits = [line for line in secret if line in lines]
                        if len(hits) >= min(3, len(secret)) and len(hits) > 0.6 * len(secret):
                            leaks.append(
                                f"{path.name} cell {i + 1}: {len(hits)} lines of "
                                f"{ex.id}'s solution, e.g. {hits[0]!r}"
                            )
                else:
                    leaks += [
                        f"{path.name}: a line of {ex.id}'s solution: {line!r}"
                        for line in secret
                        if line in text
                    ]
    if leaks:
        leaks = list(dict.fromkeys(leaks))
        shown = "\n  ".join(leaks[:20]) + (
            f"\n  … and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        )
        raise ConfigurationError(
            f"the release would hand out solution code:\n  {shown}\n"
            "Give that code another way (a stub the student fills with their earlier answer), "
            "make hints describe rather than quote, or release the exercise once the other is "
            "due: --exercise ID, and --allow-reveal ID to say on purpose that an exercise's "
            "solution may be shown"
        )


def _distinctive(line: str) -> bool:
    """A line that tells something of a solution: long enough, and naming more than keywords
    and builtins (`raise ValueError(` could be anyone's code; `out = sums / counts` is not)."""
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line)
    return len(line) >= 12 and any(
        not keyword.iskeyword(n) and not hasattr(builtins, n) for n in names
    )


def _readable(path: Path) -> str:
    """A file's text as a person reads it: a notebook's cell sources and a JSON file's
    strings unescaped, besides the raw text."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix not in (".ipynb", ".json"):
        return raw
    strings: list[str] = [raw]

    def walk(v: Any) -> None:
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)

    walk(json.loads(raw))
    return "\n".join(strings)
