"""The container's limits, read as cgroup v2 and v1 lay them out, against what an exercise
needs: too little memory is the instructor's error before any kernel, never a failed check."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.execution import resources
from grader.execution.resources import ResourcesTooSmall, container, fit, parse_size
from grader.models import Limits

MiB = 2**20


def _proc(tmp_path: Path, cgroup: str, mem_total_kib: int = 64 * 2**20) -> tuple[Path, Path]:
    proc_root = tmp_path / "proc"
    (proc_root / "self").mkdir(parents=True)
    (proc_root / "self" / "cgroup").write_text(cgroup)
    (proc_root / "meminfo").write_text(f"MemTotal:       {mem_total_kib} kB\nMemFree: 1 kB\n")
    return proc_root / "self", proc_root


def test_cgroup_v2_limits_are_the_tightest_from_the_group_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    root = tmp_path / "cgroup"
    group = root / "autograder" / "job"
    group.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "autograder" / "memory.max").write_text(f"{768 * MiB}\n")
    (group / "memory.max").write_text("max\n")
    (group / "cpu.max").write_text("50000 100000\n")
    (root / "autograder" / "cpu.max").write_text("max 100000\n")
    proc, proc_root = _proc(tmp_path, "0::/autograder/job\n")
    found = container(root, proc, proc_root)
    assert found.memory_bytes == 768 * MiB and found.cpus == 0.5
    assert found.source == "cgroup v2"
    assert found.describe() == "768 MiB (cgroup v2), 0.5 CPU"


def test_cgroup_v1_limits_and_no_limit_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    root = tmp_path / "cgroup"
    (root / "memory" / "docker" / "abc").mkdir(parents=True)
    (root / "cpu,cpuacct" / "docker" / "abc").mkdir(parents=True)
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # none
    (root / "memory" / "docker" / "abc" / "memory.limit_in_bytes").write_text(f"{2048 * MiB}\n")
    (root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us").write_text("150000\n")
    (root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_period_us").write_text("100000\n")
    proc, proc_root = _proc(tmp_path, "12:memory:/docker/abc\n5:cpu,cpuacct:/docker/abc\n")
    found = container(root, proc, proc_root)
    assert (found.memory_bytes, found.cpus, found.source) == (2048 * MiB, 1.5, "cgroup v1")
    # no cgroup limit: the machine's memory bounds it
    (root / "memory" / "docker" / "abc" / "memory.limit_in_bytes").write_text(
        "9223372036854771712\n"
    )
    (root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us").write_text("-1\n")
    found = container(root, proc, proc_root)
    assert found.memory_bytes == 64 * 2**30 and found.source == "the machine's memory"
    assert found.cpus is None
    # a limit the platform states and the grader cannot read
    monkeypatch.setenv(resources.MEMORY_ENV, "768M")
    found = container(root, proc, proc_root)
    assert (found.memory_bytes, found.source) == (768 * MiB, resources.MEMORY_ENV)


@pytest.mark.parametrize(
    "text, value",
    [("768M", 768 * MiB), ("1.5G", 1536 * MiB), ("805306368", 805306368), ("2GiB", 2 * 2**30)],
)
def test_sizes_are_read_as_people_write_them(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_a_bad_size_is_a_configuration_error() -> None:
    with pytest.raises(resources.ConfigurationError, match="768M or 2G"):
        parse_size("lots")


def test_an_exercise_that_does_not_fit_is_the_instructors_error_saying_how_much() -> None:
    small = resources.Resources(768 * MiB, 0.5, "cgroup v2")
    with pytest.raises(ResourcesTooSmall) as caught:
        fit(
            Limits(), small, exercise="ex04_dense_baseline", reference_peak=605 * MiB, training=True
        )
    text = str(caught.value)
    assert "ex04_dense_baseline needs about 1.33 GiB" in text
    assert "this container allows 768 MiB (cgroup v2)" in text
    assert "Raise its memory limit to at least 1.5 GiB" in text


def test_the_kernel_cap_follows_the_container() -> None:
    box = resources.Resources(2 * 2**30, None, "cgroup v2")
    limits, notes = fit(
        Limits(memory_bytes=6 * 2**30),
        box,
        exercise="ex01_convolution",
        reference_peak=None,
        training=False,
    )
    assert limits.memory_bytes == 2 * 2**30 - resources.GRADER_SHARE_NUMPY
    assert notes and "kernel memory capped at" in notes[0]
    roomy = resources.Resources(64 * 2**30, None, "the machine's memory")
    assert fit(
        Limits(), roomy, exercise="ex04_dense_baseline", reference_peak=605 * MiB, training=True
    ) == (Limits(), [])
    unknown = resources.Resources(None, None, "no cgroup limit")
    assert fit(
        Limits(), unknown, exercise="ex04_dense_baseline", reference_peak=605 * MiB, training=True
    ) == (Limits(), [])
