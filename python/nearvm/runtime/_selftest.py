"""Foundation slice for the trap machinery (test-only).

``GuardLoad`` runs a hand-assembled entry trampoline + "wasm function" (``nvm_selftest_*`` in
csrc/runtime/selftest.cpp) that loads a u32 at ``memory[offset]`` through the real invoke path,
code registry and fault handler, so traps can be tested independently of the JIT.
"""

from __future__ import annotations

from ..errors import Trap
from ._ffi import ffi, lib, new_err
from .objects import Memory
from .store import Store

__all__ = ["GuardLoad", "available"]


def available() -> bool:
    out = ffi.new("nvm_selftest_t**")
    err = new_err()
    if lib.nvm_selftest_new(out, err, len(err)) != lib.NVM_OK:
        return False
    lib.nvm_selftest_free(out[0])
    return True


class GuardLoad:
    def __init__(self) -> None:
        out = ffi.new("nvm_selftest_t**")
        err = new_err()
        status = lib.nvm_selftest_new(out, err, len(err))
        if status != lib.NVM_OK:
            raise RuntimeError(ffi.string(err).decode())
        self._ptr = ffi.gc(out[0], lib.nvm_selftest_free)
        self._value = ffi.new("uint32_t*")

    def load(self, store: Store, memory: Memory, offset: int) -> int:
        """memory[offset:offset+4] as a little-endian u32, or raise Trap."""
        store._enter()
        try:
            code = lib.nvm_selftest_load(self._ptr, store._ptr, memory._ptr, offset, self._value)
        finally:
            store._leave()
        if code:
            if code == lib.NVM_CALL_FAILED:
                raise RuntimeError(ffi.string(lib.nvm_store_last_error(store._ptr)).decode())
            raise Trap.from_code(code)
        return int(self._value[0])


def registry_size() -> int:
    return int(lib.nvm_selftest_registry_size())


def registry_retired() -> int:
    """Retired registry snapshots and unloaded code owners not freed yet."""
    return int(lib.nvm_selftest_registry_retired())
