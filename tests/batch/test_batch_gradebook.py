"""The gradebook: one committed row per submission, and the rule for reusing a row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from grader.batch.gradebook import Entry, Gradebook


def _entry(**kw: object) -> Entry:
    base: dict[str, object] = dict(
        student="alice",
        exercise="ex01_convolution",
        path="a.ipynb",
        sha256="aa",
        grader_version="1",
        config="c",
        seed=3,
        status="ok",
        score=7.0,
        max_score=10.0,
        graded_at="now",
    )
    base.update(kw)
    return Entry(**base)  # type: ignore[arg-type]


def test_rows_are_committed_in_wal_mode_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "gb.sqlite"
    gb = Gradebook(path)
    gb.put(_entry(), executed=True)
    # another connection sees the row at once: it was committed, not left in a transaction
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT student, score FROM submissions").fetchall() == [("alice", 7.0)]
    other.close()
    gb.close()
    with Gradebook(path) as again:
        assert again.get("alice", "ex01_convolution") == _entry(executions=1)


def test_executions_count_real_runs_only(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as gb:
        gb.put(_entry(), executed=True)
        gb.put(_entry(path="moved.ipynb"), executed=False)
        gb.put(_entry(score=9.0), executed=True)
        row = gb.get("alice", "ex01_convolution")
        assert row is not None and row.executions == 2 and row.score == 9.0


def test_a_row_is_fresh_only_if_nothing_that_decides_the_grade_changed(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as gb:
        row = gb.put(_entry(), executed=True)
        same = dict(sha256="aa", grader_version="1", config="c")
        assert gb.is_fresh(row, **same)
        assert not gb.is_fresh(row, **{**same, "sha256": "bb"})
        assert not gb.is_fresh(row, **{**same, "grader_version": "2"})
        assert not gb.is_fresh(row, **{**same, "config": "other"})
        assert not gb.is_fresh(None, **same)
        failed = gb.put(_entry(status="error"), executed=True)
        assert not gb.is_fresh(failed, **same), "a grader failure is retried on the next run"


def test_similarity_is_replaced_per_exercise(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "gb.sqlite") as gb:
        gb.replace_similarity("ex01_convolution", [("a", "b", 0.95)])
        gb.replace_similarity("ex02_pooling", [("c", "d", 0.91)])
        gb.replace_similarity("ex01_convolution", [("a", "e", 0.99)])
        assert gb.similarity() == [
            ("ex01_convolution", "a", "e", 0.99),
            ("ex02_pooling", "c", "d", 0.91),
        ]


def test_public_surface_of_the_batch_package_is_small() -> None:
    import grader.batch

    assert sorted(grader.batch.__all__) == ["BatchOptions", "BatchSummary", "run", "run_batch"]


def test_a_schema_1_gradebook_opens_and_its_grader_failures_are_migrated(tmp_path: Path) -> None:
    """Schema 1 wrote a grader failure as "error" (a check status's word) and results documents
    without `schema_version`: both still read, the first as `BatchOutcome.GRADER_FAILURE`."""
    from grader.batch import gradebook
    from grader.models import BatchOutcome, CheckStatus

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(gradebook._SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    document = (
        '{"exercise": "ex01_convolution", "title": "Convolution", "score": 1.0, '
        '"max_score": 2.0, "execution": {"status": "ok", "duration_s": 1.5}, '
        '"checks": [{"id": "a", "status": "passed", "score": 1.0, "max_score": 1.0}, '
        '{"id": "b", "status": "error", "score": 0.0, "max_score": 1.0, '
        '"message": "internal"}], "notebook": "a.ipynb", "seed": 3, '
        '"profile": "smoke", "grader_version": "0.1.0", "graded_at": "then"}'
    )
    for student, status, result in (("alice", "ok", document), ("bob", "error", None)):
        db.execute(
            "INSERT INTO submissions (student, exercise, path, sha256, grader_version, "
            "config, seed, status, score, max_score, result, graded_at) VALUES "
            "(?, 'ex01_convolution', 'a.ipynb', 'aa', '1', 'c', 3, ?, 1, 2, ?, 'then')",
            (student, status, result),
        )
    db.commit()
    db.close()
    with Gradebook(path) as gb:
        alice, bob = gb.entries()
        assert bob.status is BatchOutcome.GRADER_FAILURE
        assert not gb.is_fresh(bob, sha256="aa", grader_version="1", config="c")
        row = alice.row()
        assert row.status is BatchOutcome.OK and row.title == "Convolution"
        assert [(c.id, c.status) for c in row.checks] == [
            ("a", CheckStatus.PASSED),
            ("b", CheckStatus.ERROR),
        ]
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    assert raw.execute("SELECT status FROM submissions WHERE student = 'bob'").fetchone() == (
        "grader_failure",
    )
    raw.close()
