"""Fixtures for the NEAR tests: the Rust contract of tests/near/rust, built once per session with
Debian's rustc (``make test`` installs it: rustc + libstd-rust-dev-wasm32)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

DEBIAN_RUSTC = "/usr/bin/rustc"
RUST_DIR = Path(__file__).resolve().parent / "rust"


def build_rust_contract(name: str, out_dir: Path) -> bytes:
    out = out_dir / f"{name}.wasm"
    proc = subprocess.run([DEBIAN_RUSTC, "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", "-O",
                           "-C", "strip=debuginfo", "-o", str(out), str(RUST_DIR / f"{name}.rs")],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"building {name}.rs with {DEBIAN_RUSTC} failed (install rustc and libstd-rust-dev-wasm32: "
                    f"scripts/install-system-deps.sh):\n{proc.stderr}")
    return out.read_bytes()


@pytest.fixture(scope="session")
def families_wasm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The contract with one method per host-function family (rust/families.rs)."""
    return build_rust_contract("families", tmp_path_factory.mktemp("near-rust"))
