"""Artifact forging helpers for the security tests (pytest puts this directory on sys.path)."""

from __future__ import annotations

from nearvm import artifact as A

KEY = b"nearvm test artifact key, 32 by."

# x86-64: store 42 into the caller's first result slot ([rsp + 8] at entry: the internal
# convention passes results in the caller's argument area) and return.
RETURN_42 = bytes.fromhex("c74424082a000000c3")  # mov dword [rsp+8], 42; ret


def patched_code_artifact(blob: bytes, key: bytes | None = None, patch: bytes = RETURN_42) -> bytes:
    """``blob`` with its first local function's code replaced by ``patch`` and the checksum (and,
    with ``key``, an HMAC under that key) recomputed: what an attacker who can write the store
    but does not hold the engine's key can produce."""
    art = A.load_artifact(blob, config_hash=None)
    secs = A.sections_of(blob)
    code = bytearray(secs[A.SEC_CODE])
    at = art.compiled.func_offsets[0]
    code[at:at + len(patch)] = patch
    secs[A.SEC_CODE] = bytes(code)
    h = art.header
    return A._assemble(secs, target=h.target, config_hash=h.config_hash, code_hash=h.code_hash, key=key)
