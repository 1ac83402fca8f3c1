"""Where the course comes from: bundle files (plain, encrypted), release and course folders.

A bundle that is corrupted, tampered with, made for another grader version, or opened with the
wrong key is a clear configuration error (exit 2), never a traceback or a wrong grade.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from grader import bundle, course
from grader.cli import main
from grader.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNN_GRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CNN_GRADER_COURSE", raising=False)
    monkeypatch.delenv("CNN_GRADER_COURSE_DIR", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def plain(tmp_path: Path, cache: Path) -> Path:
    return bundle.build(
        REPO, tmp_path / "course.bundle", exercises=["ex01_convolution", "ex03_parameters"]
    )


def _rewrite(src: Path, dest: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """Copy a plain bundle, passing each (name, bytes) through `change` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            item = change(info.filename, zin.read(info))
            if item is not None:
                zout.writestr(item[0], item[1])
    dest.write_bytes(out.getvalue())
    return dest


def test_a_bundle_unpacks_to_a_private_course_that_grades(plain: Path, cache: Path) -> None:
    c = course.resolve(plain)
    assert c.kind == "bundle" and c.can_grade and c.source == plain.resolve()
    assert sorted(p.name for p in c.solutions_dir.iterdir()) == [
        "ex01_convolution.ipynb",
        "ex03_parameters.ipynb",
    ]
    assert (c.solutions_dir / "ex01_convolution.ipynb").read_bytes() == (
        REPO / "solutions" / "ex01_convolution.ipynb"
    ).read_bytes()
    assert (cache / "courses").stat().st_mode & 0o777 == 0o700
    assert plain.stat().st_mode & 0o777 == 0o600
    assert course.resolve(plain) == c  # the same content is unpacked once


def test_an_unpacked_copy_changed_on_disk_is_unpacked_again(plain: Path) -> None:
    c = course.resolve(plain)
    target = c.solutions_dir / "ex01_convolution.ipynb"
    target.write_text("{}")  # e.g. a kernel of the grader's own user wrote there
    again = course.resolve(plain)
    assert (again.solutions_dir / "ex01_convolution.ipynb").read_bytes() == (
        REPO / "solutions" / "ex01_convolution.ipynb"
    ).read_bytes()


@pytest.mark.parametrize(
    "change, says",
    [
        (
            lambda n, d: (
                (n, d.replace(b"def conv2d", b"def conv2e"))
                if n.startswith("solutions/")
                else (n, d)
            ),
            "does not match the hash",
        ),
        (lambda n, d: None if n == "solutions/ex03_parameters.ipynb" else (n, d), "is missing"),
        (
            lambda n, d: (
                (n, d)
                if n != "manifest.json"
                else (n, d.replace(b'"format_version": 1', b'"format_version": 7'))
            ),
            "bundle format 7",
        ),
        (
            lambda n, d: (
                (n, d)
                if n != "manifest.json"
                else (n, d.replace(b'"grader_version": "', b'"grader_version": "9.'))
            ),
            "was made with cnn-grader 9.",
        ),
        (lambda n, d: (n, d) if n != "manifest.json" else (n, b"{not json"), "not JSON"),
        (lambda n, d: None if n == "manifest.json" else (n, d), "has no manifest.json"),
    ],
)
def test_a_tampered_or_foreign_bundle_is_refused(
    plain: Path,
    tmp_path: Path,
    change,  # type: ignore[no-untyped-def]
    says: str,
) -> None:
    bad = _rewrite(plain, tmp_path / "bad.bundle", change)
    with pytest.raises(bundle.BundleError, match=says.replace(".", r"\.")):
        course.resolve(bad)


def test_an_extra_member_is_refused(plain: Path, tmp_path: Path) -> None:
    bad = tmp_path / "extra.bundle"
    bad.write_bytes(plain.read_bytes())
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("solutions/ex02_pooling.ipynb", "{}")
    with pytest.raises(bundle.BundleError, match="not in its manifest"):
        bundle.open_bundle(bad)


def test_a_truncated_bundle_is_corrupted(plain: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.bundle"
    bad.write_bytes(plain.read_bytes()[:-200])
    with pytest.raises(bundle.BundleError, match="corrupted"):
        bundle.open_bundle(bad)


def test_encrypted_bundles_need_their_key(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bundle.new_key()
    enc = bundle.build(
        REPO, tmp_path / "enc.bundle", exercises=["ex02_pooling"], encrypt=True, key=key
    )
    assert b"def max_pool2d" not in enc.read_bytes() and enc.read_bytes().startswith(bundle.MAGIC)
    monkeypatch.delenv(bundle.KEY_ENV, raising=False)
    with pytest.raises(bundle.BundleError, match="is not set"):
        course.resolve(enc)
    monkeypatch.setenv(bundle.KEY_ENV, "short")
    with pytest.raises(bundle.BundleError, match="is not a bundle key"):
        course.resolve(enc)
    monkeypatch.setenv(bundle.KEY_ENV, bundle.new_key())
    with pytest.raises(bundle.BundleError, match="not the key it was made with"):
        course.resolve(enc)
    monkeypatch.setenv(bundle.KEY_ENV, key)
    flipped = tmp_path / "flipped.bundle"
    data = bytearray(enc.read_bytes())
    data[len(bundle.MAGIC) + 80] ^= 1
    flipped.write_bytes(bytes(data))
    with pytest.raises(bundle.BundleError, match="changed after it was made"):
        course.resolve(flipped)
    c = course.resolve(enc)
    assert c.kind == "bundle" and (c.solutions_dir / "ex02_pooling.ipynb").is_file()


def test_folders_release_and_nothing(tmp_path: Path, cache: Path) -> None:
    assert course.resolve(REPO).kind == "course"
    release = tmp_path / "release"
    release.mkdir()
    (release / course.RELEASE_MANIFEST).write_text(json.dumps({"format": course.RELEASE_FORMAT}))
    r = course.resolve(release)
    assert r.kind == "release" and not r.can_grade and r.exercises_dir == release
    with pytest.raises(ConfigurationError, match="student release"):
        r.solutions_dir  # noqa: B018
    for nothing in (tmp_path / "missing", tmp_path):
        with pytest.raises(course.NoCourse, match="one of three ways"):
            course.resolve(nothing)
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    with pytest.raises(course.NoCourse, match="neither a grading bundle"):
        course.resolve(note)


def test_the_environment_names_the_course_and_the_old_name_still_works(
    plain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNN_GRADER_COURSE", str(plain))
    assert course.current().kind == "bundle"
    monkeypatch.delenv("CNN_GRADER_COURSE")
    monkeypatch.setenv("CNN_GRADER_COURSE_DIR", str(REPO))
    assert course.current().root == REPO


def test_cli_bundle_and_bad_course_exit_2(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.bundle"
    assert main(["bundle", "--out", str(out), "--exercise", "ex01_convolution"]) == 0
    assert "1 exercises" in capsys.readouterr().out
    assert bundle.open_bundle(out).exercises == ["ex01_convolution"]
    assert main(["bundle"]) == 2
    assert main(["bundle", "--out", str(out), "--exercise", "ex77_nothing"]) == 2
    assert "ex77_nothing" in capsys.readouterr().err
    nb = REPO / "solutions" / "ex01_convolution.ipynb"
    assert (
        main(["grade", str(nb), "--course", str(tmp_path / "nope"), "--out", str(tmp_path / "r")])
        == 2
    )
    assert "one of three ways" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
