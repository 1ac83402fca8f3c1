"""The student's page: says what happened in plain words, escapes everything, needs no network."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.models import CellProblem, CheckResult, CheckStatus, ExecutionStatus, GradeResult
from grader.reporting import render_html, write_reports
from grader.reporting.html_report import format_duration, format_points

HOSTILE_MESSAGE = "expected 3, got <script>alert(1)</script>"
HOSTILE_TRACEBACK = 'Traceback (most recent call last):\n  </pre><img src=x onerror="alert(2)">'
STATUS_TEXT = {
    "passed": "Passed",
    "failed": "Failed",
    "not_attempted": "Not attempted",
    "error": "Grader error",
    "timeout": "Timed out",
}
RESOURCE_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background"}


class _Page(HTMLParser):
    """Collects the elements, attributes and visible text the browser would build."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.classes: dict[str, list[str]] = {}
        self.style = ""
        self._chunks: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id" and value:
                self.ids.add(value)
            if name == "class" and value:
                self.classes.setdefault(tag, []).extend(value.split())

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self._chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._chunks).split())


def page(result: GradeResult) -> _Page:
    return _Page(render_html(result))


def hostile_result(make_result: Callable[..., GradeResult]) -> GradeResult:
    """Student-controlled text in every field that can reach the page."""
    evil = '"><script>alert(3)</script>'
    result = make_result(title=f"Convolution {evil}", notebook=f"x{evil}.ipynb", notes=[evil])
    result.execution.message = evil
    result.execution.notes = [evil]
    result.execution.problems = [
        CellProblem(
            cell_index=0,
            kind="error",
            ename=f"Err{evil}",
            evalue=evil,
            traceback=HOSTILE_TRACEBACK,
            source_head=f"print('{evil}')",
        )
    ]
    first = result.checks[1]
    first.message = HOSTILE_MESSAGE
    first.hint = evil
    first.call = evil
    first.title = evil
    first.group = evil
    first.details = {
        "table": [["h", evil], ["1", {"text": evil, "status": "bad"}]],
        "threshold_text": evil,
    }
    return result


def test_hostile_text_is_escaped_never_markup(make_result: Callable[..., GradeResult]) -> None:
    html = render_html(hostile_result(make_result))
    parsed = _Page(html)

    for tag in ("script", "img", "iframe", "object", "embed", "svg"):
        assert tag not in parsed.tags
    assert not any(name.startswith("on") for _, name, _ in parsed.attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/pre&gt;&lt;img src=x onerror=" in html
    assert "<script>alert(1)</script>" in parsed.text, "shown to the student as text"
    assert '</pre><img src=x onerror="alert(2)">' in parsed.text


def test_no_external_resources(make_result: Callable[..., GradeResult]) -> None:
    parsed = page(hostile_result(make_result))

    for tag, name, value in parsed.attrs:
        if name in RESOURCE_ATTRS:
            assert value.startswith("#"), f"<{tag} {name}={value!r}> points outside the page"
    assert not {"link", "script", "img", "iframe", "object", "embed", "base"} & set(parsed.tags)
    assert "url(" not in parsed.style and "@import" not in parsed.style
    assert "http" not in parsed.style


def test_every_check_id_and_title_appears(make_result: Callable[..., GradeResult]) -> None:
    result = make_result()
    parsed = page(result)
    for check in result.checks:
        assert check.id in parsed.text
        assert f"check-{check.id}" in parsed.ids
        assert check.title in parsed.text


def test_status_text_is_shown_not_only_colour(make_result: Callable[..., GradeResult]) -> None:
    parsed = page(make_result())
    for label in STATUS_TEXT.values():
        assert label in parsed.text
    for status in STATUS_TEXT:
        assert f"s-{status}" in parsed.classes["span"], "each status has its own style"


def test_total_score_progress_and_counts(
    make_result: Callable[..., GradeResult], make_check: Callable[..., CheckResult]
) -> None:
    checks = [make_check(f"c{i}", CheckStatus.PASSED) for i in range(7)]
    checks += [make_check(f"f{i}", CheckStatus.FAILED, group="g") for i in range(3)]
    html = render_html(make_result(checks=checks))
    parsed = _Page(html)

    assert "7 / 10" in parsed.text
    assert "7 passed" in parsed.text and "3 failed" in parsed.text
    assert "0 not attempted" not in parsed.text and "0 grader error" not in parsed.text
    assert 'aria-valuenow="7"' in html and "width: 70.0%" in html


def test_points_are_written_as_people_write_them() -> None:
    assert [format_points(x) for x in (7.0, 0.5, 2.25, 10, 0.1 + 0.2, -0.0)] == [
        "7",
        "0.5",
        "2.25",
        "10",
        "0.3",
        "0",
    ]
    assert format_duration(3.21) == "3.2 s"
    assert format_duration(125) == "2 min 05 s"


def test_header_shows_seed_profile_version_and_time(
    make_result: Callable[..., GradeResult],
) -> None:
    text = page(make_result()).text
    assert "ex01_convolution" in text and "Convolution from scratch" in text
    assert "seed 12345 — rerun with --seed 12345 to reproduce" in text
    assert "default" in text
    assert "version 0.1.0" in text and "2025-03-14 09:26 UTC" in text


def test_cell_problem_is_numbered_for_humans(make_result: Callable[..., GradeResult]) -> None:
    html = render_html(make_result())
    parsed = _Page(html)
    assert "Cell 4 raised an error" in parsed.text
    assert "ValueError: operands could not be broadcast" in parsed.text
    assert "out = x * kernel" in parsed.text
    assert "details" in parsed.tags and "Traceback (most recent call last)" in parsed.text
    assert "24 of 24" in parsed.text and "Kernel restarts: 0" in parsed.text
    assert "printed a lot of output" in parsed.text


def test_traceback_colour_codes_are_stripped(make_result: Callable[..., GradeResult]) -> None:
    result = make_result()
    result.execution.problems[0].traceback = "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"
    text = page(result).text
    assert "ZeroDivisionError: division by zero" in text and "\x1b" not in text


def test_long_cell_source_shows_only_its_first_lines(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result()
    result.execution.problems[0].source_head = "\n".join(f"line_{i} = {i}" for i in range(20))
    text = page(result).text
    assert "line_0 = 0" in text and "line_5 = 5" in text and "line_6" not in text


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (ExecutionStatus.OK, "ran from top to bottom"),
        (ExecutionStatus.TIMEOUT, "longer than the time limit"),
        (ExecutionStatus.KERNEL_DIED, "stopped unexpectedly"),
        (ExecutionStatus.INVALID_NOTEBOOK, "could not be opened as a Jupyter notebook"),
    ],
)
def test_execution_status_is_explained_in_plain_words(
    make_result: Callable[..., GradeResult], status: ExecutionStatus, words: str
) -> None:
    result = make_result()
    result.execution.status = status
    assert words in page(result).text


def test_invalid_notebook_without_checks_still_renders(
    make_result: Callable[..., GradeResult],
) -> None:
    result = make_result(checks=[], notes=[])
    result.execution.status = ExecutionStatus.INVALID_NOTEBOOK
    result.execution.problems = []
    result.execution.cells_total = 0
    result.execution.message = "File is not valid JSON (line 1)."
    text = page(result).text
    assert "0 / 0" in text and "No checks were run" in text
    assert "File is not valid JSON (line 1)." in text
    assert "Notes" not in text


def test_grader_errors_are_not_blamed_on_the_student(
    make_result: Callable[..., GradeResult],
) -> None:
    text = page(make_result()).text
    assert "This is a problem with the grader, not with your work" in text
    assert "report it to your instructor" in text


def test_not_attempted_says_the_stub_is_still_there(
    make_result: Callable[..., GradeResult],
) -> None:
    text = page(make_result()).text
    assert "build_cnn still raises NotImplementedError or is missing" in text


def test_hints_only_for_failed_and_timed_out_checks(
    make_result: Callable[..., GradeResult], make_check: Callable[..., CheckResult]
) -> None:
    checks = [
        make_check(f"c_{s.value}", s, hint=f"hint for {s.value}", group="f") for s in CheckStatus
    ]
    text = page(make_result(checks=checks)).text
    assert "Hint: hint for failed" in text and "Hint: hint for timeout" in text
    for status in ("passed", "not_attempted", "error"):
        assert f"hint for {status}" not in text


def test_checks_are_grouped_by_student_function(make_result: Callable[..., GradeResult]) -> None:
    text = page(make_result()).text
    assert text.index("conv2d 2 / 6") < text.index("build_cnn 0.5 / 4.5")
    assert text.index("Multi-channel input") < text.index("build_cnn 0.5 / 4.5")


def test_architecture_table_marks_differing_cells(make_result: Callable[..., GradeResult]) -> None:
    html = render_html(make_result())
    parsed = _Page(html)
    assert parsed.tags.count("th") >= 5 and "table" in parsed.tags
    assert parsed.classes["td"].count("cell-bad") == 4
    assert "differs: Conv2D(32, 3, relu)" in parsed.text, "not colour alone"
    assert "Threshold: needs test accuracy ≥ 0.88" in parsed.text


@pytest.mark.parametrize("table", ["not a table", [], [["h"], "row"], {"rows": []}, None])
def test_malformed_table_is_ignored(
    make_result: Callable[..., GradeResult], make_check: Callable[..., CheckResult], table: object
) -> None:
    check = make_check("x", CheckStatus.FAILED, message="wrong", details={"table": table})
    parsed = page(make_result(checks=[check]))
    assert "table" not in parsed.tags and "wrong" in parsed.text


def test_result_notes_are_shown(make_result: Callable[..., GradeResult]) -> None:
    text = page(make_result()).text
    assert "Notes" in text and "training checks use a reduced budget" in text


def test_integrity_findings_are_shown_escaped(make_result: Callable[..., GradeResult]) -> None:
    finding = "cell 3 imports grader <script>alert(1)</script>"
    parsed = page(make_result(integrity=[finding]))
    assert "For your instructor to look at" in parsed.text
    assert "cell 3 imports grader" in parsed.text and "script" not in parsed.tags
    assert "For your instructor to look at" not in page(make_result(integrity=[])).text


def test_page_has_print_styles(make_result: Callable[..., GradeResult]) -> None:
    assert "@media print" in page(make_result()).style


def _chromium() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


@pytest.mark.browser
def test_report_renders_in_a_real_browser(
    make_result: Callable[..., GradeResult], tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed")
    result = make_result()
    html_path = write_reports(result, tmp_path / "out", "sample")["html"]
    profile = tmp_path / "profile"
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            html_path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = _Page(run.stdout)
    assert "2.5 / 10.5" in dom.text
    for check in result.checks:
        assert check.title in dom.text
