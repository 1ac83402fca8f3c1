"""The reports pass axe-core's WCAG 2 A and AA rules in a real browser (headless Chromium):
the student report (with a wide model table and a traceback, which scroll), and the class
dashboard. axe-core comes from npm into .cache/npm (bash .ci/setup); without Chromium or it,
the test is skipped, saying so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.models import GradeResult
from grader.reporting import write_reports
from grader.reporting.csv_report import CheckEntry, ClassEntry
from grader.reporting.dashboard import render_dashboard
from grader.similarity import SimilarPair

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """
<script>{axe}</script>
<script>
axe.run(document, {{runOnly: {{type: "tag", values: ["wcag2a", "wcag2aa"]}}}}).then(function (r) {{
  var out = document.createElement("pre");
  out.id = "axe-result";
  out.textContent = JSON.stringify(r.violations.map(function (v) {{
    return {{id: v.id, nodes: v.nodes.map(function (n) {{ return n.target.join(" "); }})}};
  }}));
  document.body.appendChild(out);
}});
</script>
"""


def _violations(html: str, tmp_path: Path) -> list[dict[str, object]]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    if not AXE.is_file():
        pytest.skip("axe-core is not installed (bash .ci/setup puts it in .cache/npm)")
    # the reports' own Content-Security-Policy forbids scripts: the test page drops it to run axe
    html = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html)
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", RUN_AXE.format(axe=AXE.read_text()) + "</body>"))
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=800,900",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="axe-result">(.*?)</pre>', run.stdout, re.S)
    assert found, "axe did not finish: " + run.stdout[-500:]
    text = found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    text = text.replace("&lt;", "<").replace("&gt;", ">")
    return list(json.loads(text))


@pytest.mark.browser
def test_the_student_report_has_no_wcag_violation(
    make_result: Callable[..., GradeResult], tmp_path: Path
) -> None:
    result = make_result()
    wide = [
        [
            "#",
            "expected layer",
            "expected output",
            "expected params",
            "your layer",
            "your output",
            "your params",
        ]
    ] + [
        [
            str(i),
            f"Conv2D({64 * i}, (3, 3), relu, padding='same')",
            f"(28, 28, {64 * i})",
            f"{36_928 * i:,}",
            {"text": f"Conv2D({32 * i}, (5, 5), relu)", "status": "bad"},
            {"text": f"(24, 24, {32 * i})", "status": "bad"},
            {"text": "0", "status": "bad"},
        ]
        for i in range(1, 9)
    ]
    result.checks[0].details["table"] = wide
    html_path = write_reports(result, tmp_path / "out", "sample")["html"]
    assert _violations(html_path.read_text(), tmp_path) == []


@pytest.mark.browser
def test_the_dashboard_has_no_wcag_violation(tmp_path: Path) -> None:
    checks = tuple(
        CheckEntry(
            id=f"c{i}",
            status=s,
            score=1.0 if s == "passed" else 0.0,
            max_score=1.0,
            title=f"check {i}",
            message="" if s == "passed" else "expected 3, got 4",
        )
        for i, s in enumerate(("passed", "failed", "passed"))
    )
    entries = [
        ClassEntry(
            f"student{n}",
            "ex01_convolution",
            "ok",
            2.0 if n % 2 else 1.0,
            3.0,
            checks,
            report=f"students/student{n}/ex01_convolution.html",
        )
        for n in range(6)
    ]
    html = render_dashboard(
        entries,
        [SimilarPair("ex01_convolution", "student1", "student2", 0.97)],
        generated_at="today",
    )
    assert _violations(html, tmp_path) == []
