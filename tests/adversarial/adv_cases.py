"""The adversarial notebooks, built in code, each with the statuses it must get.

A case is a submission (cells, or raw bytes for files that are not notebooks) and its expected
outcome: the execution status, the status of each check (by check id or by the function it
calls, "*" for all others), and optionally the exception name of the first cell problem and
text that must appear in the notes or the integrity findings.

The notebooks start from the course's own solutions (ex01–ex03: NumPy only, a grading takes a
second or two) and add the hostile part. Limits are small so that a memory bomb is stopped at
1 GiB, not at the 6 GiB default: the suite stays fast on 2 cores, and the same cases run with
the default limits under `pytest -m slow`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import helpers
import nbformat

from grader.models import Limits

ADV_LIMITS = Limits(
    cell_timeout=20,
    probe_timeout=3,
    notebook_timeout=120,
    startup_timeout=60,
    memory_bytes=2**30,
    max_processes=64,
    disk_bytes=200 * 2**20,
)

EX1, EX2, EX3 = "ex01_convolution", "ex02_pooling", "ex03_parameters"
DEFS = {ex: helpers.solution_definitions(ex) for ex in (EX1, EX2, EX3)}

MEMORY_BOMB = (
    "import numpy as np\n"
    "hoard = []\n"
    "for _ in range(300):  # 30 GB, 100 MB at a time\n"
    "    hoard.append(np.ones(100 * 2**20 // 8))\n"
)
FORK_BOMB = (
    "import os, time\n"
    "for _ in range(10000):\n"
    "    if os.fork() == 0:\n"
    "        with open('/proc/self/comm', 'w') as fh:\n"
    "            fh.write('advforkbomb')  # the test finds leftovers by this name\n"
    "        time.sleep(120)\n"
    "        os._exit(0)\n"
)
DISK_FILLER = (
    "chunk = b'x' * (100 * 2**20)\n"
    "for i in range(50):  # 5 GB\n"
    "    with open(f'fill{i}.bin', 'wb') as fh:\n"
    "        fh.write(chunk)\n"
)
ORPHAN = (
    "import subprocess\n"
    "subprocess.Popen(['sleep', '987'], start_new_session=True)  # outlives the kernel?\n"
)
PATCH_NUMPY = (
    "np.allclose = lambda *a, **k: True\n"
    "np.array_equal = lambda *a, **k: True\n"
    "np.testing.assert_allclose = lambda *a, **k: None\n"
)
ZEROS_EX2 = (
    "def max_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
    "    return np.zeros((1, 1))\n"
    "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
    "    return np.zeros((1, 1))\n"
    "def global_avg_pool(x):\n"
    "    return np.zeros(1)\n"
)
IMPORT_GRADER = (
    "try:\n"
    "    import grader, grader.models\n"
    "    grader.models.points_for = lambda status, max_points: float(max_points)\n"
    "    print('patched the grader in this kernel')\n"
    "except Exception as exc:\n"
    "    print('no grader here:', exc)\n"
)


@dataclass(frozen=True)
class Case:
    name: str
    exercise: str
    cells: Sequence[str] = ()
    execution: str = "ok"
    checks: Mapping[str, str] = field(default_factory=lambda: {"*": "passed"})
    raw: bytes | None = None  # the file's bytes, for files that are not notebooks
    problem: str | None = None  # ename of the first cell problem
    note: str | None = None  # text expected in execution.notes
    integrity: str | None = None  # text expected in the integrity findings
    kind: str | None = None  # the notebook's kernelspec name
    markdown: Mapping[int, str] = field(default_factory=dict)  # cell index -> markdown source
    limits: Limits = ADV_LIMITS

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.ipynb"
        if self.raw is not None:
            path.write_bytes(self.raw)
            return path
        nb = helpers.build_notebook(self.cells, self.exercise)
        for index, text in sorted(self.markdown.items()):
            nb.cells.insert(index, nbformat.v4.new_markdown_cell(text))
        if self.kind is not None:
            nb.metadata["kernelspec"] = {
                "name": self.kind,
                "display_name": self.kind,
                "language": "python",
            }
        return helpers.write_notebook(folder, path.name, nb)


def nbformat3(cells: Sequence[str]) -> bytes:
    """An nbformat 3 notebook (worksheets, `input`), as IPython 2 saved them."""
    doc = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": ""},
        "worksheets": [
            {
                "metadata": {},
                "cells": [
                    {
                        "cell_type": "code",
                        "collapsed": False,
                        "input": src,
                        "language": "python",
                        "metadata": {},
                        "outputs": [],
                    }
                    for src in cells
                ],
            }
        ],
    }
    return json.dumps(doc).encode()


def _solution_cells(exercise: str) -> list[str]:
    nb = helpers.solution_notebook(exercise)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _cell_defining(exercise: str, name: str) -> str:
    return next(s for s in _solution_cells(exercise) if f"def {name}(" in s)


AVG_DEF = _cell_defining(EX2, "avg_pool2d")
MAX_DEF = _cell_defining(EX2, "max_pool2d")
GAP_DEF = _cell_defining(EX2, "global_avg_pool")
STARTER_EX2 = [
    c.source
    for c in nbformat.read(helpers.starter_path(EX2), as_version=4).cells
    if c.cell_type == "code"
]

CASES: list[Case] = [
    # -- resources ---------------------------------------------------------------------
    Case(
        "memory_bomb",
        EX2,
        [DEFS[EX2], MEMORY_BOMB],
        execution="kernel_died",
        problem="MemoryLimit",
        note="more than 1 GiB of memory",
    ),
    Case(
        "fork_bomb",
        EX2,
        [DEFS[EX2], FORK_BOMB],
        execution="kernel_died",
        problem="ProcessLimit",
        note="more than 64 processes",
    ),
    Case(
        "disk_filler",
        EX2,
        [DEFS[EX2], DISK_FILLER],
        execution="kernel_died",
        problem="DiskLimit",
        note="more than 200 MiB of files",
    ),
    Case(
        "endless_loop_in_function",
        EX2,
        [DEFS[EX2], "def global_avg_pool(x):\n    while True:\n        pass\n"],
        checks={"global_avg_pool": "timeout", "*": "passed"},
    ),
    Case(
        "memory_bomb_in_function",
        EX1,
        [
            DEFS[EX1],
            "_real_conv2d = conv2d\n"
            "def conv2d(x, kernel, bias=None, stride=1, padding='valid'):\n"
            "    if stride == 2 and padding == 'same':\n"
            "        hoard = [np.ones(100 * 2**20 // 8) for _ in range(300)]\n"
            "    return _real_conv2d(x, kernel, bias, stride, padding)\n",
        ],
        checks={"conv2d_same_stride2": "failed", "*": "passed"},
        note="the notebook used more than 1 GiB of memory",
        limits=replace(ADV_LIMITS, probe_timeout=30),
    ),  # filling 1 GiB takes seconds
    Case(
        # The watchdog, not the kernel, stops this one (over the disk cap, found as its cell
        # ends): the other calls still count, as they would have had each run alone.
        "disk_filler_in_function",
        EX2,
        [
            DEFS[EX2],
            "_real_global = global_avg_pool\n"
            "def global_avg_pool(x):\n"
            "    for i in range(3):\n"
            "        with open(f'fill{i}.bin', 'wb') as fh:\n"
            "            fh.write(b'x' * (100 * 2**20))\n"
            "    return _real_global(x)\n",
        ],
        checks={"global_avg_pool": "failed", "*": "passed"},
        note="more than 200 MiB of files",
    ),
    Case(
        "os_exit_in_probed_function",
        EX2,
        [
            DEFS[EX2],
            "def avg_pool2d(x, pool_size=2, stride=None, padding='valid'):\n"
            "    import os\n    os._exit(3)\n",
        ],
        checks={"avg_pool2d": "failed", "*": "passed"},
    ),
    Case(
        "hundred_mb_output",
        EX2,
        [DEFS[EX2], "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)\n"],
    ),
    Case("orphan_process", EX3, [DEFS[EX3], ORPHAN]),
    Case(
        "stderr_flood",
        EX3,
        [
            DEFS[EX3],
            "import os\nfor _ in range(50):  # 500 MB\n    os.write(2, b'x' * 10 * 2**20)\n",
        ],
        execution="kernel_died",
        problem="DiskLimit",
    ),
    # a kernel that can no longer run code (ipykernel fails every request after this)
    Case(
        "stderr_replaced",
        EX3,
        [DEFS[EX3], "import sys\nsys.stderr = None"],
        execution="timeout",
        checks={"*": "failed"},
    ),
    # -- reaching for the grader -------------------------------------------------------
    Case(
        "import_grader",
        EX2,
        [*STARTER_EX2, IMPORT_GRADER],
        checks={"*": "not_attempted"},
        integrity="imports the grader",
    ),
    Case(
        "patched_numpy",
        EX2,
        [DEFS[EX2], ZEROS_EX2, PATCH_NUMPY],
        checks={"*": "failed"},
        integrity="replaces `np.allclose`",
    ),
    Case(
        "overridden_predict",
        EX3,
        [
            DEFS[EX3],
            "import keras\nkeras.Model.predict = lambda self, x, **kw: np.zeros((len(x), 10))\n",
        ],
        integrity="replaces `keras.Model.predict`",
    ),
    # -- files that are not (good) notebooks -------------------------------------------
    Case(
        "malformed_json",
        EX2,
        raw=b'{"nbformat": 4, "cells": [',
        execution="invalid_notebook",
        checks={"*": "not_attempted"},
    ),
    Case("empty_file", EX2, raw=b"", execution="invalid_notebook", checks={"*": "not_attempted"}),
    Case(
        "not_json_at_all",
        EX2,
        raw=b"def max_pool2d(x):\n    return x\n",
        execution="invalid_notebook",
        checks={"*": "not_attempted"},
    ),
    Case("nbformat3", EX2, raw=nbformat3([DEFS[EX2]]), note="nbformat 3"),
    Case("unknown_kernelspec", EX3, [DEFS[EX3]], kind="julia-1.9", note="'julia-1.9'"),
    # -- structure -----------------------------------------------------------------------
    Case(
        "deleted_cells",
        EX2,
        ["import numpy as np", MAX_DEF],
        checks={"max_pool2d": "passed", "*": "not_attempted"},
    ),
    Case(
        "reordered_cells",
        EX2,
        ["import numpy as np", "demo = max_pool2d(np.ones((4, 4)))", MAX_DEF, AVG_DEF, GAP_DEF],
        problem="NameError",
        note="cell 2 uses max_pool2d before it is defined (cell 3)",
    ),
    Case("duplicated_cells", EX2, [DEFS[EX2], DEFS[EX2]], note="hold the same code"),
    Case(
        "cell_changed_to_markdown",
        EX2,
        ["import numpy as np", MAX_DEF, GAP_DEF],
        markdown={2: AVG_DEF},
        checks={"avg_pool2d": "not_attempted", "*": "passed"},
        note="is a markdown cell but holds the definition of avg_pool2d",
    ),
    Case(
        "defined_twice_wrong_last",
        EX2,
        [DEFS[EX2], ZEROS_EX2.split("def avg_pool2d")[0]],
        checks={"max_pool2d": "failed", "*": "passed"},
        note="the function max_pool2d is defined 2 times",
    ),
    Case(
        "shell_escapes_and_magics",
        EX2,
        [
            "!pip install tensorflow-addons-that-does-not-exist",
            "%time x = 1",
            "!echo hello from the shell",
            DEFS[EX2],
            "%%timeit -n1 -r1\ny = 2",
        ],
        note="installs packages (!pip install",
    ),
    Case(
        "probe_folder_link_planted",
        EX2,
        [DEFS[EX2], "import os\nos.symlink('/etc', '.cnn_grader_probe')\n"],
        integrity="refers to the grader's probe",
    ),
]


def by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def expected_status(case: Case, check_id: str, group: str) -> str:
    return case.checks.get(check_id) or case.checks.get(group) or case.checks["*"]
