"""Renderers of the result tree: the student's HTML page and the contract's JSON file.

Result objects never render themselves; each format lives in its own module and reads the
same `GradeResult`, so the page a student reads and the file a tool parses cannot disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.models import GradeResult
from grader.reporting.json_report import to_json

__all__ = ["render_html", "to_json", "write_reports"]


def __getattr__(name: str) -> Any:
    """`render_html` on first use: jinja2 and the page's template stay unloaded for what only
    needs the JSON (a batch's gradebook, a worker's answer)."""
    if name == "render_html":
        from grader.reporting.html_report import render_html

        return render_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


VIEWS = ("student", "instructor")


def write_reports(
    result: GradeResult, out_dir: str | Path, stem: str, *, view: str = "student"
) -> dict[str, Path]:
    """Write `<stem>.json` and `<stem>.html` side by side, as CONTRACT.md §2 promises.

    `view`: "student" (the default: what a student may receive, without the instructor's
    findings) or "instructor" (everything). Both documents are rendered before either file is
    written, so a rendering bug never leaves a JSON file without its HTML twin (or the reverse).
    """
    from grader.reporting.html_report import render_html

    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    if view == "student":
        result = result.student_view()
    out = Path(out_dir)
    documents = {"json": to_json(result), "html": render_html(result)}
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, text in documents.items():
        path = out / f"{stem}.{kind}"
        path.write_text(text, encoding="utf-8")
        paths[kind] = path
    return paths
