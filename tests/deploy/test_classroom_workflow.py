"""The Classroom workflow template, run as a student's push would run it.

Every `run:` step of .github/classroom/classroom.yml, in order, as one bash script, in a
"student repository" outside this checkout (the notebook and the encrypted bundle committed at
.grader/course.bundle), with the job's environment, where a local wheel and bundle stand in for
the downloads. Then what the grading step left for the reporter is read the way
`autograding-grading-reporter@v1` reads it (tests/classroom_v1.py), and what a student would
see is checked: every check with its reason and hint where v1 prints them, a console total
equal to the true weighted score, the run's summary table, and no trace of the bundle's key.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import helpers
import pytest
import yaml
from classroom_v1 import RUNNERS_PATTERN, parse_command_file, run_reporter
from conftest import REPO, clean_env, run

from grader.execution import sandbox

WORKFLOW = REPO / ".github" / "classroom" / "classroom.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TEST_FIELDS = {
    "name": str,
    "status": str,
    "score": (int, float),
    "message": str,
    "test_code": str,
    "filename": str,
    "line_no": int,
    "duration": (int, float),
}
# A partly wrong submission: the solution, then a conv2d that ignores its bias, a sobel_edges
# left as the stub, and a cell that tries to read the bundle's key (from its environment, and
# from the grader's, its parent) and to make it visible by failing with it.
MUTANT = (REPO / "tests" / "mutants" / "ex01_convolution" / "missing_bias.py").read_text()
STUB = "def sobel_edges(image):\n    raise NotImplementedError"
KEY_PROBE = """
import os
seen = os.environ.get("CNN_GRADER_BUNDLE_KEY", "")
try:
    with open(f"/proc/{os.getppid()}/environ", "rb") as fh:
        parent = fh.read().decode(errors="replace")
except OSError:
    parent = ""
if seen:
    raise RuntimeError("leaked from the environment: " + seen)
if "CNN_GRADER_BUNDLE_KEY" in parent:
    raise RuntimeError("leaked from the grader: " + parent)
"""
FAILS = {"conv2d_multichannel_bias", "conv2d_same_odd_kernel", "conv2d_same_stride_pair"}


def _job() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    return job  # type: ignore[no-any-return]


def _resolve(value: str, known: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in known:
            raise AssertionError(
                f"{where}: the test does not know `{m.group(0)}`; give it a "
                "value here (or override the variable)"
            )
        return known[m.group(1)]

    return EXPRESSION.sub(sub, str(value))


def _script(job: dict[str, Any], folder: Path, secrets: dict[str, str]) -> Path:
    """The job's `run:` steps as one bash script; each step runs as Actions runs it
    (`bash -e FILE`), with its own `env:`."""
    known = {f"secrets.{k}": v for k, v in secrets.items()}
    lines = ["set -e"]
    for i, step in enumerate(job["steps"]):
        if "run" not in step:
            continue
        body = folder / f"step{i}.sh"
        body.write_text(step["run"])
        env = [f"{k}={_resolve(v, known, step['name'])}" for k, v in step.get("env", {}).items()]
        lines += [
            f"echo '::group::{step['name']}'",
            shlex.join(["env", *env, "bash", "-e", str(body)]),
            "echo '::endgroup::'",
        ]
    path = folder / "job.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def _job_env(job: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    env = {k: str(v) for k, v in job["env"].items()}
    env.update(overrides)
    for name, value in env.items():
        assert not EXPRESSION.search(value), f"job env {name}={value}: override it in the test"
    return env


def _check_document(doc: dict[str, Any], notebook: str) -> None:
    assert set(doc) == {"version", "status", "max_score", "tests"}
    assert doc["version"] == 1 and doc["status"] in ("pass", "fail", "error")
    assert isinstance(doc["max_score"], (int, float)) and isinstance(doc["tests"], list)
    for test in doc["tests"]:
        assert set(test) == set(TEST_FIELDS)
        for name, kind in TEST_FIELDS.items():
            assert isinstance(test[name], kind) and not isinstance(test[name], bool), (name, test)
        assert test["status"] in ("pass", "fail", "error") and test["filename"] == notebook


@pytest.fixture
def student_repo(tmp_path: Path, encrypted_bundle: tuple[Path, str]) -> Path:
    repo = tmp_path / "student-repo"
    (repo / ".grader").mkdir(parents=True)
    shutil.copy(encrypted_bundle[0], repo / ".grader" / "course.bundle")
    notebook = helpers.with_cells(
        helpers.solution_notebook("ex01_convolution"), MUTANT, STUB, KEY_PROBE
    )
    helpers.write_notebook(repo, "ex01_convolution.ipynb", notebook, None)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "classroom.yml")
    return repo


def test_the_template_grades_a_push_and_the_reporter_shows_why_and_the_true_total(
    tmp_path: Path,
    fresh_venv: Any,
    grader_wheel: Path,
    encrypted_bundle: tuple[Path, str],
    student_repo: Path,
) -> None:
    python = fresh_venv(tmp_path)
    key = encrypted_bundle[1]
    job = _job()
    gh = tmp_path / "github"
    gh.mkdir()
    files = {
        name: gh / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.touch()
    home = tmp_path / "runner-home"  # the runner's home, where the job's cache goes
    home.mkdir()
    env = clean_env(
        **_job_env(job, {"GRADER_WHEEL": str(grader_wheel)}),
        HOME=str(home),
        **{k: str(v) for k, v in files.items()},
        PATH=f"{python.parent}:{clean_env()['PATH']}",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    script = _script(job, gh, {"CNN_GRADER_BUNDLE_KEY": key})
    proc = run(["bash", script], cwd=student_repo, env=env, timeout=900)
    log = proc.stdout + proc.stderr
    assert "Traceback" not in log, log

    # the grader in the job is the wheel's; its cache is the job's (`~` the runner's home)
    assert f"Processing {grader_wheel}" in log or "already satisfied" in log.lower(), log
    assert (home / ".cache" / "cnn-grader" / "courses").is_dir()
    report_json = next((student_repo / "grader-report").glob("*.json"))
    report = json.loads(report_json.read_text())
    assert report["exercise"] == "ex01_convolution"
    not_passed = {c["id"]: c for c in report["checks"] if c["status"] != "passed"}
    assert set(not_passed) == FAILS | {"sobel_edges"}
    assert not_passed["sobel_edges"]["status"] == "not_attempted"
    assert report["score"] == 6.5 and report["max_score"] == 10

    # what the reporter gets: `runners` and one <ID>_RESULTS per check, all valid v1 documents
    outputs = parse_command_file(files["GITHUB_OUTPUT"].read_text())
    job_env = parse_command_file(files["GITHUB_ENV"].read_text())
    assert RUNNERS_PATTERN.match(outputs["runners"])
    v1 = run_reporter(outputs["runners"], job_env)
    assert len(v1.documents) == len(report["checks"])
    for doc in v1.documents.values():
        _check_document(doc, "ex01_convolution.ipynb")
        assert len(doc["tests"]) == 1
    whole = json.loads(base64.b64decode(outputs["result"]))
    _check_document(whole, "ex01_convolution.ipynb")
    assert whole["status"] == "fail" and whole["max_score"] == 10
    assert len(whole["tests"]) == len(report["checks"])

    # the console total, computed as v1 computes it, is the true weighted total
    assert v1.console_total == v1.points == report["score"]
    assert v1.console_max == v1.max_points == report["max_score"]
    assert v1.failure == "Some tests failed."
    # every check that did not pass: its reason and hint right under its ❌ line
    for check in report["checks"]:
        doc = v1.documents[
            next(
                r
                for r, d in v1.documents.items()
                if d["tests"][0]["name"].startswith(check["title"])
            )
        ]
        (test,) = doc["tests"]
        assert test["score"] == check["score"] and doc["max_score"] == check["max_score"]
        if check["status"] == "passed":
            assert f"✅ {test['name']}" in v1.text
            continue
        block = v1.text.split(f"❌ {test['name']}\n", 1)[1].split("Total points for", 1)[0]
        assert f"Why: {check['message']}" in block and check["message"], check
        assert (f"Hint: {check['hint']}" in block) == bool(check["hint"]), check
        assert check["hint"] or check["status"] == "not_attempted", check

    # the run's summary page: the table, every check, the total, the graded file
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert len(rows) == len(report["checks"]) + 2
    assert rows[-1] == "| | **Total** | **6.5 / 10** | |"
    assert sum(row.startswith("| ❌") for row in rows) == 3
    assert sum(row.startswith("| ⏸️") for row in rows) == 1
    assert "Graded file: `ex01_convolution.ipynb`" in summary

    # the key: in no output, no report, no log; the probe cell found nothing to leak
    written = (
        [files[n].read_text() for n in files]
        + [log]
        + [p.read_text(errors="replace") for p in (student_repo / "grader-report").iterdir()]
    )
    problems = " ".join(p["evalue"] for p in report["execution"].get("problems", []))
    assert "leaked from the environment" not in problems  # *_KEY never reaches a kernel
    # Where the kernel ran as a user of its own it cannot read the grader's /proc environ;
    # where this machine gave no isolation (the report says so, e.g. a Python installed under
    # /tmp, which the kernel's private /tmp hides) it can, as the README says.
    isolated = not any("not isolated" in n for n in report["execution"].get("notes", []))
    if isolated and sandbox.capabilities().uid_range is not None:
        leaks = [
            text[max(0, text.find(key) - 200) : text.find(key) + 50]
            for text in written
            if key in text
        ]
        assert not leaks, leaks
        assert "leaked from the grader" not in problems
    else:
        assert not any(key in text for text in written[: len(files)]), "key in a step output"


def test_the_grading_step_fails_with_a_clear_message_when_no_result_is_written(
    tmp_path: Path, fresh_venv: Any, grader_wheel: Path, student_repo: Path
) -> None:
    """A wrong key is a configuration error (exit 2, nothing graded): the job says so at the
    grading step instead of the reporter's misleading "runners input" message."""
    python = fresh_venv(tmp_path)
    job = _job()
    output = tmp_path / "github_output"
    output.touch()
    env = clean_env(
        **_job_env(job, {"GRADER_WHEEL": str(grader_wheel)}),
        HOME=str(tmp_path),
        GITHUB_OUTPUT=str(output),
        GITHUB_ENV=str(tmp_path / "env"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        PATH=f"{python.parent}:{clean_env()['PATH']}",
        PIP_NO_INDEX="1",
    )
    from grader.bundle import new_key

    script = _script(job, tmp_path, {"CNN_GRADER_BUNDLE_KEY": new_key()})
    proc = run(["bash", script], cwd=student_repo, env=env, timeout=600, check=False)
    assert proc.returncode == 1
    assert "::error title=No grading result::cnn-grader exited with status 2" in proc.stdout
    assert "not the key it was made with" in proc.stderr
    assert "runners" not in parse_command_file(output.read_text())


def test_the_caches_are_restored_first_and_saved_whatever_the_grade() -> None:
    """actions/cache saves only when the job succeeds: a first push with a failing grade would
    download pip's wheels and the datasets again on every push. The template restores them
    before installing and saves them in a step of its own that runs always, under the same key
    and paths; never the unpacked bundle (any workflow of the repository can restore a cache)."""
    steps = _job()["steps"]
    uses = [str(s.get("uses", "")) for s in steps]
    assert not any(u.startswith("actions/cache@") for u in uses), uses
    assert all(s.get("with", {}).get("cache") is None for s in steps)  # setup-python's own
    restore = uses.index("actions/cache/restore@v4")
    save = uses.index("actions/cache/save@v4")
    names = [s["name"] for s in steps]
    assert restore < names.index("Install the grader") < names.index("Grade the notebook") < save
    assert str(steps[save]["if"]).startswith("always()")
    assert steps[restore]["id"] in str(steps[save]["if"])
    assert steps[save]["with"] == steps[restore]["with"]
    paths = steps[save]["with"]["path"].split()
    assert "~/.cache/pip" in paths and any(p.endswith("/keras") for p in paths)
    assert not any(
        "courses" in p or p.rstrip("/").endswith("CNN_GRADER_CACHE_DIR }}") for p in paths
    )


def test_the_install_step_adds_the_training_extra_only_where_the_exercise_trains(
    tmp_path: Path, fresh_venv: Any, grader_wheel: Path
) -> None:
    """`cnn-grader extras` decides; run here with a pip that only logs what it is asked."""
    python = fresh_venv(tmp_path)
    (step,) = [s for s in _job()["steps"] if s["name"] == "Install the grader"]
    fake = tmp_path / "fakebin"
    fake.mkdir()
    log = tmp_path / "pip.log"
    (fake / "python").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
    (fake / "python").chmod(0o755)
    (fake / "cnn-grader").symlink_to(python.parent / "cnn-grader")
    script = tmp_path / "install.sh"
    script.write_text(step["run"])
    repo = tmp_path / "repo"
    (repo / ".grader").mkdir(parents=True)
    for exercise, extra in (("ex01_convolution", False), ("ex04_dense_baseline", True)):
        log.unlink(missing_ok=True)
        env = clean_env(
            GRADER_WHEEL=str(grader_wheel), EXERCISE=exercise, PATH=f"{fake}:{clean_env()['PATH']}"
        )
        run(["bash", "-e", script], cwd=repo, env=env)
        calls = log.read_text().splitlines()
        assert calls[0] == f"-m pip install {grader_wheel}"
        assert len(calls) == (2 if extra else 1), calls
        if extra:
            assert calls[1] == f"-m pip install cnn-grader[keras] @ {grader_wheel}"
    (repo / ".grader" / "constraints.txt").write_text("numpy==2.0.0\n")
    log.unlink()
    run(["bash", "-e", script], cwd=repo, env=env)
    assert all(
        c.startswith("-m pip install -c .grader/constraints.txt ")
        for c in log.read_text().splitlines()
    )
