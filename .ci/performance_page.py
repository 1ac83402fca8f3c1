"""Write docs/performance.md from the benchmarks' docstrings (tests/test_docs.py holds the page
to it): after adding a benchmark or changing what one says, run

    .venv/bin/python .ci/performance_page.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "performance.md"
HEAD = """# Performance

Grading should cost little more than running the notebook. Every figure comes from a benchmark
script in `benchmarks/`, run side by side in one go (the machines are shared and noisy): a ratio
measured in one run, never a timed assertion in the tests. Each script says what it measures
and how to run it (this page is its docstring):
"""


def page() -> str:
    sections = [HEAD]
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")), clean=False)
        if not doc:
            raise SystemExit(f"{script.name} has no docstring: say what it measures and how")
        sections.append(f"## `{script.name}`\n\n{doc.strip()}\n")
    return "\n".join(sections)


if __name__ == "__main__":
    PAGE.write_text(page(), encoding="utf-8")
    sys.exit(0)
