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
    fn = lib.nvm_jit_test_compile_for
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint64),
                   ctypes.c_char_p, ctypes.c_size_t]
    fn.restype = ctypes.c_int
    stubs = lib.nvm_jit_test_stubs_for
    stubs.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    stubs.restype = ctypes.c_int
    return lib


#: jit/target.h ids (the artifact header's ISAS / OS_ABIS).
ISA_IDS = {"x86_64": 1, "aarch64": 2}
OS_ABI_IDS = {"sysv": 1, "darwin": 2, "win64": 3}


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


def compile_for(program: bytes, isa: str, os_abi: str = "sysv") -> tuple[CompileResult, bytes]:
    """Compiles for any target (code for other ISAs is generated, never run); returns the result
    and the machine code."""
    stats = (ctypes.c_uint64 * 4)()
    need = ctypes.c_size_t(0)
    size = 1 << 16
    while True:
        buf = ctypes.create_string_buffer(size)
        code = ctypes.create_string_buffer(1 << 20)
        ok = LIB.nvm_jit_test_compile_for(ISA_IDS[isa], OS_ABI_IDS[os_abi], program, len(program), 1, buf, size,
                                          ctypes.byref(need), stats, code, 1 << 20)
        if need.value <= size:
            break
        size = need.value
    result = CompileResult(bool(ok), buf.value.decode(), *[int(s) for s in stats])
    return result, code.raw[:min(result.code_bytes, 1 << 20)]


def stubs_disassembly_for(isa: str, os_abi: str) -> str:
    need = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(1 << 16)
    assert LIB.nvm_jit_test_stubs_for(ISA_IDS[isa], OS_ABI_IDS[os_abi], buf, 1 << 16, ctypes.byref(need)) == 1
    return buf.value.decode()


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
