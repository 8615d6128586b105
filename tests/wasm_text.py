"""Assemble WebAssembly text in tests (one helper for every test directory; module name is unique
so pytest's per-directory sys.path entries cannot shadow it).

``wasm-tools`` is found by the package's own lookup (:func:`nearvm.toolpath.find_tool`), so the tests
see exactly what the CLI and the library see; a missing program fails the test with the name of
the package that provides it (``make test`` installs it, so it is never skipped)."""

from __future__ import annotations

import subprocess

from nearvm.toolpath import find_tool


def wasm_tools() -> str:
    """Path of the ``wasm-tools`` program (raises ToolNotFoundError naming its package)."""
    return find_tool("wasm-tools")


def wat2wasm(text: str) -> bytes:
    """Assemble WAT text with `wasm-tools parse` (a test dependency)."""
    proc = subprocess.run([wasm_tools(), "parse", "-"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise ValueError(f"wasm-tools parse failed: {proc.stderr.decode()}")
    return proc.stdout
