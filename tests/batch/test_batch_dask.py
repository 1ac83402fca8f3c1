"""`cnn-grader batch --executor dask`: the grades of the local executor, wherever Dask runs
them, and nothing lost or repeated when the machinery fails.

- the same gradebook as `--executor local` on a class covering every execution status, on
  a LocalCluster and on an external `dask scheduler` + `dask worker` (subprocesses);
- a Dask worker killed mid-grading: its kernel goes with it, the submission is graded once;
- the driver killed mid-run: nothing keeps running, and the same command grades the rest;
- a fake `GPU=1` resource with `--gpu-share 0.5`: at most two trainings at once (Dask's own
  resource accounting; the handler is a fake that sleeps);
- fake handlers that crash, hang or raise: one result per task, each retried once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from argparse import Namespace
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from batch_fixtures import (  # noqa: E402
    INFINITE_LOOP,
    KILL_KERNEL,
    appended,
    gradebook_rows,
    solution,
    starter,
    write,
)
from dask_fakes import behave  # noqa: E402

from grader.batch import executor_for  # noqa: E402
from grader.batch.dask_executor import DaskExecutor  # noqa: E402
from grader.batch.pool import Finished  # noqa: E402
from grader.batch.worker import Task  # noqa: E402
from grader.errors import ConfigurationError  # noqa: E402

BIN = Path(sys.executable).parent
CLI = str(BIN / "cnn-grader")
BUNDLED = Path(__file__).resolve().parents[2] / "submissions"
OPTS = ["--seed", "5", "--cell-timeout", "4", "--timeout", "40"]
FAST = ("alice_ex01_convolution", "carol_ex02_pooling", "dan_ex03_parameters")


def _class(root: Path) -> Path:
    """Bundled NumPy submissions and one of each accident: every status the gradebook knows."""
    subs = root / "subs"
    subs.mkdir(parents=True)
    for name in (*FAST, "bob_ex01_convolution"):
        shutil.copy(BUNDLED / f"{name}.ipynb", subs / f"{name}.ipynb")
    write(subs / "fay_ex02.ipynb", starter("ex02_pooling"))
    write(subs / "gus_ex01.ipynb", appended(solution("ex01_convolution"), INFINITE_LOOP))
    write(subs / "hal_ex03.ipynb", appended(solution("ex03_parameters"), KILL_KERNEL))
    write(subs / "ivy_ex02.ipynb", "{ this is not json")
    return subs


def batch(
    subs: Path, out: Path, *extra: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "batch", str(subs), "--out", str(out), *OPTS, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def verdicts(out: Path) -> dict[tuple[str, str], Any]:
    """Per student and exercise: status, score, and each check's id, status and score."""
    found = {}
    for r in gradebook_rows(out).values():
        checks = json.loads(r["result"])["checks"] if r["result"] else []
        found[(r["student"], r["exercise"])] = (
            r["status"],
            r["score"],
            [(c["id"], c["status"], c["score"]) for c in checks],
        )
    return found


def test_same_gradebook_as_the_local_executor_on_a_local_cluster_and_an_external_scheduler(
    tmp_path: Path,
) -> None:
    """One test, so that the local executor's run (the reference) is made once."""
    subs = _class(tmp_path)
    local = tmp_path / "local"
    proc = batch(subs, local, "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = verdicts(local)
    statuses = {v[0] for v in expected.values()}
    assert {"ok", "timeout", "kernel_died", "invalid_notebook"} <= statuses, statuses

    out = tmp_path / "dask"
    proc = batch(subs, out, "--workers", "2", "--executor", "dask")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert verdicts(out) == expected
    assert (out / "grades.csv").read_text() == (local / "grades.csv").read_text()
    for r in gradebook_rows(out).values():  # reports written here, from the workers' results
        if r["report"]:
            page = out / r["report"]
            assert page.is_file() and "<html" in page.read_text(encoding="utf-8").lower()
            assert json.loads(page.with_suffix(".json").read_text()) == json.loads(r["result"])
    assert not list(out.rglob(".partial-*"))

    with _external_cluster(tmp_path) as address:
        out = tmp_path / "external"
        proc = batch(subs, out, "--executor", "dask", "--scheduler", address)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "on 2 worker(s)" in proc.stderr  # the external worker's two threads
        assert verdicts(out) == expected


@contextlib.contextmanager
def _external_cluster(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and `dask worker --nthreads 2`, as an instructor would start them."""
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "2",
                    "--no-dashboard",
                    "--memory-limit",
                    "0",
                    "--local-directory",
                    str(tmp_path / "worker"),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _kernels(root: int) -> list[Any]:
    try:
        found = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return []
    out = []
    for p in found:
        try:
            if any("ipykernel" in part for part in p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _gone(proc: Any, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _cgroups_of(pid: int) -> list[Path]:
    """The kernel's own groups (the sandbox's cnn-grader-<pid>-… folders), if any."""
    found = []
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return []
    mounts: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, post_fields = pre.split(), post.split()
        if len(post_fields) >= 3 and post_fields[0] in ("cgroup", "cgroup2"):
            for opt in post_fields[2].split(",") if post_fields[0] == "cgroup" else [""]:
                mounts.setdefault(opt, Path(fields[4]))
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cnn-grader-" not in path:
            continue
        for c in controllers.split(",") if controllers else [""]:
            if c in mounts:
                found.append(mounts[c] / path.lstrip("/"))
    return found


def test_a_worker_killed_mid_grading_takes_its_kernel_and_the_task_is_graded_once(
    tmp_path: Path,
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in FAST:
        shutil.copy(BUNDLED / f"{name}.ipynb", subs / f"{name}.ipynb")
    write(subs / "gus_ex01.ipynb", appended(solution("ex01_convolution"), INFINITE_LOOP))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [CLI, "batch", str(subs), "--out", str(out), *OPTS, "--workers", "2", "--executor", "dask"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernel = None
    deadline = time.monotonic() + 120
    while kernel is None and time.monotonic() < deadline and proc.poll() is None:
        for k in _kernels(proc.pid):
            try:
                if time.time() - k.create_time() > 0.5:
                    kernel = k
                    break
            except psutil.Error:
                pass
        time.sleep(0.1)
    assert kernel is not None, "no kernel seen"
    groups = _cgroups_of(kernel.pid)
    worker = kernel.parent()
    assert worker is not None and worker.pid != proc.pid
    worker.send_signal(signal.SIGKILL)
    assert _gone(kernel, 10), "the dead worker's kernel is still running"
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr[-3000:]
    found = gradebook_rows(out)
    assert set(found) == {"alice", "carol", "dan", "gus"}
    assert all(r["executions"] == 1 for r in found.values()), "exactly one result each"
    assert all(r["status"] != "grader_failure" for r in found.values()), stderr[-3000:]
    assert sorted(r["attempts"] for r in found.values())[-1] == 2, "the killed one ran again"
    for group in groups:
        assert not group.exists(), f"{group} outlived its worker"


def test_driver_killed_mid_run_leaves_nothing_running_and_resumes(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in FAST:
        shutil.copy(BUNDLED / f"{name}.ipynb", subs / f"{name}.ipynb")
    write(subs / "fay_ex02.ipynb", starter("ex02_pooling"))
    out = tmp_path / "out"
    cmd = [
        CLI,
        "batch",
        str(subs),
        "--out",
        str(out),
        *OPTS,
        "--workers",
        "1",
        "--executor",
        "dask",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not gradebook_rows(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    below = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = gradebook_rows(out)
    assert 1 <= len(before) < 4, "killed after the first commit, before the last"
    assert below and all(_gone(p, 20) for p in below), "a worker or kernel outlived the driver"

    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(before)} unchanged since the last run" in resumed.stderr
    assert f"{4 - len(before)} graded, {len(before)} unchanged" in resumed.stdout
    after = gradebook_rows(out)
    for student, row in before.items():  # committed before the kill: not run again
        assert after[student]["executions"] == 1
        assert after[student]["graded_at"] == row["graded_at"]
    assert set(after) == {"alice", "carol", "dan", "fay"}
    assert all(r["status"] == "ok" for r in after.values())


def _task(key: int, student: str, path: Path, training: bool = False) -> Task:
    return Task(
        key=key,
        student=student,
        exercise="ex01_convolution",
        path=str(path),
        seed=0,
        profile="smoke",
        cell_timeout=None,
        notebook_timeout=None,
        report_dir=str(path.parent / "reports" / student),
        report_stem="x",
        training=training,
    )


def _run(
    executor: DaskExecutor, tasks: list[Task], *, deadline: float = 60
) -> tuple[dict[str, list[Finished]], list[str]]:
    done: dict[str, list[Finished]] = {}
    retried: list[str] = []
    executor.run(
        tasks,
        deadline_s=lambda t: deadline,
        on_finish=lambda f: done.setdefault(f.task.student, []).append(f),
        on_retry=lambda t, why: retried.append(t.student),
    )
    return done, retried


def test_gpu_share_lets_two_trainings_share_one_gpu(tmp_path: Path) -> None:
    from distributed import LocalCluster

    make_cluster: Any = LocalCluster
    nb = write(tmp_path / "nb.ipynb", "{}")
    tasks = [_task(i, f"t{i}", nb, training=True) for i in range(6)]
    tasks += [_task(10 + i, f"n{i}", nb) for i in range(2)]
    with make_cluster(
        n_workers=1,
        threads_per_worker=4,
        resources={"GPU": 1},
        processes=True,
        memory_limit=0,
        dashboard_address=":0",
    ) as cluster:
        executor = DaskExecutor(
            address=cluster.scheduler_address, gpu_share=0.5, handler=behave, note=lambda s: None
        ).connect()
        done, _ = _run(executor, tasks)
    assert sorted(done) == sorted(t.student for t in tasks)
    runs = [json.loads(f[0].payload) for f in done.values()]

    def most_at_once(spans: list[dict[str, Any]]) -> int:
        edges = sorted([(r["start"], 1) for r in spans] + [(r["end"], -1) for r in spans])
        now = peak = 0
        for _, step in edges:
            now += step
            peak = max(peak, now)
        return peak

    assert most_at_once([r for r in runs if r["training"]]) == 2, "GPU=1 at 0.5 a training"
    assert most_at_once(runs) >= 3, "NumPy tasks ask for no GPU"
    cpus = len(os.sched_getaffinity(0))
    assert {r["omp"] for r in runs} == {str(max(1, cpus // 4))}, "the kernels' thread share"
    assert (tmp_path / "reports" / "t0" / "x.html").read_text() == "<p>fake</p>"


def test_workers_that_crash_hang_or_raise_fail_only_their_task_once_retried(tmp_path: Path) -> None:
    nb = write(tmp_path / "nb.ipynb", "{}")
    names = ["ok1", "crash", "crash_once", "raise", "hang", "ok2"]
    executor = DaskExecutor(workers=2, handler=behave, note=lambda s: None)
    t0 = time.monotonic()
    done, retried = _run(executor, [_task(i, n, nb) for i, n in enumerate(names)], deadline=3)
    assert time.monotonic() - t0 < 100
    assert {n: [f.kind for f in fs] for n, fs in done.items()} == {
        "ok1": ["ok"],
        "crash": ["failed"],
        "crash_once": ["ok"],
        "raise": ["failed"],
        "hang": ["failed"],
        "ok2": ["ok"],
    }, "one result each"
    # (a task on a worker that another one's crash took down may be tried again as well)
    assert {"crash", "crash_once", "hang", "raise"} <= set(retried)
    for name in ("crash", "crash_once", "raise", "hang"):
        assert done[name][0].task.attempt == 2, name
    assert "longer than 3 s" in done["hang"][0].payload
    assert "died" in done["crash"][0].payload
    assert "grader bug" in done["raise"][0].payload


def test_the_command_line_builds_the_executor() -> None:
    def args(**kw: Any) -> Namespace:
        base = {
            "executor": "local",
            "scheduler": None,
            "scheduler_file": None,
            "workers": None,
            "gpu_share": 1.0,
            "training_workers": None,
            "require_sandbox": False,
        }
        return Namespace(**{**base, **kw})

    assert executor_for(args()) is None
    made = executor_for(args(executor="dask", workers=3, gpu_share=0.25))
    assert isinstance(made, DaskExecutor)
    assert (made.workers, made.gpu_share, made.address) == (3, 0.25, None)
    with pytest.raises(ConfigurationError, match="need --executor dask"):
        executor_for(args(scheduler="tcp://127.0.0.1:1"))
    with pytest.raises(ConfigurationError, match="gpu-share"):
        executor_for(args(executor="dask", gpu_share=1.5))
    with pytest.raises(ConfigurationError, match="cannot reach"):
        DaskExecutor(address="tcp://127.0.0.1:9", connect_timeout=2).connect()
