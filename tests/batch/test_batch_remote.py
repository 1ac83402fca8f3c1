"""A worker of a cluster grades as the batch's machine does, or refuses (no Dask needed here):
the course travels (a bundle's bytes, or a course folder checked by content), another grader
or another course is refused, the kernels' threads are set deliberately, and a notebook
graded from its bytes alone gives its documents back."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from batch_fixtures import solution, write

from grader import bundle
from grader.batch.remote import (
    KERNEL_THREADS_ENV,
    THREAD_VARS,
    Job,
    driver_spec,
    grade_job,
    prepare_worker,
)
from grader.batch.worker import Task
from grader.course import COURSE_ENV, current

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def restored_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """prepare_worker sets this process's environment, as it does in a worker: undone after."""
    for var in (*THREAD_VARS, COURSE_ENV, KERNEL_THREADS_ENV):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))


def _job(
    spec_course_identity: str,
    *,
    fingerprint: str,
    path: str = "/nowhere/x.ipynb",
    notebook: bytes = b"{}",
) -> Job:
    task = Task(
        key=0,
        student="amy",
        exercise="ex03_parameters",
        path=path,
        seed=3,
        profile="smoke",
        cell_timeout=None,
        notebook_timeout=None,
        report_dir="/nowhere",
        report_stem="ex03_parameters",
    )
    from grader.version import __version__

    return Job(task, notebook, Path(path).name, __version__, fingerprint, spec_course_identity)


def test_a_bundle_travels_as_bytes_and_the_worker_grades_with_that_course(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = bundle.build(REPO, tmp_path / "driver" / "course.bundle", exercises=["ex03_parameters"])
    monkeypatch.setenv(COURSE_ENV, str(made))
    spec = driver_spec()
    assert spec.course.kind == "bundle" and spec.course.data == made.read_bytes()
    monkeypatch.setenv(COURSE_ENV, str(REPO))  # the worker's own setting, overridden
    state = prepare_worker(spec, scratch=tmp_path / "worker", nthreads=1)
    assert state.problems == [] and state.ok
    assert Path(os.environ[COURSE_ENV]).parent == tmp_path / "worker" / "cnn-grader-course"
    assert current().kind == "bundle" and current().identity == spec.course.identity
    assert state.refusal(_job(spec.course.identity, fingerprint=spec.fingerprint)) == ""
    assert "another course" in state.refusal(_job("other", fingerprint=spec.fingerprint))


def test_another_grader_is_refused(tmp_path: Path) -> None:
    spec = replace(driver_spec(), fingerprint="not-this-one")
    state = prepare_worker(spec, scratch=tmp_path, nthreads=1)
    assert not state.ok and "install the same grader" in state.problems[0]
    job = _job(spec.course.identity, fingerprint="not-this-one")
    assert "install the same grader" in state.refusal(job)


def test_a_course_folder_with_other_solutions_is_refused(tmp_path: Path) -> None:
    spec = driver_spec()  # this repository, a course folder
    assert spec.course.kind == "course" and spec.course.path == str(REPO)
    other = tmp_path / "course"
    write(other / "solutions" / "ex03_parameters.ipynb", solution("ex03_parameters"))
    moved = replace(spec, course=replace(spec.course, path=str(other)))
    state = prepare_worker(moved, scratch=tmp_path, nthreads=1)
    assert any("other solutions" in p for p in state.problems)
    missing = replace(spec, course=replace(spec.course, path=str(tmp_path / "none")))
    state = prepare_worker(missing, scratch=tmp_path, nthreads=1)
    assert any("shares" in p for p in state.problems)


def test_kernel_threads_are_set_deliberately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpus = len(os.sched_getaffinity(0))
    state = prepare_worker(driver_spec(), scratch=tmp_path, nthreads=1)
    assert state.kernel_threads == cpus
    assert all(os.environ[v] == str(cpus) for v in THREAD_VARS)
    assert (
        prepare_worker(driver_spec(kernel_threads=1), scratch=tmp_path, nthreads=1).kernel_threads
        == 1
    )
    monkeypatch.setenv(KERNEL_THREADS_ENV, "3")
    prepare_worker(driver_spec(kernel_threads=1), scratch=tmp_path, nthreads=1)
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_a_notebook_graded_from_its_bytes_alone(tmp_path: Path) -> None:
    nb = write(tmp_path / "amy_ex03.ipynb", solution("ex03_parameters"))
    spec = driver_spec()
    job = _job(
        spec.course.identity,
        fingerprint=spec.fingerprint,
        path=str(tmp_path / "gone" / "amy_ex03.ipynb"),
        notebook=nb.read_bytes(),
    )
    reply = grade_job(job)
    assert reply.kind == "ok", reply.payload
    doc = json.loads(reply.payload)
    assert doc["score"] == doc["max_score"] > 0 and doc["notebook"] == "amy_ex03.ipynb"
    assert "<html" in reply.html.lower()


def test_without_dask_the_executor_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from grader.batch.dask_executor import require_dask
    from grader.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(ConfigurationError, match=r"cnn-grader\[cluster\]"):
        require_dask()
