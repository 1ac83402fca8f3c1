"""Where a grading's time goes: named spans, recorded only when asked for.

    with timing.span("checks"):
        ...
    timing.mark("cli")  # an instant: where the grader's own code starts running

Off (the default) a span costs one global lookup and a shared null context manager. On, each
span is one record as it ends: `{"pid", "name", "start", "end", "grading"}`, times in seconds
since the epoch (comparable across processes: a batch's workers, the benchmark that started
the command), `grading` the label of the grading it belongs to (`grading()`), or null for the
process's own work (its start, its imports, the command line).

Two ways to turn it on:

- `CNN_GRADER_TIMING=FILE` in the environment (read when this module is first imported, so a
  batch's workers inherit it): every record is appended to FILE as one JSON line, by whichever
  process makes it. benchmarks/grading_breakdown.py reads that file.
- `with timing.collect() as records:` in a process: the records of the block, in a list (tests).

The span names a grading records, in order (grader.cli, grader.api, grader.pipeline,
grader.execution, grader.batch.worker):

    cli.parse      the command line parsed (the parser built: every command's options)
    imports        the grading's modules imported (grader.api: pipeline, checks, execution)
    worker.imports a batch worker's imports, while the parent plans
    course         the course found (solutions, exercises)
    open           the notebook read and validated
    calibration    the exercise's calibration resolved (a cache lookup for a NumPy exercise)
    prepare        limits, the notebook prepared, the probe planned, the integrity scan
    sandbox        the workspace: scratch folders, the submission copied, the sandbox set up
    kernel.claim   a batch worker's pre-warmed kernel claimed (waiting for it to be ready)
    kernel.start   the kernel started (or connected to, when pre-warmed) and answering
    notebook       the student's cells
    probe.inputs   the hidden inputs written (probe I/O, grader side)
    probe.calls    the probe's cells: the graded calls, which write the evidence
    kernel.stop    the kernel killed and reaped
    reference      the reference's answers (in a thread, beside the kernel)
    sandbox.close  the sandbox closed, nothing of the kernel left running
    evidence       the evidence read back (probe I/O, grader side)
    checks         every check judged
    result         the result assembled (versions read)
    cleanup        the scratch folders removed
    reports        the JSON and HTML reports rendered and written
    terminal       `check`'s summary printed
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

ENV = "CNN_GRADER_TIMING"

Record = dict[str, Any]

_NULL: AbstractContextManager[None] = nullcontext()
_lock = threading.Lock()
_sinks: list[Callable[[Record], None]] = []
_grading: str | None = None  # the label of the grading under way in this process


def _append_to(path: str) -> Callable[[Record], None]:
    def write(record: Record) -> None:
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write of one line with O_APPEND: workers do not interleave
        finally:
            os.close(fd)

    return write


if os.environ.get(ENV):
    _sinks.append(_append_to(os.environ[ENV]))


def enabled() -> bool:
    return bool(_sinks)


def _emit(name: str, start: float, end: float) -> None:
    record: Record = {
        "pid": os.getpid(),
        "name": name,
        "start": start,
        "end": end,
        "grading": _grading,
    }
    with _lock:
        for sink in list(_sinks):
            try:
                sink(record)
            except OSError:  # timing never fails a grading
                pass


class _Span:
    __slots__ = ("name", "start")

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = 0.0

    def __enter__(self) -> None:
        self.start = time.time()

    def __exit__(self, *exc: object) -> None:
        _emit(self.name, self.start, time.time())


def span(name: str) -> AbstractContextManager[None]:
    """Time the block as `name` (nothing at all when timing is off)."""
    if not _sinks:
        return _NULL
    return _Span(name)


def mark(name: str) -> None:
    """An instant: a record whose start and end are now."""
    if _sinks:
        now = time.time()
        _emit(name, now, now)


@contextmanager
def grading(label: str) -> Iterator[None]:
    """The spans of the block belong to the grading `label` (in any thread of this process:
    one grading at a time per process). Nested, the outer label stays."""
    global _grading
    if not _sinks or _grading is not None:
        yield
        return
    _grading = label
    try:
        yield
    finally:
        _grading = None


@contextmanager
def collect() -> Iterator[list[Record]]:
    """The records made in this process during the block, in the order they ended."""
    records: list[Record] = []
    with _lock:
        _sinks.append(records.append)
    try:
        yield records
    finally:
        with _lock:
            _sinks.remove(records.append)
