"""What GitHub Actions and `classroom-resources/autograding-grading-reporter@v1` do with the
grader's outputs, redone in Python so tests can check what a student would see.

The reporter's arithmetic and printing follow its source at tag v1 (commit d13b591):
src/main.js (runners input, `<ID>_RESULTS`, the validation message), src/console-results.js
(what is printed per test), src/helpers/test-helpers.js `getTestScore` (passed / tests ×
max_score per runner), src/aggregate-results.js (the table's total: the sum of those) and
src/notify-classroom.js (the points recorded: the sum of the tests' scores).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RUNNERS_PATTERN = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")
BAD_RUNNERS = "The runners input must be a comma-separated list of strings."


@dataclass
class V1Run:
    console: list[str] = field(default_factory=list)
    console_total: float = 0.0  # the "Total:" row of the reporter's table
    console_max: float = 0.0
    points: float = 0.0  # what GitHub Classroom records ("Points X/Y" notice)
    max_points: float = 0.0
    failure: str | None = None  # core.setFailed(...)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.console)


def run_reporter(runners_input: str, env: Mapping[str, str]) -> V1Run:
    out = V1Run()
    try:
        for runner in runners_input.split(","):
            encoded = env[f"{runner.strip().upper()}_RESULTS"]  # JS: Buffer.from(undefined) throws
            out.documents[runner] = json.loads(base64.b64decode(encoded).decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - the reporter's catch-all
        out.failure = BAD_RUNNERS if not RUNNERS_PATTERN.match(runners_input) else str(exc)
        return out
    for runner, results in out.documents.items():
        out.console.append(f"🔄 Processing: {runner}")
        for test in results["tests"]:
            line = f" - line {test['line_no']}" if test["line_no"] != 0 else ""
            if test["status"] == "pass":
                out.console.append(f"✅ {test['name']}{line}")
            elif test["status"] == "error":
                out.console.append(f"Error: {test['message'] or repr(test['name'])}")
            else:
                out.console.append(f"❌ {test['name']}{line}")
            if test["test_code"]:
                out.console.append(f"Test code:\n{test['test_code']}\n")
        score = runner_score(results)
        if (results.get("max_score") or 0) != 0:
            maximum = _js(results["max_score"])
            out.console.append(f"Total points for {runner}: {score:.2f}/{maximum}")
        out.console_total += score
        out.console_max += results.get("max_score") or 0
        if results.get("max_score"):
            out.max_points += results["max_score"]
            out.points += sum(t["score"] for t in results["tests"])
    statuses = {d["status"] for d in out.documents.values()}
    out.failure = (
        "Some tests failed."
        if "fail" in statuses
        else "Some tests errored."
        if "error" in statuses
        else None
    )
    return out


def runner_score(results: Mapping[str, Any]) -> float:
    """getTestScore: passed tests / tests × max_score (NaN for no tests, as in JavaScript)."""
    tests = results["tests"]
    passed = sum(1 for t in tests if t["status"] == "pass")
    return passed / len(tests) * (results.get("max_score") or 0) if tests else math.nan


def parse_command_file(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT / $GITHUB_ENV as the runner reads them: `name=value` lines and
    `name<<DELIMITER` … `DELIMITER` blocks; a later value of a name wins."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i)
            values[name] = "\n".join(lines[i:end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def _js(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
