"""GitHub Classroom: the documents `classroom-resources/autograding-grading-reporter@v1` reads.

What the reporter does with them (tag v1, commit d13b591; `dist/main.js`, built from `src/`):

- `runners` input: step ids separated by commas. For each, it base64-decodes the environment
  variable `<ID>_RESULTS` (upper-cased) into `{"version": 1, "status", "max_score", "tests"}`
  (src/main.js). Anything failing there is reported as "The runners input must be a
  comma-separated list of strings" when the input does not match `^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$`,
  so ids are letters and digits only.
- Console, per test (src/console-results.js): `✅ name` for "pass", `Error: message` for
  "error", `❌ name` otherwise; then `Test code:` and `test_code` whenever it is not empty.
  A failed test's `message` is never shown.
- Console total per runner (src/helpers/test-helpers.js `getTestScore`): passed tests / tests
  × max_score, whatever the tests' own scores; the summary table adds these up.
- Points recorded (src/notify-classroom.js, the notices GitHub Classroom reads): the sum of
  every test's `score` over the sum of the runners' `max_score`.

Hence, one runner per check: each runner has one test and its check's points as max_score, so
the console's passed/total × max is that check's score, and the console total equals the points
recorded whatever the checks weigh (one runner for all would show 11/14 × 10 = 7.86 where the
checks are worth 7.5). A workflow cannot list an exercise's checks in advance, so `emit` hands
the runner ids over as the step output `runners` and each runner's document as the variable
`<ID>_RESULTS` in $GITHUB_ENV, which later steps (the reporter) get. For a check that did not
pass, the verdict and points are in the test's name and the reason and hint in `test_code`,
the two fields the console prints. "error" is kept for grader bugs, never blamed on the student.

The step output `result` (every check in one document) is kept for other tools; fed to the
reporter as a single runner, its console total is right only when all checks weigh the same.
The Markdown for $GITHUB_STEP_SUMMARY is in `classroom_summary`; the workflow template is
.github/classroom/classroom.yml.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO, TypedDict

from grader.models import CheckResult, CheckStatus, GradeResult
from grader.reporting.classroom_summary import GRADER_ERROR, VERDICT, number, to_markdown

V1Status = Literal["pass", "fail", "error"]

STATUS: dict[CheckStatus, V1Status] = {
    CheckStatus.PASSED: "pass",
    CheckStatus.FAILED: "fail",
    CheckStatus.NOT_ATTEMPTED: "fail",
    CheckStatus.TIMEOUT: "fail",
    CheckStatus.ERROR: "error",
}
_NO_REASON = (CheckStatus.PASSED, CheckStatus.ERROR)
RUNNER_ID = re.compile(r"^[a-zA-Z0-9]+$")  # what the reporter accepts (src/main.js)
_MAX_TEXT = 2000
_RUNNER_CHARS = 18  # the width the reporter's table shows (column of 20, padding 1 + 1)


class V1Test(TypedDict):
    name: str
    status: V1Status
    score: float | int
    message: str
    test_code: str
    filename: str
    line_no: int
    duration: float | int


class V1Document(TypedDict):
    version: int
    status: V1Status
    max_score: float | int
    tests: list[V1Test]


@dataclass(frozen=True)
class Runner:
    """One reporter runner: its id (a step-id-like name) and its document."""

    id: str
    document: V1Document

    @property
    def variable(self) -> str:
        """The environment variable the reporter reads for this runner."""
        return f"{self.id.upper()}_RESULTS"


def to_classroom(results: Sequence[GradeResult]) -> V1Document:
    """Every check in one document (the `result` output)."""
    several = len(results) > 1
    tests = [
        _test(r, c, prefix=f"{r.exercise} · " if several else "") for r in results for c in r.checks
    ]
    return _document(tests, sum(r.max_score for r in results))


def to_runners(results: Sequence[GradeResult]) -> list[Runner]:
    """One runner per check, in the report's order; a grading without checks (a notebook of
    no known exercise) still gets one runner that says why, so the reporter has something."""
    several = len(results) > 1
    runners: list[Runner] = []
    for r in results:
        prefix = f"{r.exercise} · " if several else ""
        for c in r.checks:
            runners.append(
                Runner(
                    _runner_id(len(runners) + 1, c.id),
                    _document([_test(r, c, prefix=prefix)], c.max_score),
                )
            )
        if not r.checks:
            runners.append(
                Runner(
                    _runner_id(len(runners) + 1, "notebook"),
                    _document([_ungraded(r, prefix=prefix)], 0.0),
                )
            )
    return runners


def encode(document: Mapping[str, object]) -> str:
    """Base64 of compact JSON, on one line."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def emit(
    results: Sequence[GradeResult],
    *,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> str:
    """Inside Actions: the outputs `result` and `runners` to $GITHUB_OUTPUT, each runner's
    `<ID>_RESULTS` to $GITHUB_ENV, the Markdown summary to $GITHUB_STEP_SUMMARY (each where
    set). Outside (no $GITHUB_OUTPUT): the base64 of `result` on `stream`. Returns `result`."""
    env = os.environ if env is None else env
    value = encode(to_classroom(results))
    runners = to_runners(results)
    if env.get("GITHUB_OUTPUT"):
        append_command_file(
            Path(env["GITHUB_OUTPUT"]),
            {"result": value, "runners": ",".join(r.id for r in runners)},
        )
    else:
        print(value, file=stream or sys.stdout)
    if env.get("GITHUB_ENV"):
        append_command_file(
            Path(env["GITHUB_ENV"]), {r.variable: encode(r.document) for r in runners}
        )
    if env.get("GITHUB_STEP_SUMMARY"):
        with Path(env["GITHUB_STEP_SUMMARY"]).open("a", encoding="utf-8") as fh:
            fh.write(to_markdown(results))
    return value


def append_command_file(path: Path, values: Mapping[str, str]) -> None:
    """Append `name=value` lines to a GitHub command file ($GITHUB_OUTPUT, $GITHUB_ENV); a value
    with a line break uses the `name<<DELIMITER` form, with a delimiter it cannot contain."""
    lines = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(lines))


def _document(tests: list[V1Test], max_score: float) -> V1Document:
    statuses = {t["status"] for t in tests}
    status: V1Status = (
        "error" if "error" in statuses else "fail" if "fail" in statuses or not tests else "pass"
    )
    return {"version": 1, "status": status, "max_score": number(max_score), "tests": tests}


def _test(result: GradeResult, check: CheckResult, *, prefix: str) -> V1Test:
    call = check.call or check.id
    if check.status is CheckStatus.ERROR:  # v1 prints `message` (only) for errors
        message = GRADER_ERROR
    else:
        message = reason_and_hint(check)
    return {
        "name": f"{prefix}{check.title or check.id} — {VERDICT[check.status]}, "
        f"{points_of(check.score, check.max_score)}",
        "status": STATUS[check.status],
        "score": number(check.score),
        "message": _clip(message),
        "test_code": _clip(
            call if check.status in _NO_REASON else f"{call}\n{why(check)}{run_problems(result)}"
        ),
        "filename": result.notebook,
        "line_no": 0,
        "duration": number(check.duration_s),
    }


def _ungraded(result: GradeResult, *, prefix: str) -> V1Test:
    reason = result.execution.message or "the notebook could not be graded"
    return {
        "name": f"{prefix}{result.notebook} — not graded",
        "status": "fail",
        "score": 0,
        "message": _clip(reason),
        "test_code": _clip(f"Why: {reason}"),
        "filename": result.notebook,
        "line_no": 0,
        "duration": 0,
    }


def run_problems(result: GradeResult, *, limit: int = 3) -> str:
    """`\nNotebook run: …` lines for a run that did not go cleanly (a cell that raised, a
    timeout, a dead kernel), which a failed check may come from; "" for a clean run."""
    ex = result.execution
    lines = [
        f"cell {p.cell}: {p.kind} {p.ename}: {p.evalue}".rstrip(": ") for p in ex.problems[:limit]
    ]
    if len(ex.problems) > limit:
        lines.append(f"… and {len(ex.problems) - limit} more")
    if ex.status.value != "ok" and ex.message:
        lines.insert(0, f"{ex.status.value}: {ex.message}")
    return "".join(f"\nNotebook run: {line}" for line in lines)


def reason_and_hint(check: CheckResult) -> str:
    """The check's message with its hint (for a check that did not pass)."""
    message = check.message
    if check.hint and check.status is not CheckStatus.PASSED:
        message = f"{message}\nHint: {check.hint}" if message else f"Hint: {check.hint}"
    return message


def why(check: CheckResult) -> str:
    """`Why: …` and `Hint: …` lines for a check that did not pass."""
    text = f"Why: {check.message or VERDICT[check.status]}"
    return f"{text}\nHint: {check.hint}" if check.hint else text


def points_of(score: float, max_score: float) -> str:
    m = number(max_score)
    return f"{number(score)}/{m} {'pt' if m == 1 else 'pts'}"


def _runner_id(n: int, check_id: str) -> str:
    """`c01zeropad…`: unique by its number, readable by the check id's letters and digits."""
    return f"c{n:02d}{re.sub(r'[^a-zA-Z0-9]', '', check_id).lower()}"[:_RUNNER_CHARS]


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + " …"
