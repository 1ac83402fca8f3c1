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
from grader.reporting.term_view import TermMarks
from grader.similarity import SimilarPair

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """
<script>{axe}</script>
<script>
axe.run(document, {{runOnly: {{type: "tag", values: ["wcag2a", "wcag2aa"]}}}}).then(function (r) {{
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify(r.violations.map(function (v) {{
    return {{id: v.id, nodes: v.nodes.map(function (n) {{ return n.target.join(" "); }})}};
  }}));
  document.body.appendChild(out);
}});
</script>
"""
# Each strip plot as laid out: its box, and every dot's centre and title.
MEASURE_STRIPS = """
<script>
var out = document.createElement("pre");
out.id = "test-result";
var strips = document.querySelectorAll("svg.strip");
out.textContent = JSON.stringify(Array.from(strips).map(function (s) {
  var box = s.getBoundingClientRect();
  return {width: box.width, height: box.height, dots: Array.from(s.querySelectorAll("circle")).map(
    function (c) { var b = c.getBoundingClientRect();
      return {x: b.x + b.width / 2 - box.x, y: b.y + b.height / 2 - box.y,
              title: c.querySelector("title").textContent, cls: c.getAttribute("class")}; }),
    marks: s.querySelectorAll("line.mark").length};
}));
document.body.appendChild(out);
</script>
"""


def _in_chromium(html: str, script: str, tmp_path: Path) -> object:
    """What `script` leaves in <pre id="test-result">, as JSON, after headless Chromium has
    laid out `html` and run it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    # the reports' own Content-Security-Policy forbids scripts: the test page drops it
    html = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html)
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", script + "</body>"))
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
    found = re.search(r'<pre id="test-result">(.*?)</pre>', run.stdout, re.S)
    assert found, "the page's script did not finish: " + run.stdout[-500:]
    text = found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(text.replace("&lt;", "<").replace("&gt;", ">"))


def _violations(html: str, tmp_path: Path) -> list[dict[str, object]]:
    if not AXE.is_file():
        pytest.skip("axe-core is not installed (bash .ci/setup puts it in .cache/npm)")
    found = _in_chromium(html, RUN_AXE.format(axe=AXE.read_text()), tmp_path)
    assert isinstance(found, list)
    return found


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
        [*entries, *_trained(6)],
        [SimilarPair("ex01_convolution", "student1", "student2", 0.97)],
        generated_at="today",
        missing=["student9"],
        term=TermMarks(
            {("student3", "ex01_convolution"): "submitted 10.0 h late (1 day): −10%"},
            {("student4", "ex05_mnist_cnn"): ["ex05_mnist_cnn: 7 points by prof (oral exam)"]},
        ),
    )
    assert "Late and set by hand" in html and "oral exam" in html
    assert _violations(html, tmp_path) == []


def _trained(n: int) -> list[ClassEntry]:
    """A training exercise's rows: accuracies from 0.80 to 0.98 against a 0.85 threshold."""
    return [
        ClassEntry(
            f"student{i}",
            "ex05_mnist_cnn",
            "ok",
            5.0,
            5.0,
            (
                CheckEntry(
                    id="test_accuracy",
                    status="passed" if 0.80 + 0.18 * i / (n - 1) >= 0.85 else "failed",
                    score=5.0,
                    max_score=5.0,
                    figures={
                        "accuracy": 0.80 + 0.18 * i / (n - 1),
                        "threshold": 0.85,
                        "reference": 0.88,
                        "target": 0.9,
                    },
                ),
            ),
        )
        for i in range(n)
    ]


@pytest.mark.browser
def test_the_strip_plot_draws_each_student_where_their_accuracy_is(tmp_path: Path) -> None:
    html = render_dashboard(_trained(6), generated_at="today")
    strips = _in_chromium(html, MEASURE_STRIPS, tmp_path)
    assert isinstance(strips, list) and len(strips) == 1
    strip = strips[0]
    assert strip["marks"] == 3 and strip["width"] > 300
    dots = sorted(strip["dots"], key=lambda d: d["x"])
    assert len(dots) == 6
    assert all(0 <= d["x"] <= strip["width"] and 0 <= d["y"] <= strip["height"] for d in dots)
    # left to right in accuracy order, the ones below the threshold drawn as failing
    assert [d["title"].split(": ")[0] for d in dots] == [f"student{i}" for i in range(6)]
    assert [d["cls"] for d in dots] == ["fail"] * 2 + ["pass"] * 4
