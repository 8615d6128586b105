"""Helpers for the frontend tests (a uniquely named module: every test directory has a `conftest`,
and `from conftest import ...` would get whichever was imported last when directories run together).

WAT is assembled with the `wasm-tools` CLI (cached per text)."""

from __future__ import annotations

import functools

from wasm_text import wat2wasm


@functools.cache
def _parse(text: str) -> bytes:
    return wat2wasm(text)


def wat(text: str) -> bytes:
    """Binary module for a WAT text (a bare body list is wrapped in ``(module ...)``)."""
    t = text.strip()
    if not t.startswith("(module"):
        t = f"(module {t})"
    return _parse(t)


def header() -> bytes:
    return b"\x00asm\x01\x00\x00\x00"


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
