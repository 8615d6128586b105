"""Access to the native core (``nearvm._native``) for the runtime's Python API.

Errors from status-returning C functions become Python exceptions here. The GIL: cffi's
out-of-line API mode releases the GIL around every call into C, so ``lib.nvm_call`` runs wasm
without the GIL; host functions come back through an ``ffi.callback`` trampoline, which
re-acquires it (see ``objects._host_trampoline``).
"""

from __future__ import annotations

from typing import Any

from .._native import ffi, lib  # type: ignore[import-not-found]

__all__ = ["ERRLEN", "ffi", "lib", "check", "new_err"]

ERRLEN = 512


def new_err() -> Any:
    return ffi.new("char[]", ERRLEN)


def check(status: int, err: Any, what: str) -> None:
    """Raise for a non-OK nvm_status (MemoryError for NVM_ERR_NOMEM, else RuntimeError/ValueError)."""
    if status == lib.NVM_OK:
        return
    message = ffi.string(err).decode("utf-8", "replace") or "unknown error"
    if status == lib.NVM_ERR_NOMEM:
        raise MemoryError(f"{what}: {message}")
    if status in (lib.NVM_ERR_INVALID, lib.NVM_ERR_LIMIT):
        raise ValueError(f"{what}: {message}")
    raise RuntimeError(f"{what}: {message}")
