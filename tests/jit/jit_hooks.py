"""ctypes access to the JIT's compile-only test hooks (csrc/jit/testing/test_hooks.cpp)."""

from __future__ import annotations

import ctypes
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nearvm._native as _native_mod

from nearvm.toolpath import find_tool


@dataclass
class CompileResult:
    ok: bool
    text: str  # disassembly on success, error message on failure
    code_bytes: int
    ops_visited: int
    trap_sites: int
    functions: int


def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(Path(_native_mod.__file__)))
    fn = lib.nvm_jit_test_compile
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                   ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint64)]
    fn.restype = ctypes.c_int
    stubs = lib.nvm_jit_test_stubs
    stubs.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    stubs.restype = ctypes.c_int
    return lib


LIB = _lib()


def compile_program(program: bytes, disassembly: bool = False) -> CompileResult:
    stats = (ctypes.c_uint64 * 4)()
    need = ctypes.c_size_t(0)
    size = 1 << 16
    while True:
        buf = ctypes.create_string_buffer(size)
        ok = LIB.nvm_jit_test_compile(program, len(program), int(disassembly), buf, size,
                                      ctypes.byref(need), stats)
        if need.value <= size:
            break
        size = need.value
    return CompileResult(bool(ok), buf.value.decode(), *[int(s) for s in stats])


def stubs_disassembly(win64: bool) -> str:
    need = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(1 << 16)
    assert LIB.nvm_jit_test_stubs(int(win64), buf, 1 << 16, ctypes.byref(need)) == 1
    return buf.value.decode()


def wat_to_wasm(wat: str, tmp: Path) -> bytes:
    src = tmp / "m.wat"
    src.write_text(wat)
    out = tmp / "m.wasm"
    subprocess.run([find_tool("wat2wasm"), str(src), "-o", str(out)], check=True)
    return out.read_bytes()


def lower(wasm: bytes, **config) -> bytes:
    from nearvm.config import Config
    from nearvm.wasm import translate

    return bytes(translate(wasm, Config(**config)).program)
