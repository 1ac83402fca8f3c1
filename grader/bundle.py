"""The private grading bundle: one file with everything grading needs that the package does not.

A course is code (this package: checks, hidden-input generators, renderers) plus material the
students must never see (the reference solutions). The bundle carries the material:

    manifest.json            {"format": "cnn-grader-bundle", "format_version": 1,
                              "grader_version": "0.1.0", "created_at": ..., "exercises": [...],
                              "files": {"solutions/ex01_convolution.ipynb": "<sha256>", ...}}
    solutions/<id>.ipynb     reference notebooks (the grader's reference answers come from them)
    exercises/<id>.ipynb     starter notebooks (similarity removes what the starter holds)
    calibration.json         reference accuracies measured on the instructor's machines, if any
    constraints.txt          the versions the bundle was made (and calibrated) with, pinned:
                             `pip install 'cnn-grader[keras]' -c constraints.txt` installs them

It is a zip; `--encrypt` wraps the zip in Fernet (AES-128-CBC + HMAC-SHA256, from the
`cryptography` package) with the key in `CNN_GRADER_BUNDLE_KEY`, behind a one-line magic header.
Opening a bundle checks everything before a single file is used: the encryption's MAC (a wrong
key or a changed byte), the manifest's format and the grader version it was made for, and the
sha256 of every member against the manifest (nothing missing, nothing extra, no unsafe name).
Any failure is a `BundleError` (a configuration problem: exit 2, never a wrong grade).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.errors import ConfigurationError
from grader.version import __version__

FORMAT = "cnn-grader-bundle"
FORMAT_VERSION = 1
KEY_ENV = "CNN_GRADER_BUNDLE_KEY"
MAGIC = b"CNN-GRADER-BUNDLE fernet v1\n"
MANIFEST = "manifest.json"
MAX_BUNDLE_BYTES = 256 * 1024**2  # read whole; a course is a few MB
MAX_MEMBERS = 512
_EPOCH = (1980, 1, 1, 0, 0, 0)
_FOLDERS = ("solutions", "exercises")
CONSTRAINTS = "constraints.txt"


# Where the pinned environment starts: the grader's own requirements, the training extra's
# included (with the Keras backend this machine grades with: TensorFlow unless KERAS_BACKEND
# says JAX or PyTorch); everything they need (installed here) follows.
def _roots() -> tuple[str, ...]:
    from grader import backends

    return ("cnn-grader", backends.distribution(backends.current()), "keras")


class BundleError(ConfigurationError):
    """A bundle that cannot be used as it is: not a bundle, wrong key, tampered, wrong version."""


@dataclass(frozen=True)
class Opened:
    """A verified bundle's content, in memory."""

    manifest: dict[str, Any]
    files: dict[str, bytes]  # member name -> bytes (manifest excluded)
    encrypted: bool
    identity: str  # sha256 of the manifest bytes: names the course content and its version

    @property
    def exercises(self) -> list[str]:
        return list(self.manifest.get("exercises", []))


def new_key() -> str:
    """A fresh key for `--encrypt` (url-safe base64 of 32 random bytes, Fernet's format)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def _compatible(made_with: str) -> bool:
    """A bundle works with the grader versions that share its major.minor: the checks and the
    hidden inputs of a patch release are the same as the ones the bundle was made and tested
    with; a minor release may change them, so the bundle is made again."""
    return made_with.split(".")[:2] == __version__.split(".")[:2]


def build(
    course_root: Path,
    out: Path,
    *,
    exercises: list[str] | None = None,
    encrypt: bool = False,
    key: str | None = None,
    calibration: dict[str, Any] | None = None,
) -> Path:
    """Write the bundle of the course folder `course_root` (holding solutions/ and exercises/)."""
    course_root = Path(course_root)
    solutions = course_root / "solutions"
    if not solutions.is_dir():
        raise ConfigurationError(f"{course_root} has no solutions/ folder to bundle")
    ids = sorted(p.stem for p in solutions.glob("ex*.ipynb"))
    if exercises:
        unknown = sorted(set(exercises) - set(ids))
        if unknown:
            raise ConfigurationError(
                f"no solution notebook for {', '.join(unknown)} in {solutions}"
            )
        ids = sorted(set(exercises))
    if not ids:
        raise ConfigurationError(f"{solutions} holds no exercise notebook (ex*.ipynb)")
    files: dict[str, bytes] = {}
    for eid in ids:
        for folder in _FOLDERS:
            path = course_root / folder / f"{eid}.ipynb"
            if path.is_file():
                files[f"{folder}/{eid}.ipynb"] = path.read_bytes()
    if calibration:
        files["calibration.json"] = json.dumps(calibration, indent=1, sort_keys=True).encode()
    files[CONSTRAINTS] = constraints_text().encode()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "grader_version": __version__,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "exercises": ids,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _add(zf, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        for name, data in sorted(files.items()):
            _add(zf, name, data)
    payload = buf.getvalue()
    if encrypt:
        payload = MAGIC + _fernet(key if key is not None else _key_from_env()).encrypt(payload)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private from the start
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    tmp.replace(out)
    return out


def installed_versions() -> dict[str, str]:
    """name → version of the grader's requirements and all they need, as installed here (the
    environment that grades, and calibrates, with this bundle). Extras' requirements are left
    out, except the training extra's roots above."""
    import re
    from importlib import metadata

    found: dict[str, str] = {}
    todo = list(_roots())
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[key] = dist.version
        for req in dist.requires or []:
            if "extra ==" in req.replace('"', "").replace("'", ""):
                continue
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
            if match:
                todo.append(match.group(1))
    found.pop("cnn-grader", None)  # the grader is the wheel the platform installs
    return dict(sorted(found.items()))


def constraints_text() -> str:
    """A pip constraints file of `installed_versions()`."""
    import platform

    lines = [
        f"# cnn-grader {__version__}: the versions this course bundle was made with "
        f"(Python {platform.python_version()}).",
        "# pip install 'cnn-grader[keras]' -c constraints.txt",
    ]
    return "\n".join(lines + [f"{k}=={v}" for k, v in installed_versions().items()]) + "\n"


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o100600 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def is_bundle(path: Path) -> bool:
    """Whether `path` looks like a bundle (plain or encrypted); says nothing of its validity."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC))
    except OSError:
        return False
    return head == MAGIC or head[:4] == b"PK\x03\x04"


def open_bundle(path: Path, *, key: str | None = None) -> Opened:
    """Read, decrypt and verify a bundle; raises BundleError with what to do."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path} is {size} bytes, larger than any course bundle")
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read the bundle {path}: {exc.strerror or exc}") from None
    encrypted = raw.startswith(MAGIC)
    if encrypted:
        raw = _decrypt(path, raw[len(MAGIC) :], key)
    elif raw[:4] != b"PK\x03\x04":
        raise BundleError(
            f"{path} is not a cnn-grader bundle (make one with `cnn-grader bundle --out FILE`)"
        )
    manifest_bytes, files = _members(path, raw)
    manifest = _manifest(path, manifest_bytes)
    _verify(path, manifest, files)
    return Opened(manifest, files, encrypted, hashlib.sha256(manifest_bytes).hexdigest())


def _key_from_env() -> str:
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise BundleError(
            f"{KEY_ENV} is not set: an encrypted bundle needs the key it was "
            "made with (`cnn-grader bundle --new-key` makes one)"
        )
    return key


def _fernet(key: str) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise BundleError(
            f"{KEY_ENV} is not a bundle key (44 characters of url-safe base64, as "
            "`cnn-grader bundle --new-key` prints)"
        ) from None


def _decrypt(path: Path, token: bytes, key: str | None) -> bytes:
    from cryptography.fernet import InvalidToken

    fernet = _fernet(key if key is not None else _key_from_env())
    try:
        return bytes(fernet.decrypt(token))
    except InvalidToken:
        raise BundleError(
            f"cannot decrypt {path}: {KEY_ENV} is not the key it was made with, "
            "or the file was changed after it was made"
        ) from None


def _members(path: Path, raw: bytes) -> tuple[bytes, dict[str, bytes]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"{path} has {len(infos)} members, more than a bundle holds")
        total = 0
        files: dict[str, bytes] = {}
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if (
                not name
                or name.startswith("/")
                or "\\" in name
                or ".." in parts
                or info.is_dir()
                or name in files
            ):
                raise BundleError(
                    f"{path} is corrupted or was tampered with: unexpected member {name!r}"
                )
            total += info.file_size
            if total > MAX_BUNDLE_BYTES:
                raise BundleError(f"{path} unpacks to more than any course bundle")
            files[name] = zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise BundleError(f"{path} is corrupted (not a readable zip: {exc})") from None
    if MANIFEST not in files:
        raise BundleError(f"{path} is corrupted: it has no {MANIFEST}")
    return files.pop(MANIFEST), files


def _manifest(path: Path, data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BundleError(f"{path} is corrupted: its {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(
            f"{path} is not a cnn-grader bundle (its manifest names no {FORMAT!r} format)"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{path} has bundle format {version!r}; this grader "
            f"(cnn-grader {__version__}) reads format {FORMAT_VERSION}: make the "
            "bundle again with this grader, or install the grader it was made with"
        )
    made_with = str(manifest.get("grader_version", "?"))
    if not _compatible(made_with):
        raise BundleError(
            f"{path} was made with cnn-grader {made_with}; this is cnn-grader "
            f"{__version__}, whose checks may differ: make the bundle again with "
            f"`cnn-grader bundle`, or install cnn-grader {made_with}"
        )
    if not isinstance(manifest.get("files"), dict) or not isinstance(
        manifest.get("exercises"), list
    ):
        raise BundleError(f"{path} is corrupted: its manifest lists no files or exercises")
    return manifest


def _verify(path: Path, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    listed: dict[str, Any] = manifest["files"]
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            raise BundleError(f"{path} is corrupted or was tampered with: {name} is missing")
        if name not in listed:
            raise BundleError(f"{path} was tampered with: {name} is not in its manifest")
        if hashlib.sha256(files[name]).hexdigest() != listed[name]:
            raise BundleError(
                f"{path} was tampered with or is corrupted: {name} does not "
                "match the hash in its manifest"
            )
    for eid in manifest["exercises"]:
        if f"solutions/{eid}.ipynb" not in files:
            raise BundleError(f"{path} is corrupted: exercise {eid} has no solution notebook")


def unpack(opened: Opened, dest: Path) -> None:
    """Write a verified bundle's files under `dest` (a folder only the grader's user may read)."""
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o700)
    for name, data in opened.files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (dest / MANIFEST).write_text(
        json.dumps(opened.manifest, indent=1, sort_keys=True), encoding="utf-8"
    )


def matches(opened: Opened, folder: Path) -> bool:
    """Whether an unpacked copy still holds exactly the bundle's bytes (a kernel of the
    grader's own user could have written there since)."""
    for name, digest in opened.manifest["files"].items():
        try:
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True
