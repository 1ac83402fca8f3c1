"""The autograder zip end to end, as Gradescope runs it: unzipped into `<root>/source`, setup.sh
once, then run_autograder per submission, in a temporary root (`CNN_GRADER_AUTOGRADER_ROOT`).

Offline: pip finds every dependency already installed through a .pth line to the project's
venv (`PIP_NO_INDEX=1`), and Fashion-MNIST comes from Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import sysconfig
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, clean_env, run

from grader.cli import main
from grader.datasets.registry import FASHION_MNIST

BUDGET = "epochs=1,train_samples=3000,eval_samples=1000"  # the Keras tests' small budget
SOBEL_VALID = REPO / "tests" / "mutants" / "ex01_convolution" / "sobel_valid_padding.py"


def _autograder(tmp_path: Path, exercise: str, *args: str | Path) -> Path:
    """`gradescope-zip`, unzipped as Gradescope does: the files in root/source (keeping only
    the executable bit, as a plain unzip may), run_autograder copied to root/run_autograder."""
    out = tmp_path / "autograder.zip"
    assert main(["gradescope-zip", exercise, "--out", str(out), *map(str, args)]) == 0
    root = tmp_path / "autograder"
    source = root / "source"
    with zipfile.ZipFile(out) as zf:
        for info in zf.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod(0o755 if (info.external_attr >> 16) & 0o100 else 0o644)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def _env(root: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    keras_home = tmp_path / "empty-keras-home"  # never the developer's ~/.keras
    keras_home.mkdir(exist_ok=True)
    return clean_env(
        CNN_GRADER_AUTOGRADER_ROOT=str(root),
        PIP_NO_INDEX="1",
        KERAS_HOME=str(keras_home),
        CNN_GRADER_SMOKE_BUDGET=BUDGET,
        CNN_GRADER_PROFILE="smoke",
        **extra,
    )


def _timed(cmd: list[str | Path], **kwargs: object) -> tuple[str, float]:
    t0 = time.monotonic()
    proc = run(cmd, timeout=900, **kwargs)  # type: ignore[arg-type]
    return proc.stdout + proc.stderr, time.monotonic() - t0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fake_debian(tmp_path: Path) -> tuple[Path, Path]:
    """A `python3` whose venv has no ensurepip until `apt-get install python3-venv` ran (as on
    a minimal Debian or Ubuntu image), and an apt-get and apt-cache that log what they are
    asked. Once "installed", `python3 -m venv DIR` makes a venv that sees the project's
    packages (pip included) through a .pth line, instead of downloading them."""
    bin_dir, state = tmp_path / "fakebin", tmp_path / "apt-state"
    bin_dir.mkdir()
    state.mkdir()
    real = getattr(sys, "_base_executable", sys.executable)
    project = sysconfig.get_path("purelib")
    scripts = {
        "python3": f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  case "$3" in -h|--help) exec "{real}" -m venv --help ;; esac
  if [ ! -e "{state}/python3-venv" ]; then
    echo "The virtual environment was not created successfully because ensurepip is not" >&2
    echo "available.  On Debian/Ubuntu systems, you need to install the python3-venv" >&2
    exit 1
  fi
  "{real}" -m venv --without-pip "$3" || exit 1
  purelib="$("$3/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  echo "{project}" > "$purelib/zz_project_dependencies.pth"
  exit 0
fi
exec "{real}" "$@"
""",
        "apt-get": f"""#!/bin/sh
echo "apt-get $*" >> "{state}/apt.log"
case " $* " in *" install "*" python3-venv"*) touch "{state}/python3-venv" ;; esac
exit 0
""",
        "apt-cache": f"""#!/bin/sh
echo "apt-cache $*" >> "{state}/apt.log"
case "$2" in python3.*-venv) exit 0 ;; esac
exit 100
""",
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir, state


def test_numpy_exercise_setup_without_ensurepip_then_the_notebook_not_its_checkpoint_is_graded(
    tmp_path: Path, grader_wheel: Path
) -> None:
    root = _autograder(tmp_path, "ex01_convolution", "--wheel", grader_wheel, "--course", REPO)
    fake_bin, state = _fake_debian(tmp_path)
    # the trap of a `python3 -m venv --help` guard: it passes on such an image
    assert run([fake_bin / "python3", "-m", "venv", "--help"]).returncode == 0
    env = _env(root, tmp_path, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}")

    log, setup_s = _timed(["bash", "setup.sh"], cwd=root / "source", env=env)
    apt = (state / "apt.log").read_text().splitlines()
    version = "{}.{}".format(*sys.version_info[:2])
    installs = [line for line in apt if line.startswith("apt-get install")]
    assert apt[0].startswith("apt-get update"), apt
    assert "python3-venv" in installs[0].split() and f"python{version}-venv" in installs[1].split()
    assert "no ensurepip" in log
    where = run(
        [root / "venv" / "bin" / "python", "-c", "import grader; print(grader.__file__)"],
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(root / "venv")), where  # the wheel from the zip, not the checkout
    # the reference solutions: root only; the cache enterable, the unpacked bundle not
    assert _mode(root / "source" / "course.bundle") == 0o600
    assert _mode(root / "cache") == 0o755 and _mode(root / "cache" / "courses") == 0o700

    wrong = nbformat.read(REPO / "solutions" / "ex01_convolution.ipynb", as_version=4)
    wrong.cells.append(nbformat.v4.new_code_cell(SOBEL_VALID.read_text()))
    nbformat.write(wrong, root / "submission" / "ex01_convolution.ipynb")
    checkpoint = root / "submission" / ".ipynb_checkpoints" / "ex01_convolution-checkpoint.ipynb"
    checkpoint.parent.mkdir()
    shutil.copy(REPO / "solutions" / "ex01_convolution.ipynb", checkpoint)

    _, run_s = _timed([root / "run_autograder"], cwd=root, env=env)
    results = json.loads((root / "results" / "results.json").read_text())
    report = json.loads((root / "results" / "reports" / "ex01_convolution.json").read_text())
    lines = results["output"].splitlines()
    assert lines[0] == "Graded notebook: ex01_convolution.ipynb"
    assert any(line.startswith("Ignored 1 Jupyter checkpoint copy") for line in lines)
    failed = {c["id"] for c in report["checks"] if c["status"] != "passed"}
    assert failed and all(c.startswith("sobel") for c in failed), failed
    assert 0 < results["score"] < report["max_score"] == 10
    assert results["score"] == report["score"]
    print(f"ex01: setup.sh {setup_s:.1f}s, run_autograder {run_s:.1f}s")


def test_keras_setup_fetches_and_calibrates_once_and_a_run_gets_full_marks_without_calibrating(
    tmp_path: Path, grader_wheel: Path, course_bundle: Path, fresh_venv: Callable[[Path], Path]
) -> None:
    if not all(Path(FASHION_MNIST.system_dirs[0], f.name).is_file() for f in FASHION_MNIST.files):
        pytest.skip("Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)")
    root = _autograder(
        tmp_path, "ex04_dense_baseline", "--wheel", grader_wheel, "--course", course_bundle
    )
    fresh_venv(root)  # root/venv, which setup.sh reuses
    env = _env(root, tmp_path)

    log, setup_s = _timed(["bash", "setup.sh"], cwd=root / "source", env=env)
    assert "reusing the virtualenv" in log
    assert "fashion_mnist: available" in log or "fashion_mnist: fetched" in log
    assert "ex04_dense_baseline [smoke] dense_model: reference" in log
    calibration = root / "cache" / "calibration.json"
    entries = json.loads(calibration.read_text())
    assert [e["exercise"] for e in entries.values()] == ["ex04_dense_baseline"]
    before = (calibration.read_bytes(), calibration.stat().st_mtime_ns)

    shutil.copy(REPO / "solutions" / "ex04_dense_baseline.ipynb", root / "submission")
    _, run_s = _timed([root / "run_autograder"], cwd=root, env=env)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["output"].splitlines()[0] == "Graded notebook: ex04_dense_baseline.ipynb"
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) == 10, results
    assert (calibration.read_bytes(), calibration.stat().st_mtime_ns) == before  # not measured
    report = json.loads((root / "results" / "reports" / "ex04_dense_baseline.json").read_text())
    accuracy = next(c for c in report["checks"] if c["id"] == "dense_accuracy")
    threshold = accuracy["details"]["threshold_text"]
    assert "= reference" in threshold, threshold  # the smoke threshold, from setup's calibration
    print(f"ex04: setup.sh {setup_s:.1f}s, run_autograder {run_s:.1f}s; {threshold}")
