"""What an install of the grader weighs, base against the `keras` extra, from this environment.

    python benchmarks/install_size.py [--json out.json]

Walks the requirements in this checkout's pyproject.toml (the base ones, then with the `keras`
extra's) through every package they need, as pip would install them, and adds up the files
each installed distribution's RECORD lists. Offline: what pip would download is measured by
what is installed here, so the figures are this environment's versions.
"""

from __future__ import annotations

import argparse
import json
import re
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution, extra: str | None) -> list[str]:
    out = []
    for req in dist.requires or []:
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        marker = req.split(";", 1)[1] if ";" in req else ""
        wanted = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if name and ((wanted is None) or (extra is not None and wanted.group(1) == extra)):
            out.append(name.group(1))
    return out


def _roots(extra: str | None) -> list[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    if extra:
        reqs += project["optional-dependencies"][extra]
    return [m.group(1) for r in reqs if (m := re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r))]


def closure(extra: str | None) -> dict[str, metadata.Distribution]:
    """The checkout's requirements (with `extra`'s) and all they need, as installed here."""
    found: dict[str, metadata.Distribution] = {}
    todo = _roots(extra)
    while todo:
        name = todo.pop()
        if _key(name) in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[_key(name)] = dist
        todo += _requirements(dist, None)
    return found


def size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        try:
            total += Path(str(dist.locate_file(file))).stat().st_size
        except OSError:
            continue
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    figures = {}
    for label, extra in (("base", None), ("keras extra", "keras")):
        dists = closure(extra)
        total = sum(size(d) for d in dists.values())
        biggest = sorted(((size(d), k) for k, d in dists.items()), reverse=True)[:3]
        figures[label] = {
            "packages": len(dists),
            "bytes": total,
            "largest": {k: s for s, k in biggest},
        }
        print(
            f"{label:12} {len(dists):3} packages  {total / 2**20:8.0f} MiB   largest: "
            + ", ".join(f"{k} {s / 2**20:.0f} MiB" for s, k in biggest)
        )
    ratio = figures["keras extra"]["bytes"] / max(figures["base"]["bytes"], 1)
    print(f"the keras extra is {ratio:.1f}x the base install")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
