"""cnn-grader: grade notebooks of a course on convolutional neural networks.

Public surface: `grade`, `Options`, `GradeResult`, `write_reports`. Everything else is private
to the package and may change.
"""

from __future__ import annotations

from grader.version import __version__  # noqa: E402

from grader.api import Options, grade  # noqa: E402
from grader.models import GradeResult  # noqa: E402


def write_reports(result: GradeResult, out_dir, stem: str):  # type: ignore[no-untyped-def]
    """Write `<stem>.json` and `<stem>.html` under `out_dir`; returns their paths."""
    from grader.reporting import write_reports as _write

    return _write(result, out_dir, stem)


__all__ = ["GradeResult", "Options", "__version__", "grade", "write_reports"]
