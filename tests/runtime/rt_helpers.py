"""Helpers shared by the runtime tests (imported by module name: pytest puts this directory on sys.path)."""

from __future__ import annotations

from wasm_text import wat2wasm


def wat(text: str) -> bytes:
    """Assemble WAT text with ``wasm-tools parse``."""
    return wat2wasm(text)
