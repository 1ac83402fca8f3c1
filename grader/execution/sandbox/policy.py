"""What a grading's kernel may see: the sandbox's policy, as grader.execution.sandbox (the
mechanism: uid, namespaces, cgroup, mounts) is told it.

Hidden from the kernel: the course folder (the reference solutions), the folder of the bundle
it came from, the submission's own folder (where the other students' files usually are), and
every folder where a dataset's test split may be. Kept visible inside those: what the
exercise hands the kernel through its environment (a Keras home with the training data), and
the targets of the links in it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.errors import ConfigurationError
from grader.execution.sandbox import Sandbox
from grader.models import Limits


def _keep_paths(env: Mapping[str, str]) -> list[Path]:
    """Paths the exercise hands the kernel (a Keras home with datasets), and the targets of the
    links in them: they stay visible even inside a hidden folder such as /root."""
    out: list[Path] = []
    for value in env.values():
        if not os.path.isabs(value) or not os.path.exists(value):
            continue
        out.append(Path(os.path.realpath(value)))
        if os.path.isdir(value):
            for dirpath, dirnames, filenames in os.walk(value):
                for name in [*dirnames, *filenames]:
                    full = os.path.join(dirpath, name)
                    if os.path.islink(full) and os.path.exists(full):
                        out.append(Path(os.path.realpath(full)))
                if len(out) > 200:
                    break
    return out


def _may_hide(folder: Path) -> bool:
    """A folder holding a bundle is hidden unless the kernel needs what else is in it (the
    root, a home, the Python installation)."""
    folder = folder.resolve()
    needed = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, Path.home())]
    return folder != Path("/") and not any(n == folder or folder in n.parents for n in needed)


def for_grading(
    root: Path,
    workdir: Path,
    limits: Limits,
    *,
    submission: Path,
    env: Mapping[str, str],
    hide: Sequence[Path] = (),
) -> Sandbox:
    """The sandbox of one grading: hides the course folder and the submissions' folders
    (`submission_folders`: where the other students' files are)."""
    hide = list(submission_folders(submission, hide))
    try:
        from grader.course import current

        course = current()
        hide[:0] = [course.root]
        if course.kind == "bundle" and _may_hide(course.source.parent):
            hide.insert(1, course.source.parent)  # the bundle file itself (--hide takes folders)
    except ConfigurationError:
        pass
    # Where the datasets' test splits are: kernels get half of each in their own Keras home and
    # are judged on the other half (grader.datasets); the training files linked from these
    # folders stay visible (`keep`), the rest of them is hidden.
    hide += [f for f in dataset_folders() if _may_hide(f)]
    return Sandbox(root, workdir, limits, hide=hide, keep=_keep_paths(env))


def submission_folders(submission: Path, hide: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The folders of a class's submissions a kernel must not see: each of `hide` that exists
    here (a batch's: the folder it was given, every student's files under it), and the
    submission's own folder unless it lies inside one of them."""
    own = Path(submission).resolve().parent
    roots = [Path(h).resolve() for h in hide if Path(h).is_dir()]
    inside = any(own == r or own.is_relative_to(r) for r in roots)
    return (*roots, *(() if inside else (own,)))


def dataset_folders() -> list[Path]:
    """Every folder where a dataset's test split may be: each place `grader.datasets` looks,
    that holds a file of a test split's name. A superset of `sources.source_folders()`
    (which verifies each file's sha256 first: 0.3-0.9 s of gunzipping per process, most of a
    NumPy grading's sandbox set-up); hiding a folder the grader would not have used takes
    nothing the kernel needs, since the training files linked from it stay visible."""
    from grader.datasets import registry, sources

    own = registry.kernel_home().resolve()
    out: list[Path] = []
    for dataset in registry.DATASETS.values():
        for file in dataset.files:
            if file.role not in ("archive", "test_images", "test_labels"):
                continue
            for path in sources.possible_paths(dataset, file):
                if not path.is_file():
                    continue
                real = path.resolve().parent
                if (
                    real != own
                    and own not in real.parents
                    and real not in own.parents
                    and real not in out
                ):
                    out.append(real)
    return out
