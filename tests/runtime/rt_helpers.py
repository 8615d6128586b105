"""Helpers shared by the runtime tests (imported by module name: pytest puts this directory on sys.path)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def wat(text: str) -> bytes:
    """Assemble WAT text with ``wasm-tools parse``."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        pytest.skip("wasm-tools CLI not on PATH")
    proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr.decode())
    return proc.stdout
