"""`cnn-grader release`: what students receive holds the starters and the public self-checks,
and never a line of a solution (CONTRACT.md §4)."""

from __future__ import annotations

import builtins
import hashlib
import json
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from grader import release, release_leaks
from grader.course import exercises_dir, solutions_dir
from grader.errors import ConfigurationError
from grader.exercises import available, get
from grader.generate import BEGIN, END
from grader.selfcheck.codec import decode, encode

ALL = [e for e in available() if (solutions_dir() / f"{e}.ipynb").is_file()]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


# -- what is in it ---------------------------------------------------------------------------


def test_manifest_lists_every_file_with_its_sha256(release_dir: Path) -> None:
    manifest = json.loads((release_dir / "release.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "cnn-grader-release" and manifest["format_version"] == 1
    assert manifest["exercises"] == ALL
    assert isinstance(manifest["grader_version"], str) and manifest["grader_version"]
    on_disk = {
        p.relative_to(release_dir).as_posix()
        for p in release_dir.rglob("*")
        if p.is_file() and p.name != "release.json"
    }
    assert set(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((release_dir / name).read_bytes()).hexdigest() == digest, name


def test_starters_are_the_generated_exercises_with_self_check_cells(release_dir: Path) -> None:
    for eid in ALL:
        shipped = (release_dir / f"{eid}.ipynb").read_text(encoding="utf-8")
        assert shipped == (exercises_dir() / f"{eid}.ipynb").read_text(encoding="utf-8")
    nb = nbformat.read(release_dir / "ex01_convolution.ipynb", as_version=4)
    checks = [c.source for c in nb.cells if "self-check" in c.metadata.get("tags", [])]
    assert checks == [
        f"from cnn_selfcheck import check\ncheck({f})"
        for f in ("zero_pad", "conv2d", "sobel_edges")
    ]
    assert "hidden inputs" in (release_dir / "README.md").read_text(encoding="utf-8")


def test_the_runtime_is_the_graders_own_code_byte_for_byte(release_dir: Path) -> None:
    grader_root = Path(release.__file__).parent
    assert {
        "checks/expect.py",
        "checks/outcomes.py",
        "selfcheck/runtime.py",
        "selfcheck/codec.py",
    } <= set(release.SHIPPED)
    for name in release.SHIPPED:
        assert (release_dir / "cnn_selfcheck" / name).read_bytes() == (
            grader_root / name
        ).read_bytes(), name


def test_only_exercises_asked_for(tmp_path: Path) -> None:
    proc = cli("release", "--out", str(tmp_path / "r"), "--exercise", "ex02_pooling", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == [
        "README.md",
        "cnn_selfcheck",
        "dist",
        "ex02_pooling.ipynb",
        "pyproject.toml",
        "release.json",
    ]
    assert [p.name for p in (tmp_path / "r" / "cnn_selfcheck" / "cases").iterdir()] == [
        "ex02_pooling.json"
    ]


# -- no solution in it -----------------------------------------------------------------------


def _solution_lines(path: Path) -> list[str]:
    out, inside = [], False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            if BEGIN.match(line) or END.match(line):
                inside = bool(BEGIN.match(line))
            elif inside:
                out.append(line.strip())
    return out


def _non_trivial(line: str) -> bool:
    """Long enough, and naming something besides keywords and builtins (`raise ValueError(`
    is anybody's code)."""
    names = re.findall(r"[A-Za-z_]\w*", line)
    return len(line) >= 12 and any(
        not keyword.iskeyword(n) and not hasattr(builtins, n) for n in names
    )


def _texts(folder: Path) -> dict[Path, str]:
    """Each file's raw text, plus the strings of a JSON file (a notebook's cells) unescaped."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = path.read_text(encoding="utf-8", errors="replace")
        strings = [raw]
        if path.suffix in (".json", ".ipynb"):
            stack = [json.loads(raw)]
            while stack:
                v = stack.pop()
                if isinstance(v, str):
                    strings.append(v)
                elif isinstance(v, list):
                    stack.extend(v)
                elif isinstance(v, dict):
                    stack.extend(v.values())
        out[path] = "\n".join(strings)
    return out


def leaks(folder: Path) -> list[tuple[str, str]]:
    """(file, solution line) for every non-trivial line of a solution block found in a file.

    Lines that the course publishes on purpose are not secrets: those the generated starters
    show outside their solution blocks, and those a check's hint quotes."""
    starters = [nbformat.read(exercises_dir() / f"{e}.ipynb", as_version=4) for e in ALL]
    published = "\n".join(
        [cell.source for nb in starters for cell in nb.cells]
        + [c.hint for e in ALL for c in get(e).checks]
    )
    secrets = {
        line
        for e in ALL
        for line in _solution_lines(solutions_dir() / f"{e}.ipynb")
        if _non_trivial(line) and line not in published
    }
    assert len(secrets) > 100  # the solutions are there to be looked for
    return [
        (path.name, line)
        for path, text in _texts(folder).items()
        for line in sorted(secrets)
        if line in text
    ]


def test_no_file_holds_a_line_of_a_solution(release_dir: Path) -> None:
    assert leaks(release_dir) == []


def test_a_planted_solution_line_would_be_found(release_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(release_dir, copy)
    line = next(
        s
        for s in _solution_lines(solutions_dir() / "ex02_pooling.ipynb")
        if _non_trivial(s) and '"' in s
    )
    cases = copy / "cnn_selfcheck" / "cases" / "ex02_pooling.json"
    doc = json.loads(cases.read_text(encoding="utf-8"))
    doc["cases"][0]["hint"] += " " + line  # escaped quotes inside JSON: still found
    cases.write_text(json.dumps(doc), encoding="utf-8")
    assert leaks(copy) == [("ex02_pooling.json", line)]


def test_the_build_refuses_to_ship_a_solution_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = next(
        s for s in _solution_lines(solutions_dir() / "ex01_convolution.ipynb") if _non_trivial(s)
    )
    monkeypatch.setattr(release, "PACKAGE_INIT", release.PACKAGE_INIT + f"# {line}\n")
    with pytest.raises(ConfigurationError, match="a line of ex01_convolution's solution"):
        release.build(tmp_path / "r", ["ex01_convolution"])
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left to hand out


def test_a_starter_giving_another_exercises_answer_is_refused_unless_revealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ex10's starter once gave ex01's conv2d: every leak named with its file and cell."""
    import nbformat

    conv2d = next(
        c.source
        for c in nbformat.read(solutions_dir() / "ex01_convolution.ipynb", as_version=4).cells
        if c.cell_type == "code" and c.source.startswith("def conv2d(")
    )
    given = conv2d.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", "")
    starter = release._starter

    def with_given_conv2d(ex: Any, starters: Path) -> str:
        text = starter(ex, starters)
        if ex.id != "ex10_conv_backward":
            return text
        nb = nbformat.reads(text, as_version=4)
        nb.cells.insert(2, nbformat.v4.new_code_cell(given))
        return nbformat.writes(nb)

    monkeypatch.setattr(release, "_starter", with_given_conv2d)
    with pytest.raises(ConfigurationError) as err:
        release.build(tmp_path / "r", ["ex01_convolution", "ex10_conv_backward"])
    assert "ex10_conv_backward.ipynb cell 3: " in str(err.value)
    assert "of ex01_convolution's solution" in str(err.value)
    assert "--allow-reveal" in str(err.value)
    release.build(
        tmp_path / "r",
        ["ex01_convolution", "ex10_conv_backward"],
        allow_reveal=["ex01_convolution"],
    )
    assert (tmp_path / "r" / "ex10_conv_backward.ipynb").is_file()


# -- where it may be written -----------------------------------------------------------------


def test_a_release_is_not_made_from_a_release(release_dir: Path, tmp_path: Path) -> None:
    proc = cli(
        "release", "--out", str(tmp_path / "again"), "--course", str(release_dir), cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "never from another release" in proc.stderr
    assert not (tmp_path / "again").exists()


def test_a_folder_with_other_files_is_refused_an_earlier_release_replaced(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    proc = cli("release", "--out", str(busy), "--exercise", "ex02_pooling", cwd=tmp_path)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]

    out = tmp_path / "r"
    assert (
        cli("release", "--out", str(out), "--exercise", "ex02_pooling", cwd=tmp_path).returncode
        == 0
    )
    proc = cli("release", "--out", str(out), "--exercise", "ex01_convolution", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "ex02_pooling.ipynb").exists() and (out / "ex01_convolution.ipynb").exists()


# -- the data format -------------------------------------------------------------------------


def test_values_round_trip_exactly_through_json() -> None:
    rng = np.random.default_rng(0)
    values = [
        rng.standard_normal((3, 4)),
        rng.standard_normal(5).astype(np.float32),
        rng.integers(-9, 9, (2, 2)),
        np.array([True, False]),
        np.zeros((0, 3)),
        (1, (2.5, [3, "same"])),
        np.float64(0.1),
        np.int64(7),
        float("nan"),
        None,
    ]
    back = [decode(json.loads(json.dumps(encode(v)))) for v in values]
    for v, b in zip(values, back, strict=False):
        if isinstance(v, np.ndarray):
            assert b.dtype == v.dtype and b.shape == v.shape and b.tobytes() == v.tobytes()
    assert back[5] == (1, (2.5, [3, "same"])) and type(back[5][1]) is tuple
    assert back[6] == 0.1 and back[7] == 7 and np.isnan(back[8]) and back[9] is None


def test_the_release_command_is_pinned() -> None:
    from grader.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    options = {s for a in sub.choices["release"]._actions for s in a.option_strings}
    assert {"--out", "--exercise", "--course"} <= options
    args = parser.parse_args(["release", "--out", "d", "--exercise", "a", "--exercise", "b"])
    assert args.out == "d" and args.exercises == ["a", "b"]


def test_graded_hints_describe_rather_than_quote_a_solution() -> None:
    """A hint every student who fails a check reads must not hand out the solution's code.
    The one exception is by design: ex07's activation-model line, which the grader's helper
    runs in the student's place so that feature_maps is judged apart (docs/grading.md §2)."""
    import nbformat

    from grader.exercises import available, get
    from grader.generate import solution_blocks

    quoted = []
    for eid in available():
        ex = get(eid)
        blocks = solution_blocks(nbformat.read(ex.solution_path, as_version=4))
        lines = {line for block in blocks for line in block if release_leaks.distinctive(line)}
        quoted += [(eid, c.id, line) for c in ex.checks for line in lines if line in (c.hint or "")]
    assert {(e, c) for e, c, _ in quoted} <= {
        ("ex07_feature_maps", "activation_model_outputs"),
        ("ex07_feature_maps", "activation_model_values"),
    }, quoted
