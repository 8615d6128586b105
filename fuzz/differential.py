"""Differential execution against Wasmtime (Cranelift) on random valid modules from `wasm-tools smith`.

Every module smith generates (Wasm 2.0 features only, NaNs canonicalised by smith itself so both
engines must agree bit for bit, loops and calls bounded by smith's own fuel) is compiled by both
engines; each exported function is called with edge-case arguments, and results (exact bits),
traps (trap or not), exported memories and exported globals must agree. Wasmtime gets nearvm's
table-growth cap (growth limits are an engine's choice in the spec). A stack exhaustion in
either engine ends that module's comparison (the two stack limits differ by design).

Used by tests/jit/test_jit_differential.py and by the ``differential`` fuzz target.
"""

from __future__ import annotations

import ctypes
import random
import struct
import subprocess
from collections.abc import Callable

import wasmtime

import nearvm
from nearvm.toolpath import find_tool

from .smith_flags import smith_flags

__all__ = ["SMITH_FLAGS", "EDGE_VALUES", "SmithError", "smith", "compare", "compare_module"]

# Wasm 2.0 only (fuzz/smith_flags.py; flags smith does not know fail loudly, see smith()).
SMITH_FLAGS = smith_flags(fuel=3000, max_instructions=400, min_funcs=4, max_funcs=16)
EDGE_VALUES = [0, 1, 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 63, (1 << 64) - 1]


class SmithError(RuntimeError):
    """wasm-tools smith does not take a flag this harness needs."""


def smith(seed: int, flags: list[str] | None = None) -> bytes | None:
    """The module ``wasm-tools smith`` makes from seed ``seed``'s random bytes (None if none)."""
    rng = random.Random(seed)
    proc = subprocess.run([find_tool("wasm-tools"), "smith", *(flags or SMITH_FLAGS)], input=rng.randbytes(30_000),
                          capture_output=True)
    if proc.returncode != 0 and b"unexpected argument" in proc.stderr:
        raise SmithError(f"this wasm-tools does not take a flag the harness needs: {proc.stderr.decode()[:300]}")
    return proc.stdout if proc.returncode == 0 else None


def _wasmtime_arg(ty: str, bits: int):  # noqa: ANN202
    if ty == "i32":
        return wasmtime.Val.i32(bits - (1 << 32) if bits >> 31 else bits)
    if ty == "i64":
        return wasmtime.Val.i64(bits - (1 << 64) if bits >> 63 else bits)
    if ty == "f32":
        return wasmtime.Val.f32(struct.unpack("<f", struct.pack("<I", bits))[0])
    return wasmtime.Val.f64(struct.unpack("<d", struct.pack("<Q", bits))[0])


def _wasmtime_bits(ty: str, value) -> int | None:  # noqa: ANN001
    if ty == "i32":
        return value & 0xFFFF_FFFF
    if ty == "i64":
        return value & 0xFFFF_FFFF_FFFF_FFFF
    if ty == "f32":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if ty == "f64":
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    return None  # references: not compared


def _is_nan(ty: str, bits: int) -> bool:
    if ty == "f32":
        return bits & 0x7F80_0000 == 0x7F80_0000 and bits & 0x007F_FFFF != 0
    if ty == "f64":
        return bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 and bits & 0x000F_FFFF_FFFF_FFFF != 0
    return False


def same_bits(ty: str, n_bits: int, w_bits: int) -> bool:
    """Exact bits, except that any NaN equals any NaN: wasmtime-py hands floats over as Python
    floats, and an f32 signalling NaN (e.g. a global's initial value, which smith's NaN
    canonicalisation leaves alone) comes back quieted by the f32 -> f64 conversion. Results of
    arithmetic are canonical NaNs in both engines (smith's canonicalisation)."""
    return n_bits == w_bits or (_is_nan(ty, n_bits) and _is_nan(ty, w_bits))


def _is_stack_exhaustion(exc: BaseException | None) -> bool:
    if isinstance(exc, nearvm.Trap):
        return exc.code == nearvm.TrapCode.STACK_OVERFLOW
    return exc is not None and "exhausted" in str(exc)


def _memcmp() -> Callable[[int, int, int], int] | None:
    try:
        fn = ctypes.CDLL(None).memcmp
    except (OSError, AttributeError):  # no C library symbols in the process (Windows): slow path
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    return fn


_MEMCMP = _memcmp()


def _same_memory(n_mem: nearvm.Memory, w_mem: wasmtime.Memory, w_store: wasmtime.Store) -> bool:
    """Byte equality of two linear memories in place: memories of smith modules reach GiBs, and
    copying them out (twice per call) once took minutes for one module."""
    size = n_mem.data_size
    if size != w_mem.data_len(w_store):
        return False
    if size == 0:
        return True
    n_view = n_mem.data
    w_addr = ctypes.cast(w_mem.data_ptr(w_store), ctypes.c_void_p).value
    if _MEMCMP is None or w_addr is None:
        return bytes(n_view) == bytes(w_mem.read(w_store, 0, size))
    n_addr = ctypes.addressof((ctypes.c_char * size).from_buffer(n_view))
    return _MEMCMP(n_addr, w_addr, size) == 0


def _compare_state(seed: int, where: str, n_inst, w_exports, w_store) -> None:  # noqa: ANN001
    """Exported memories (bytes) and globals (exact bits) must agree."""
    for name, obj in n_inst.exports.items():
        if isinstance(obj, nearvm.Memory):
            assert _same_memory(obj, w_exports[name], w_store), f"seed {seed}: memory {name} differs after {where}"
        elif isinstance(obj, nearvm.Global):
            ty_name = obj.type.content.name.lower()
            w_bits = _wasmtime_bits(ty_name, w_exports[name].value(w_store))
            if w_bits is not None:
                assert same_bits(ty_name, obj.get_raw(), w_bits), f"seed {seed}: global {name} differs after {where}"


def _wasmtime_engine() -> wasmtime.Engine:
    """Wasmtime with Cranelift's NaN canonicalisation: every float operation that may produce a
    NaN produces the canonical one, as nearvm's JIT does (one NaN on every ISA). Without it, a
    NaN whose bits the spec leaves open (f64.promote_f32 of a NaN with a payload, say) shows up
    through i64.reinterpret_f64, which smith's own canonicalisation does not cover."""
    cfg = wasmtime.Config()
    cfg.cranelift_nan_canonicalization = True
    return wasmtime.Engine(cfg)


def compare(seed: int) -> int:
    """Runs one seed; returns the number of calls compared, raises AssertionError on a mismatch."""
    wasm = smith(seed)
    if wasm is None:
        return 0
    return compare_module(wasm, seed)


def compare_module(wasm: bytes, seed: int) -> int:
    """Compares one module (``seed`` names it in messages and seeds the argument choice)."""
    w_engine = _wasmtime_engine()
    w_store = wasmtime.Store(w_engine)
    # Growth limits are the engines' choice (spec: table/memory.grow may fail); use nearvm's
    # table cap (runtime.h kMaxTableElems) so both fail the same grow.
    w_store.set_limits(table_elements=10_000_000)
    w_module = wasmtime.Module(w_engine, wasm)
    engine = nearvm.Engine()
    module = nearvm.Module(engine, wasm)  # a module Wasmtime accepts must compile
    store = nearvm.Store(engine)
    w_err = n_err = None
    try:
        w_inst = wasmtime.Instance(w_store, w_module, [])
    except Exception as e:  # noqa: BLE001 - any instantiation failure (a trapping start, segments)
        w_err = e
    try:
        n_inst = nearvm.Instance(store, module, {})
    except Exception as e:  # noqa: BLE001
        n_err = e
    if _is_stack_exhaustion(w_err) or _is_stack_exhaustion(n_err):
        return 0
    assert (w_err is None) == (n_err is None), f"seed {seed}: instantiation wasmtime={w_err!r} nearvm={n_err!r}"
    if w_err is not None:
        return 0
    w_exports = w_inst.exports(w_store)
    _compare_state(seed, "instantiation", n_inst, w_exports, w_store)
    rng = random.Random(seed * 7 + 1)
    calls = 0
    for name, ty in module.exports:
        if not isinstance(ty, nearvm.FuncType):
            continue
        params = [p.name.lower() for p in ty.params]
        results = [r.name.lower() for r in ty.results]
        if any(p not in ("i32", "i64", "f32", "f64") for p in params):
            continue
        for _ in range(2):
            args = [rng.choice(EDGE_VALUES) & (0xFFFF_FFFF if p in ("i32", "f32") else (1 << 64) - 1) for p in params]
            w_res = n_res = w_trap = n_trap = None
            try:
                r = w_exports[name](w_store, *[_wasmtime_arg(p, a) for p, a in zip(params, args)])
                w_res = list(r) if isinstance(r, (list, tuple)) else ([] if r is None else [r])
            except wasmtime.Trap as e:
                w_trap = e
            except wasmtime.WasmtimeError as e:
                w_trap = e
            try:
                n_res = n_inst.exports[name].call_raw(args)
            except nearvm.Trap as e:
                n_trap = e
            calls += 1
            if _is_stack_exhaustion(w_trap) or _is_stack_exhaustion(n_trap):
                return calls
            where = f"seed {seed}: {name}{tuple(hex(a) for a in args)}"
            assert (w_trap is None) == (n_trap is None), (
                f"{where}: wasmtime={w_res or w_trap!r} nearvm={n_res or n_trap!r}")
            # Side effects, trap or not (smith's termination fuel is a global: a wrong count shows).
            _compare_state(seed, where, n_inst, w_exports, w_store)
            if w_trap is not None:
                continue
            for ty_name, w_val, n_bits in zip(results, w_res, n_res):
                w_bits = _wasmtime_bits(ty_name, w_val)
                if w_bits is not None:
                    assert same_bits(ty_name, n_bits, w_bits), (
                        f"{where}: {ty_name} result wasmtime={w_bits:#x} nearvm={n_bits:#x}")
    return calls
