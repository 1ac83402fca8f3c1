"""Handlers that Dask workers run in place of a grading (importable by name there: the local
cluster's worker processes are spawned with this process's sys.path). Each behaves as its
task's student is named and answers with when it ran."""

from __future__ import annotations

import json
import os
import time

from grader.batch.remote import Job, Reply


def behave(job: Job) -> Reply:
    task = job.task
    start = time.time()
    if task.student == "crash" or (task.student == "crash_once" and task.attempt == 1):
        time.sleep(0.3)  # the task before it on this worker has reported its end
        os._exit(9)
    if task.student == "hang":
        time.sleep(120)
    if task.student == "raise":
        raise RuntimeError("grader bug")
    time.sleep(1.0 if task.training else 0.5)
    record = {
        "student": task.student,
        "pid": os.getpid(),
        "attempt": task.attempt,
        "start": start,
        "end": time.time(),
        "training": task.training,
        "omp": os.environ.get("OMP_NUM_THREADS"),
    }
    return Reply("ok", json.dumps(record), html="<p>fake</p>")
