"""Submissions for the batch tests, made from the course's own notebooks (ex01–ex03 only: no
TensorFlow, a grading takes about a second).

`ALT_EX01` is a second, independent solution of ex01 (np.pad, tensordot, a helper), and
`renamed(ALT_EX01)` the same code with every local renamed, comments added and the layout
changed: the pair similarity must flag, next to the official solution it must not.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.course import exercises_dir, solutions_dir

ALT_EX01 = {
    "zero_pad": """
def zero_pad(x, pad):
    x = np.asarray(x)
    p = (pad, pad) if isinstance(pad, (int, np.integer)) else tuple(int(v) for v in pad)
    widths = [(p[0], p[0]), (p[1], p[1])] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, widths, mode="constant")
""",
    "conv2d": """
def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    if padding not in ("valid", "same"):
        raise ValueError("padding must be 'valid' or 'same'")
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    flat = x.ndim == 2
    if flat:
        x = x[:, :, None]
        kernel = kernel[:, :, None, None]
    sh, sw = _pair(stride)
    kh, kw = kernel.shape[:2]
    H, W = x.shape[:2]
    if padding == "same":
        oh, ow = -(-H // sh), -(-W // sw)
        th = max((oh - 1) * sh + kh - H, 0)
        tw = max((ow - 1) * sw + kw - W, 0)
        x = np.pad(x, ((th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)))
    else:
        oh, ow = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((oh, ow, kernel.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[i, j, :] = np.tensordot(patch, kernel, axes=([0, 1, 2], [0, 1, 2]))
    if bias is not None:
        out = out + np.asarray(bias, dtype=float)
    return out[:, :, 0] if flat else out
""",
    "sobel_edges": """
def sobel_edges(image):
    k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    gx = conv2d(image, k, padding="same")
    gy = conv2d(image, k.T, padding="same")
    return np.hypot(gx, gy)
""",
}

_RENAMES = {
    "p": "pp",
    "widths": "pad_widths",
    "v": "val",
    "flat": "is_gray",
    "sh": "step_r",
    "sw": "step_c",
    "kh": "k_rows",
    "kw": "k_cols",
    "H": "n_rows",
    "W": "n_cols",
    "oh": "out_rows",
    "ow": "out_cols",
    "th": "need_r",
    "tw": "need_c",
    "out": "result",
    "i": "r",
    "j": "c",
    "patch": "window",
    "k": "sob",
    "gx": "grad_x",
    "gy": "grad_y",
    "_pair": "_two",
}


def renamed(code: Mapping[str, str]) -> dict[str, str]:
    """The same solution with other local names, comments and a different layout."""
    out = {}
    for name, src in code.items():
        for old, new in _RENAMES.items():
            src = re.sub(rf"(?<![\w.]){re.escape(old)}\b", new, src)
        src = src.replace("):\n", "):  # my own work, honestly\n")
        src = src.replace(", ", ",  ").replace("\n\n\n", "\n\n")
        out[name] = "# written late at night\n" + src
    return out


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def starter(exercise: str) -> dict[str, Any]:
    return load(exercises_dir() / f"{exercise}.ipynb")


def solution(exercise: str) -> dict[str, Any]:
    return load(solutions_dir() / f"{exercise}.ipynb")


def with_functions(nb: dict[str, Any], code: Mapping[str, str]) -> dict[str, Any]:
    """`nb` with the cells that define each named function replaced by `code[name]`."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        for name, new in code.items():
            if re.search(rf"^def {name}\(", src, re.M):
                cell["source"] = new.strip() + "\n"
    return nb


def appended(nb: dict[str, Any], *sources: str) -> dict[str, Any]:
    for s in sources:
        nb["cells"].append(
            {
                "cell_type": "code",
                "metadata": {},
                "source": s,
                "outputs": [],
                "execution_count": None,
            }
        )
    return nb


def write(path: Path, nb: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")
    return path


def zip_of(path: Path, members: Mapping[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


INFINITE_LOOP = "while True:\n    pass\n"
KILL_KERNEL = "import os\nos._exit(1)\n"


def fake_grade(task: Any) -> tuple[str, str]:
    """A worker handler for the pool's tests, which behaves as the task's student is named;
    it logs when it ran to `task.report_dir/<student>.json`."""
    start = time.time()
    if task.student == "crash" or (task.student == "crash_once" and task.attempt == 1):
        os._exit(9)
    if task.student == "hang":
        time.sleep(120)
    if task.student == "raise":
        raise RuntimeError("grader bug")
    time.sleep(0.4)
    record = {
        "student": task.student,
        "pid": os.getpid(),
        "attempt": task.attempt,
        "start": start,
        "end": time.time(),
        "training": task.training,
    }
    Path(task.report_dir, f"{task.student}.json").write_text(json.dumps(record))
    return "ok", json.dumps(record)


def gradebook_rows(out: Path) -> dict[str, dict[str, Any]]:
    """The gradebook's rows by student, as far as a batch (maybe still running) wrote them."""
    if not (out / "gradebook.sqlite").exists():
        return {}
    db = sqlite3.connect(out / "gradebook.sqlite", timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return {r["student"]: dict(r) for r in db.execute("SELECT * FROM submissions")}
    except sqlite3.OperationalError:  # the table is not created yet
        return {}
    finally:
        db.close()


def commit(repo: Path, notebook: dict[str, Any], name: str, when: str) -> None:
    """`notebook` committed as `name` in the git repository `repo` (made when new) at `when`,
    by git's own dates: a student's repository as GitHub Classroom's clone gives it."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "student",
        "GIT_AUTHOR_EMAIL": "student@uni.edu",
        "GIT_COMMITTER_NAME": "student",
        "GIT_COMMITTER_EMAIL": "student@uni.edu",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    write(repo / name, notebook)
    for cmd in (["git", "add", "."], ["git", "commit", "-qm", "submit"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
