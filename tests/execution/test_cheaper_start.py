"""What was taken off each grading's critical path still does its job: the sandbox hides every
folder a test split may be in, a kernel's home starts with the prebuilt font list, and the JSON
renderer alone does not load jinja2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.datasets import registry, sources
from grader.execution.sandbox import policy, seed


def test_the_folders_hidden_include_every_verified_test_split_folder() -> None:
    assert set(sources.source_folders()) <= set(policy.dataset_folders())


def test_a_test_split_found_by_name_is_hidden_unverified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(b"not the real file")  # unverified: located by name
    monkeypatch.setenv(registry.DATASETS_ENV, str(folder))
    assert folder.resolve() in policy.dataset_folders()


def test_a_kernel_home_gets_its_own_copy_of_the_font_list(tmp_path: Path) -> None:
    lists = seed.font_lists()
    if not lists:  # matplotlib missing: nothing to seed, kernels build their own
        return
    home = tmp_path / "home"
    home.mkdir()
    seed.seed_home(home, os.getuid())
    copied = home / ".config" / "matplotlib" / lists[0].name
    assert copied.read_bytes() == lists[0].read_bytes()
    assert copied.stat().st_uid == os.getuid()
    assert json.loads(copied.read_text())  # the font list matplotlib wrote, as JSON
    copied.write_text("{}")  # what one kernel does to its copy...
    assert lists[0].read_text() != "{}"  # ...reaches no other


def test_the_json_report_alone_loads_no_template_engine() -> None:
    code = (
        "import sys, grader.reporting as r; r.to_json; a = 'jinja2' in sys.modules; "
        "r.render_html; print(a, 'jinja2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
