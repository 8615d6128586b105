"""The asmjit fetch script's verification and failure modes."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FETCH = ROOT / "third_party" / "asmjit" / "fetch.py"


def _load_fetch():
    spec = importlib.util.spec_from_file_location("nearvm_fetch_asmjit", FETCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch = _load_fetch()


def _make_tarball(path: Path, files: dict[str, bytes], top: str = "asmjit-x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_pin_has_every_hash() -> None:
    pin = fetch.read_pin()
    assert pin["COMMIT"] == "5b5b0b38775938df4d3779604ff1db60b9a9dcbf"
    assert pin["DEBIAN_VERSION"] == "0.0~git20221210.5b5b0b3-1"
    assert pin["DEBIAN_ORIG_SHA256"] == "c05b9b913f3be6f22d1452cfa6a7f87372090242cc9526685d02880277b7641f"
    assert pin["TREE_SHA256"] == "b1c0a945fba941cb05d37623579107a05c47b7d990493e83d5613944201e382b"


def test_fetched_tree_matches_pin() -> None:
    """The tree the build uses is the pinned one (fetch.py verified it; re-check here)."""
    pin = fetch.read_pin()
    assert fetch.tree_hash(fetch.DEST) == pin["TREE_SHA256"]


def test_tree_hash_matches_shell_recipe(tmp_path: Path) -> None:
    """tree_hash() is exactly `find src/asmjit -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`."""
    base = tmp_path / "src" / "asmjit" / "core"
    base.mkdir(parents=True)
    (base / "b.h").write_bytes(b"b")
    (base / "a.cpp").write_bytes(b"a\n")
    (tmp_path / "src" / "asmjit" / "Z.h").write_bytes(b"z")
    shell = subprocess.run(
        "find src/asmjit -type f | LC_ALL=C sort | xargs sha256sum | sha256sum",
        shell=True, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.split()[0]
    assert fetch.tree_hash(tmp_path) == shell


def test_wrong_tree_hash_installs_nothing(tmp_path: Path) -> None:
    tarball = _make_tarball(tmp_path / "bad.tar.gz", {"src/asmjit/core/x.cpp": b"evil", "LICENSE.md": b"l"})
    dest = tmp_path / "dest"
    with pytest.raises(fetch.FetchError, match="tree hash .* does not match"):
        fetch.install_from_tarball(tarball, fetch.read_pin(), dest=dest)
    assert not dest.exists()


def test_wrong_tarball_sha_is_rejected_before_extraction(tmp_path: Path) -> None:
    tarball = _make_tarball(tmp_path / "t.tar.gz", {"src/asmjit/a.h": b"a"})
    with pytest.raises(fetch.FetchError, match="does not match the pinned"):
        fetch.install_from_tarball(tarball, fetch.read_pin(), dest=tmp_path / "d", expected_sha="0" * 64)


def test_tarball_with_escaping_path_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("top/../../etc/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(fetch.FetchError, match="unsafe path"):
        fetch.install_from_tarball(path, fetch.read_pin(), dest=tmp_path / "d")


def test_missing_tool_gives_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    with pytest.raises(fetch.FetchError, match="'dpkg-source' is not installed"):
        fetch._require_tool("dpkg-source")


def test_cli_reports_missing_tool_and_exits_nonzero(tmp_path: Path) -> None:
    """Run the real script with an empty PATH: no apt-get, so a clear error and exit 1."""
    proc = subprocess.run(
        [sys.executable, str(FETCH), "--source", "debian", "--force"],
        env={"PATH": str(tmp_path)}, capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "is not installed" in proc.stderr


def test_enable_deb_src_is_idempotent(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
    )
    target = sources / "nearvm-deb-src.sources"
    assert fetch.enable_deb_src(sources, target) is True
    text = target.read_text()
    assert text.startswith("Types: deb-src\n") and "Suites: bookworm bookworm-updates" in text
    assert fetch.enable_deb_src(sources, target) is False
    assert target.read_text() == text


def test_enable_deb_src_respects_existing_deb_src(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text("Types: deb deb-src\nURIs: http://deb.debian.org/debian\n")
    assert fetch.enable_deb_src(sources, sources / "x.sources") is False
    assert not (sources / "x.sources").exists()
