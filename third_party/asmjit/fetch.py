#!/usr/bin/env python3
"""Fetch the pinned asmjit sources into third_party/asmjit/upstream/ and verify them.

A setup step (``make setup``, the wheels workflow), never run by the setuptools build.
Sources, in order of preference (``--source auto``):

* ``debian``: Debian 12's source package via ``apt-get source`` (enables ``deb-src`` for the
  configured Debian mirrors idempotently and runs ``apt-get update``);
* ``upstream``: the same commit's tarball from upstream (wheels workflow, macOS, Windows).

Either way the extracted tree must hash to ``TREE_SHA256`` (see PIN), or nothing is installed.
Standard library only: it must run before anything else is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEST = HERE / "upstream"


class FetchError(Exception):
    """A fetch failed; the message says why and what to do."""


def read_pin(path: Path = HERE / "PIN") -> dict[str, str]:
    pin: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pin[key.strip()] = value.strip()
    return pin


def tree_hash(root: Path) -> str:
    """sha256 of ``find src/asmjit -type f | LC_ALL=C sort | xargs sha256sum`` run in ``root``."""
    base = root / "src" / "asmjit"
    if not base.is_dir():
        raise FetchError(f"{base} does not exist: not an asmjit source tree")
    paths = sorted(
        (p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()),
        key=lambda s: s.encode(),
    )
    listing = "".join(f"{hashlib.sha256((root / p).read_bytes()).hexdigest()}  {p}\n" for p in paths)
    return hashlib.sha256(listing.encode()).hexdigest()


def _safe_extract(tar: tarfile.TarFile, dest: Path) -> Path:
    """Extract a tarball with a single top directory; refuses absolute or escaping paths."""
    tops = set()
    for member in tar.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or member.issym() or member.islnk():
            if member.issym() or member.islnk():
                continue  # asmjit has no links we need; skip rather than follow
            raise FetchError(f"refusing unsafe path in tarball: {member.name}")
        if name.parts:
            tops.add(name.parts[0])
    if len(tops) != 1:
        raise FetchError(f"expected one top-level directory in the tarball, found {sorted(tops)}")
    members = [m for m in tar.getmembers() if not (m.issym() or m.islnk())]
    tar.extractall(dest, members=members)  # noqa: S202 - paths checked above
    return dest / tops.pop()


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FetchError(
            f"'{name}' is not installed. On Debian: apt-get install -y dpkg-dev; "
            "elsewhere use: python third_party/asmjit/fetch.py --source upstream"
        )
    return path


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FetchError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")


DEB_SRC_FILE = Path("/etc/apt/sources.list.d/nearvm-deb-src.sources")


def enable_deb_src(sources_dir: Path = Path("/etc/apt/sources.list.d"), target: Path = DEB_SRC_FILE) -> bool:
    """Add deb-src entries mirroring the configured deb822 'deb' entries. Idempotent.

    Returns True if a file was written.
    """
    stanzas: list[str] = []
    for f in sorted(sources_dir.glob("*.sources")):
        if f == target:
            continue
        for stanza in f.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith((" ", "#")):
                    k, _, v = line.partition(":")
                    fields[k.strip()] = v.strip()
            types = fields.get("Types", "").split()
            if "deb-src" in types:
                return False  # already enabled by the administrator
            if "deb" in types and "debian" in fields.get("URIs", ""):
                lines = ["Types: deb-src"] + [f"{k}: {v}" for k, v in fields.items() if k != "Types"]
                stanzas.append("\n".join(lines))
    if not stanzas:
        # One-line format (/etc/apt/sources.list): add deb-src lines for its deb lines.
        legacy = Path("/etc/apt/sources.list")
        if legacy.exists():
            text = legacy.read_text()
            if any(line.startswith("deb-src") for line in text.splitlines()):
                return False
            src = [("deb-src" + line[3:]) for line in text.splitlines() if line.startswith("deb ")]
            if src:
                target.with_suffix(".list").write_text("\n".join(src) + "\n")
                return True
        raise FetchError("no Debian apt sources found to derive deb-src entries from")
    new = "\n\n".join(stanzas) + "\n"
    if target.exists() and target.read_text() == new:
        return False
    target.write_text(new)
    return True


def fetch_debian(pin: dict[str, str], workdir: Path) -> Path:
    _require_tool("apt-get")
    _require_tool("dpkg-source")
    if enable_deb_src() or not os.environ.get("NEARVM_SKIP_APT_UPDATE"):
        _run(["apt-get", "update", "-q"])
    _run(["apt-get", "source", "--download-only", "-q", f"asmjit={pin['DEBIAN_VERSION']}"], cwd=workdir)
    tarballs = list(workdir.glob("asmjit_*.orig.tar.*"))
    if len(tarballs) != 1:
        raise FetchError(f"apt-get source did not produce one orig tarball: {tarballs}")
    return tarballs[0]


def fetch_upstream(pin: dict[str, str], workdir: Path) -> Path:
    url = f"https://github.com/asmjit/asmjit/archive/{pin['COMMIT']}.tar.gz"
    out = workdir / f"asmjit-{pin['COMMIT']}.tar.gz"
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - fixed https URL
            out.write_bytes(resp.read())
    except OSError as exc:
        raise FetchError(f"cannot download {url}: {exc}") from exc
    return out


def install_from_tarball(
    tarball: Path, pin: dict[str, str], dest: Path = DEST, expected_sha: str | None = None
) -> Path:
    """Verify (tarball hash if given, tree hash always) and install into ``dest``."""
    data = tarball.read_bytes()
    if expected_sha is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != expected_sha:
            raise FetchError(f"{tarball.name}: sha256 {got} does not match the pinned {expected_sha}")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            root = _safe_extract(tar, Path(tmp))
        got_tree = tree_hash(root)
        if got_tree != pin["TREE_SHA256"]:
            raise FetchError(
                f"asmjit tree hash {got_tree} does not match the pinned {pin['TREE_SHA256']}: "
                "the sources are not the pinned commit; nothing was installed"
            )
        if dest.exists():
            shutil.rmtree(dest)
        # Keep only what the build and the licence need.
        dest.mkdir()
        shutil.copytree(root / "src", dest / "src")
        shutil.copy2(root / "LICENSE.md", dest / "LICENSE.md")
        (dest / "TREE_SHA256").write_text(got_tree + "\n")
    return dest


def is_installed(pin: dict[str, str], dest: Path = DEST) -> bool:
    stamp = dest / "TREE_SHA256"
    return stamp.exists() and stamp.read_text().strip() == pin["TREE_SHA256"] and tree_hash(dest) == pin["TREE_SHA256"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["auto", "debian", "upstream"], default="auto")
    ap.add_argument("--tarball", type=Path, help="install from a local tarball (verified like a download)")
    ap.add_argument("--force", action="store_true", help="refetch even if the verified tree is present")
    args = ap.parse_args(argv)
    pin = read_pin()
    try:
        if not args.force and args.tarball is None and is_installed(pin):
            print(f"asmjit {pin['COMMIT'][:12]} already present and verified")
            return 0
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            if args.tarball is not None:
                install_from_tarball(args.tarball, pin)
            else:
                source = args.source
                if source == "auto":
                    on_debian = Path("/etc/debian_version").exists() and shutil.which("apt-get")
                    source = "debian" if on_debian else "upstream"
                if source == "debian":
                    install_from_tarball(fetch_debian(pin, work), pin, expected_sha=pin["DEBIAN_ORIG_SHA256"])
                else:
                    install_from_tarball(fetch_upstream(pin, work), pin)
    except FetchError as exc:
        print(f"fetch asmjit: error: {exc}", file=sys.stderr)
        return 1
    print(f"asmjit {pin['COMMIT'][:12]} installed in {DEST} (tree hash verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
