"""The README stays short and points at pages that exist; every benchmark is on the performance
page; the site's nav lists every page (mkdocs build --strict, in .ci/static, checks the links)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_is_short_and_its_links_exist() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 10 * 1024
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links and all((REPO / link).exists() for link in links if "://" not in link), links
    assert text.splitlines()[3].startswith("bash .ci/setup && .venv/bin/cnn-grader batch")
    assert (
        (REPO / ".ci" / "run")
        .read_text()
        .strip()
        .endswith("bash .ci/setup && bash .ci/static && .venv/bin/python -m pytest -n 2")
    )


def test_every_benchmark_is_on_the_performance_page() -> None:
    page = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        assert f"## `{script.name}`" in page, script.name


def test_the_performance_page_is_the_benchmarks_docstrings() -> None:
    """docs/performance.md is generated: `.venv/bin/python .ci/performance_page.py` rewrites it."""
    spec = importlib.util.spec_from_file_location(
        "performance_page", REPO / ".ci" / "performance_page.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    page = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    assert page == generator.page(), "run .venv/bin/python .ci/performance_page.py"


def test_the_site_lists_every_page() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [p for item in nav for p in pages(item)]
        if isinstance(nav, dict):
            return [p for value in nav.values() for p in pages(value)]
        return []

    listed = set(pages(config["nav"]))
    assert listed == {p.name for p in (REPO / "docs").glob("*.md")}
