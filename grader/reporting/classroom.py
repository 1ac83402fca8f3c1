"""GitHub Classroom: the `result` step output that autograding-grading-reporter reads.

The reporter action takes, for every runner id listed in its `runners` input, the environment
variable `<RUNNER ID>_RESULTS` (upper-cased) holding base64 of this JSON document:

    {"version": 1, "status": "pass" | "fail" | "error", "max_score": N,
     "tests": [{"name", "status": "pass" | "fail" | "error", "score", "message",
                "test_code", "filename", "line_no", "duration"}]}

One test per check, so a student sees every check and its points on the Actions page. A wrong
or missing answer is "fail"; "error" is kept for grader bugs, never blamed on the student.
The workflow template is .github/classroom/classroom.yml.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from grader.models import CheckResult, CheckStatus, GradeResult

STATUS = {
    CheckStatus.PASSED: "pass",
    CheckStatus.FAILED: "fail",
    CheckStatus.NOT_ATTEMPTED: "fail",
    CheckStatus.TIMEOUT: "fail",
    CheckStatus.ERROR: "error",
}
_MAX_MESSAGE = 2000


def to_classroom(results: Sequence[GradeResult]) -> dict[str, Any]:
    """The reporter's document for one grading (or several notebooks of one repository)."""
    several = len(results) > 1
    tests = [_test(r, c, prefix=f"{r.exercise} · " if several else "")
             for r in results for c in r.checks]
    statuses = {t["status"] for t in tests}
    status = "error" if "error" in statuses else "fail" if "fail" in statuses or not tests else "pass"
    return {"version": 1, "status": status,
            "max_score": _number(sum(r.max_score for r in results)), "tests": tests}


def encode(document: Mapping[str, Any]) -> str:
    """Base64 of compact JSON, on one line (a step output is one `name=value` line)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def emit(results: Sequence[GradeResult], *, env: Mapping[str, str] | None = None,
         stream: TextIO | None = None) -> str:
    """Append `result=<base64>` to $GITHUB_OUTPUT when it is set (inside Actions), else print
    the base64 value; returns the value either way."""
    env = os.environ if env is None else env
    value = encode(to_classroom(results))
    target = env.get("GITHUB_OUTPUT")
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(f"result={value}\n")
    else:
        print(value, file=stream or sys.stdout)
    return value


def _test(result: GradeResult, check: CheckResult, *, prefix: str) -> dict[str, Any]:
    message = check.message
    if check.hint and check.status is not CheckStatus.PASSED:
        message = f"{message}\nHint: {check.hint}" if message else f"Hint: {check.hint}"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + " …"
    return {
        "name": f"{prefix}{check.title or check.id} ({_points(check.max_score)})",
        "status": STATUS[check.status],
        "score": _number(check.score),
        "message": message,
        "test_code": check.call or check.id,
        "filename": result.notebook,
        "line_no": 0,
        "duration": _number(check.duration_s),
    }


def _number(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def _points(value: float) -> str:
    n = _number(value)
    return f"{n} pt" if n == 1 else f"{n} pts"
