"""`cnn-grader gradescope-zip`: what the zip holds (a wheel, the private bundle, two scripts and
their settings) and what it must not (solutions/, the grader's source)."""

from __future__ import annotations

import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

from grader import bundle
from grader.cli import main
from grader.deploy.gradescope_zip import build_autograder_zip, notebook_timeout

SCRIPTS = ("setup.sh", "run_autograder")


def _zip(tmp_path: Path, exercise: str, *args: str | Path) -> Path:
    out = tmp_path / f"{exercise}.zip"
    assert main(["gradescope-zip", exercise, "--out", str(out), *map(str, args)]) == 0
    return out


def _settings(zf: zipfile.ZipFile) -> dict[str, str]:
    """cnn-grader.env as bash reads it."""
    script = (
        zf.read("cnn-grader.env").decode()
        + "for v in EXERCISE WHEEL EXTRAS BUNDLE DATASETS CALIBRATE NOTEBOOK_TIMEOUT; do "
        'printf "%s=%s\\n" "$v" "${!v}"; done\n'
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines())


def test_the_zip_holds_a_wheel_and_a_private_bundle_and_no_solutions(
    tmp_path: Path, grader_wheel: Path
) -> None:
    with zipfile.ZipFile(
        _zip(tmp_path, "ex01_convolution", "--wheel", grader_wheel, "--course", REPO)
    ) as zf:
        names = sorted(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        settings = _settings(zf)
        (tmp_path / "course.bundle").write_bytes(zf.read("course.bundle"))
        wheel_bytes = zf.read(f"dist/{grader_wheel.name}")
        scripts = {name: zf.read(name).decode() for name in SCRIPTS}
    assert names == sorted(
        [
            "setup.sh",
            "run_autograder",
            "cnn-grader.env",
            "course.bundle",
            "constraints.txt",
            f"dist/{grader_wheel.name}",
        ]
    )
    assert not [
        n
        for n in names
        if n.startswith(("solutions/", "exercises/", "grader/")) or n.endswith(".ipynb")
    ]
    assert wheel_bytes == grader_wheel.read_bytes()
    for script in SCRIPTS:
        assert stat.S_ISREG(modes[script]) and modes[script] & 0o777 == 0o755
        assert subprocess.run(["bash", "-n"], input=scripts[script], text=True).returncode == 0
    assert modes["course.bundle"] & 0o777 == 0o600
    assert settings == {
        "EXERCISE": "ex01_convolution",
        "WHEEL": f"dist/{grader_wheel.name}",
        "EXTRAS": "",
        "BUNDLE": "course.bundle",
        "DATASETS": "",
        "CALIBRATE": "0",
        "NOTEBOOK_TIMEOUT": "480",
    }
    # built from the course folder: this exercise's material only, verified on opening
    opened = bundle.open_bundle(tmp_path / "course.bundle")
    assert opened.exercises == ["ex01_convolution"] and not opened.encrypted
    assert (
        opened.files["solutions/ex01_convolution.ipynb"]
        == (REPO / "solutions" / "ex01_convolution.ipynb").read_bytes()
    )
    assert not [n for n in opened.files if "ex02" in n]


def test_a_keras_zip_fetches_datasets_and_calibrates_in_setup(
    tmp_path: Path, grader_wheel: Path, course_bundle: Path
) -> None:
    with zipfile.ZipFile(
        _zip(
            tmp_path,
            "ex04_dense_baseline",
            "--wheel",
            grader_wheel,
            "--course",
            course_bundle,
            "--autograder-timeout",
            "20",
        )
    ) as zf:
        settings = _settings(zf)
        assert zf.read("course.bundle") == course_bundle.read_bytes()  # a bundle is taken as is
        pins = zf.read("constraints.txt").decode()
    assert settings["DATASETS"] == "fashion_mnist" and settings["CALIBRATE"] == "1"
    assert settings["EXTRAS"] == "keras"  # setup.sh installs the training extra, pinned
    from importlib import metadata

    for package in ("numpy", "keras", "tensorflow"):
        assert f"\n{package}=={metadata.version(package)}\n" in pins
    assert settings["NOTEBOOK_TIMEOUT"] == "960"


def test_without_a_wheel_one_is_built_from_this_checkout(tmp_path: Path) -> None:
    with zipfile.ZipFile(_zip(tmp_path, "ex02_pooling", "--course", REPO)) as zf:
        (wheel_name,) = [n for n in zf.namelist() if n.startswith("dist/")]
        (tmp_path / "w.whl").write_bytes(zf.read(wheel_name))
        assert _settings(zf)["WHEEL"] == wheel_name
    inside = zipfile.ZipFile(tmp_path / "w.whl").namelist()
    assert wheel_name.startswith("dist/cnn_grader-") and wheel_name.endswith("-py3-none-any.whl")
    assert {"grader/cli/__init__.py", "grader/deploy/gradescope_run.py"} <= set(inside)
    assert not [n for n in inside if n.endswith(".ipynb") or n.startswith("solutions/")]


def test_the_notebook_timeout_fits_gradescopes_limit() -> None:
    assert notebook_timeout(10) == 480  # Gradescope's default: 10 minutes
    assert notebook_timeout(20) == 960
    assert notebook_timeout(40) == 1920  # its maximum
    for minutes in (0.5, 41):
        with pytest.raises(Exception, match="1 to 40 minutes"):
            notebook_timeout(minutes)


@pytest.mark.parametrize(
    "problem", ["unknown exercise", "encrypted", "not in bundle", "other version", "release"]
)
def test_what_cannot_work_on_gradescope_is_a_usage_error(
    problem: str, tmp_path: Path, grader_wheel: Path, encrypted_bundle: tuple[Path, str]
) -> None:
    exercise, args, message = "ex01_convolution", ["--wheel", str(grader_wheel)], ""
    if problem == "unknown exercise":
        exercise, message = "ex42_nothing", "unknown exercise"
    elif problem == "encrypted":
        args += ["--course", str(encrypted_bundle[0])]
        message = "encrypted"
    elif problem == "not in bundle":
        only = bundle.build(REPO, tmp_path / "ex02.bundle", exercises=["ex02_pooling"])
        args += ["--course", str(only)]
        message = "has no ex01_convolution"
    elif problem == "other version":
        fake = tmp_path / "cnn_grader-9.9.0-py3-none-any.whl"
        fake.write_bytes(grader_wheel.read_bytes())
        args = ["--wheel", str(fake), "--course", str(REPO)]
        message = "cnn-grader 9.9.0"
    else:
        release = tmp_path / "release"
        release.mkdir()
        (release / "release.json").write_text('{"format": "cnn-grader-release"}')
        args += ["--course", str(release)]
        message = "cannot grade"
    out = tmp_path / "ag.zip"
    assert main(["gradescope-zip", exercise, "--out", str(out), *args]) == 2
    assert not out.exists() and not list(tmp_path.glob(".ag.zip*"))
    with pytest.raises(Exception, match=message):
        build_autograder_zip(
            exercise, out, course=args[-1] if "--course" in args else REPO, wheel=Path(args[1])
        )
