"""The grader as a user installs it: a wheel in a fresh venv, run from an empty folder.

The package is not the course: a wheel has no solutions, and grades only with a course given by
`--course` or `CNN_GRADER_COURSE` (a bundle here, plain or encrypted).
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

from conftest import REPO, clean_env, run


def test_the_wheel_holds_the_package_and_no_course(grader_wheel: Path) -> None:
    names = zipfile.ZipFile(grader_wheel).namelist()
    assert (
        "grader/cli/__init__.py" in names and "grader/reporting/templates/report.html.j2" in names
    )
    assert not [
        n
        for n in names
        if n.startswith(("solutions/", "exercises/", "tests/")) or n.endswith(".ipynb")
    ]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(grader_wheel).read(metadata).decode()
    assert "Requires-Dist: cryptography" in text
    # TensorFlow and Keras come with the `keras` extra only
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist: ")]
    for package in ("tensorflow", "keras"):
        mine = [line for line in requires if line.split()[1].startswith(package)]
        assert mine and all("; extra == " in line for line in mine), mine  # never in the base
        assert any('extra == "keras"' in line for line in mine), mine


def test_the_base_install_grades_a_numpy_exercise_and_names_the_extra_for_training(
    fresh_venv, course_bundle: Path, user_dir: Path, tmp_path: Path
) -> None:
    python = fresh_venv(tmp_path, training=False)
    for package in ("tensorflow", "keras"):
        proc = run([python, "-c", f"import {package}"], cwd=user_dir, check=False)
        assert proc.returncode != 0  # the base install has neither
    shutil.copy(REPO / "solutions" / "ex01_convolution.ipynb", user_dir / "ex01.ipynb")
    shutil.copy(REPO / "solutions" / "ex04_dense_baseline.ipynb", user_dir / "ex04.ipynb")
    code, out = _grade(python, user_dir, "ex01.ipynb", "--course", course_bundle, "--seed", "5")
    assert code == 0, out
    report = json.loads((user_dir / "reports" / "ex01.json").read_text())
    assert report["score"] == report["max_score"] == 10.0
    code, out = _grade(
        python, user_dir, "ex04.ipynb", "--course", course_bundle, "--out", "ex04-reports"
    )
    assert code == 2, out
    assert "ex04_dense_baseline trains Keras models" in out
    assert "pip install 'cnn-grader[keras]'" in out
    assert not (user_dir / "ex04-reports").exists()
    extras = run(
        [python.parent / "cnn-grader", "extras", "--exercise", "ex04_dense_baseline"],
        cwd=user_dir,
        env=clean_env(),
    )
    assert extras.stdout.strip() == "keras"


def _grade(python: Path, cwd: Path, *args: str | Path, **env: str) -> tuple[int, str]:
    cli = python.parent / "cnn-grader"
    proc = run(
        [cli, "grade", *args],
        cwd=cwd,
        check=False,
        env=clean_env(CNN_GRADER_CACHE_DIR=str(cwd / ".cache"), **env),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def test_a_wheel_grades_a_solution_with_full_marks_from_only_a_bundle(
    fresh_venv,
    course_bundle: Path,
    encrypted_bundle: tuple[Path, str],
    user_dir: Path,
    tmp_path: Path,
) -> None:
    python = fresh_venv(tmp_path)
    where = run([python, "-c", "import grader; print(grader.__file__)"], cwd=user_dir).stdout
    assert str(REPO) not in where and str(tmp_path) in where  # the wheel's grader runs
    shutil.copy(REPO / "solutions" / "ex01_convolution.ipynb", user_dir / "ex01.ipynb")
    shutil.copy(course_bundle, user_dir / "course.bundle")

    code, out = _grade(python, user_dir, "ex01.ipynb")
    assert code == 2 and "--course BUNDLE" in out and "CNN_GRADER_COURSE" in out
    assert not (user_dir / "reports").exists()

    code, out = _grade(python, user_dir, "ex01.ipynb", "--course", "course.bundle", "--seed", "3")
    assert code == 0, out
    report = json.loads((user_dir / "reports" / "ex01.json").read_text())
    assert report["score"] == report["max_score"] == 10.0
    assert all(c["status"] == "passed" for c in report["checks"])

    encrypted, key = encrypted_bundle
    code, out = _grade(
        python,
        user_dir,
        "ex01.ipynb",
        "--out",
        "enc",
        "--seed",
        "4",
        CNN_GRADER_COURSE=str(encrypted),
        CNN_GRADER_BUNDLE_KEY=key,
    )
    assert code == 0, out
    assert json.loads((user_dir / "enc" / "ex01.json").read_text())["score"] == 10.0

    from grader.bundle import new_key

    code, out = _grade(
        python,
        user_dir,
        "ex01.ipynb",
        "--out",
        "wrong",
        CNN_GRADER_COURSE=str(encrypted),
        CNN_GRADER_BUNDLE_KEY=new_key(),
    )
    assert code == 2 and "not the key it was made with" in out
    assert not (user_dir / "wrong").exists()


def test_a_wheel_runs_the_public_self_checks_from_a_release_alone(
    fresh_venv, user_dir: Path, tmp_path: Path
) -> None:
    python = fresh_venv(tmp_path)
    release = tmp_path / "release"
    run(
        [sys.executable, "-m", "grader.cli", "release", "--out", release, "--course", REPO],
        env=clean_env(),
    )
    assert not list(release.rglob("solutions"))
    cli = python.parent / "cnn-grader"
    env = clean_env(CNN_GRADER_CACHE_DIR=str(user_dir / ".cache"), CNN_GRADER_COURSE=str(release))
    shutil.copy(REPO / "solutions" / "ex02_pooling.ipynb", user_dir / "mine.ipynb")
    solved = run([cli, "check", "mine.ipynb", "--exercise", "ex02_pooling"], cwd=user_dir, env=env)
    passed = [line for line in solved.stdout.splitlines() if "public examples passed" in line]
    n = int(passed[0].split()[-1])
    assert n > 0 and passed[0].endswith(f"passed: {n} of {n}")
    assert "your final grade also uses hidden inputs" in solved.stdout
    starter = run([cli, "check", str(release / "ex02_pooling.ipynb")], cwd=user_dir, env=env)
    assert f"public examples passed: 0 of {n}" in starter.stdout
    assert "Traceback" not in starter.stdout + starter.stderr
    graded = run(
        [cli, "grade", "mine.ipynb", "--exercise", "ex02_pooling"],
        cwd=user_dir,
        env=env,
        check=False,
    )
    assert graded.returncode == 2 and "student release" in graded.stderr
