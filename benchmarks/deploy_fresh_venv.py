"""Deploying as a user would: time to install the wheel into a fresh venv and grade with a bundle.

    python benchmarks/deploy_fresh_venv.py [--offline-deps] [--extra keras] [--no-cache]
                                           [--json out.json]

Steps, each timed: build the wheel from this checkout; make a bundle and a release; create a
fresh venv outside the repository; `pip install` the wheel with its dependencies (from the
package index, or with --offline-deps from this project's venv through a .pth file, which
measures only the grader's own install); grade the ex01 solution from an empty folder with
`--course BUNDLE`; run `check` there with only the release. Prints the sizes of the wheel, the
bundle, the release and the venv, and the seconds of each step, measured in one run. The base
install has no TensorFlow; `--extra keras` installs the training extra (what a Keras exercise's
job installs), and `--no-cache` makes pip download everything, as a cold CI job does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str | Path], **kw: object) -> float:
    t0 = time.monotonic()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode not in (0,):
        sys.exit(f"{cmd} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.monotonic() - t0


def _size(path: Path) -> int:
    return (
        path.stat().st_size
        if path.is_file()
        else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--offline-deps",
        action="store_true",
        help="take the dependencies from this project's venv (no download)",
    )
    ap.add_argument("--extra", choices=["keras"], help="install the wheel with this extra")
    ap.add_argument("--no-cache", action="store_true", help="pip downloads everything")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    py = sys.executable
    out: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory(prefix="cnn-grader-deploy-") as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "src"
        subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "archive",
                "--format=tar",
                "HEAD",
                "--prefix=src/",
                "-o",
                str(tmp / "src.tar"),
            ],
            check=True,
        )
        subprocess.run(["tar", "-xf", str(tmp / "src.tar"), "-C", str(tmp)], check=True)
        out["build_wheel_s"] = _run(
            [
                py,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                tmp / "dist",
                src,
            ]
        )
        wheel = next((tmp / "dist").glob("cnn_grader-*.whl"))
        out["wheel_bytes"] = _size(wheel)
        user = tmp / "user"
        user.mkdir()
        out["bundle_s"] = _run(
            [py, "-m", "grader.cli", "bundle", "--out", user / "course.bundle", "--course", REPO]
        )
        out["bundle_bytes"] = _size(user / "course.bundle")
        out["release_s"] = _run(
            [py, "-m", "grader.cli", "release", "--out", tmp / "release", "--course", REPO]
        )
        out["release_bytes"] = _size(tmp / "release")
        venv = tmp / "venv"
        base = getattr(sys, "_base_executable", sys.executable)
        t0 = time.monotonic()
        _run([base, "-m", "venv", venv])
        vpy = venv / "bin" / "python"
        if args.offline_deps:
            _run([vpy, "-m", "pip", "install", "-q", "--no-deps", wheel])
            purelib = subprocess.run(
                [str(vpy), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            Path(purelib, "zz_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
            out["dependencies"] = "project venv (.pth)"
        else:
            spec = f"cnn-grader[{args.extra}] @ {wheel.as_uri()}" if args.extra else str(wheel)
            _run(
                [
                    vpy,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    *(["--no-cache-dir"] if args.no_cache else []),
                    spec,
                ]
            )
            out["dependencies"] = "package index" + (f", extra {args.extra}" if args.extra else "")
        out["venv_and_install_s"] = time.monotonic() - t0
        out["venv_bytes"] = _size(venv)
        (user / "ex01.ipynb").write_bytes(
            (REPO / "solutions" / "ex01_convolution.ipynb").read_bytes()
        )
        env = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp / "home"),
            "CNN_GRADER_CACHE_DIR": str(tmp / "cache"),
        }
        out["first_grade_s"] = _run(
            [
                venv / "bin" / "cnn-grader",
                "grade",
                "ex01.ipynb",
                "--course",
                "course.bundle",
                "--seed",
                "1",
            ],
            cwd=user,
            env=env,
        )
        out["second_grade_s"] = _run(
            [
                venv / "bin" / "cnn-grader",
                "grade",
                "ex01.ipynb",
                "--course",
                "course.bundle",
                "--seed",
                "2",
            ],
            cwd=user,
            env=env,
        )
        score = json.loads((user / "reports" / "ex01.json").read_text())["score"]
        out["score"] = score
        out["check_with_release_s"] = _run(
            [venv / "bin" / "cnn-grader", "check", "ex01.ipynb", "--course", tmp / "release"],
            cwd=user,
            env=env,
        )
    for k, v in out.items():
        print(f"{k:24} {v:.1f}" if isinstance(v, float) else f"{k:24} {v}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
