"""Test-only: the subset of nearvm's public runtime API the spec runner uses, implemented on
wasmtime-py (features pinned to Wasm 2.0 without SIMD). It lets the exec-mode logic of
``nearvm.wast`` be checked against a real engine before nearvm's own runtime exists.

Never import this from shipped code. Numbers cross ``call_raw`` as raw bit patterns (f32/f64 are
written into and read from the ``wasmtime_val_t`` union as integers, so NaN payloads survive).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm

from nearvm.errors import LinkError, StackOverflow, Trap, TrapCode, ValidationError
from nearvm.wasm.types import FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = ["RUNTIME"]

_WT_CODES = {
    wasmtime.TrapCode.STACK_OVERFLOW: TrapCode.STACK_OVERFLOW,
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: TrapCode.MEMORY_OUT_OF_BOUNDS,
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: TrapCode.TABLE_OUT_OF_BOUNDS,
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: TrapCode.UNINITIALIZED_ELEMENT,
    wasmtime.TrapCode.BAD_SIGNATURE: TrapCode.INDIRECT_CALL_TYPE_MISMATCH,
    wasmtime.TrapCode.INTEGER_OVERFLOW: TrapCode.INTEGER_OVERFLOW,
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: TrapCode.INTEGER_DIVIDE_BY_ZERO,
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: TrapCode.INVALID_CONVERSION,
    wasmtime.TrapCode.UNREACHABLE: TrapCode.UNREACHABLE,
}


def _trap(exc: wasmtime.Trap) -> Trap:
    code = _WT_CODES.get(exc.trap_code, TrapCode.HOST_ERROR) if exc.trap_code is not None else TrapCode.HOST_ERROR
    return Trap.from_code(code, exc.message)


def _wt_valtype(t: ValType) -> wasmtime.ValType:
    return {
        ValType.I32: wasmtime.ValType.i32,
        ValType.I64: wasmtime.ValType.i64,
        ValType.F32: wasmtime.ValType.f32,
        ValType.F64: wasmtime.ValType.f64,
        ValType.FUNCREF: wasmtime.ValType.funcref,
        ValType.EXTERNREF: wasmtime.ValType.externref,
    }[ValType(t)]()


def _nv_valtype(t: wasmtime.ValType) -> ValType:
    for nv in (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.FUNCREF, ValType.EXTERNREF):
        if t == _wt_valtype(nv):
            return nv
    raise TypeError(f"unsupported wasmtime type {t}")


def _nv_type(t: Any) -> Any:
    if isinstance(t, wasmtime.FuncType):
        return FuncType([_nv_valtype(p) for p in t.params], [_nv_valtype(r) for r in t.results])
    if isinstance(t, wasmtime.GlobalType):
        return GlobalType(_nv_valtype(t.content), t.mutable)
    if isinstance(t, wasmtime.MemoryType):
        return MemoryType(t.limits.min, t.limits.max)
    if isinstance(t, wasmtime.TableType):
        return TableType(_nv_valtype(t.element), t.limits.min, t.limits.max)
    raise TypeError(t)


class Config:
    pass


class Engine:
    def __init__(self, config: Config) -> None:
        c = wasmtime.Config()
        c.wasm_simd = False
        c.wasm_relaxed_simd = False
        c.wasm_multi_memory = False
        c.wasm_memory64 = False
        c.wasm_tail_call = False
        c.wasm_function_references = False
        c.wasm_gc = False
        c.wasm_threads = False
        c.wasm_exceptions = False
        c.wasm_wide_arithmetic = False
        c.wasm_custom_page_sizes = False
        self.wt = wasmtime.Engine(c)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.wt = wasmtime.Store(engine.wt)


class Module:
    def __init__(self, engine: Engine, data: bytes) -> None:
        try:
            self.wt = wasmtime.Module(engine.wt, data)
        except wasmtime.WasmtimeError as exc:
            # wasmtime does not separate decoding from validation errors.
            raise ValidationError(str(exc).splitlines()[0]) from exc
        self.imports = [(i.module, i.name, _nv_type(i.type)) for i in self.wt.imports]
        self.exports = [(e.name, _nv_type(e.type)) for e in self.wt.exports]


class Extern:
    def __init__(self, store: Store, wt: Any) -> None:
        self.store = store
        self.wt = wt


class Func(Extern):
    def __init__(self, store: Store, ty: FuncType, fn: Callable[..., Any]) -> None:
        wt_ty = wasmtime.FuncType([_wt_valtype(p) for p in ty.params], [_wt_valtype(r) for r in ty.results])
        super().__init__(store, wasmtime.Func(store.wt, wt_ty, fn))

    @classmethod
    def wrap(cls, store: Store, wt: wasmtime.Func) -> Func:
        self = cls.__new__(cls)
        Extern.__init__(self, store, wt)
        return self

    def call_raw(self, args: Sequence[Any]) -> list[Any]:
        store = self.store.wt
        ty = self.wt.type(store)
        if len(args) != len(ty.params):
            raise TypeError("wrong number of arguments")
        params = (ffi.wasmtime_val_t * len(args))()
        for i, (t, a) in enumerate(zip(ty.params, args)):
            name = str(_nv_valtype(t))
            if name in ("i32", "f32"):
                params[i].kind = ffi.WASMTIME_I32.value if name == "i32" else ffi.WASMTIME_F32.value
                params[i].of.i32 = struct.unpack("<i", struct.pack("<I", a))[0]
            elif name in ("i64", "f64"):
                params[i].kind = ffi.WASMTIME_I64.value if name == "i64" else ffi.WASMTIME_F64.value
                params[i].of.i64 = struct.unpack("<q", struct.pack("<Q", a))[0]
            else:
                val = a.wt if isinstance(a, Func) else a
                params[i] = wasmtime.Val._convert_to_raw(store, t, val)
        results = (ffi.wasmtime_val_t * len(ty.results))()
        try:
            with enter_wasm(store) as trap:
                error = ffi.wasmtime_func_call(
                    store._context(), ffi.byref(self.wt._func), params, len(args), results, len(ty.results), trap
                )
                if error:
                    raise wasmtime.WasmtimeError._from_ptr(error)
        except wasmtime.Trap as exc:
            raise _trap(exc) from None
        out: list[Any] = []
        for i, t in enumerate(ty.results):
            name = str(_nv_valtype(t))
            if name in ("i32", "f32"):
                out.append(results[i].of.i32 & 0xFFFF_FFFF)
            elif name in ("i64", "f64"):
                out.append(results[i].of.i64 & 0xFFFF_FFFF_FFFF_FFFF)
            else:
                v = wasmtime.Val._from_raw(store, results[i]).value
                out.append(Func.wrap(self.store, v) if isinstance(v, wasmtime.Func) else v)
        return out


class Global(Extern):
    def __init__(self, store: Store, ty: GlobalType, value: Any) -> None:
        wt_ty = wasmtime.GlobalType(_wt_valtype(ty.content), ty.mutable)
        super().__init__(store, wasmtime.Global(store.wt, wt_ty, value))

    def get_raw(self) -> Any:
        v = self.wt.value(self.store.wt)
        t = str(_nv_valtype(self.wt.type(self.store.wt).content))
        if t == "f32":
            return struct.unpack("<I", struct.pack("<f", v))[0]
        if t == "f64":
            return struct.unpack("<Q", struct.pack("<d", v))[0]
        if t in ("i32", "i64"):
            return v & (0xFFFF_FFFF if t == "i32" else 0xFFFF_FFFF_FFFF_FFFF)
        return v


class Memory(Extern):
    def __init__(self, store: Store, ty: MemoryType) -> None:
        super().__init__(store, wasmtime.Memory(store.wt, wasmtime.MemoryType(wasmtime.Limits(ty.minimum, ty.maximum))))


class Table(Extern):
    def __init__(self, store: Store, ty: TableType) -> None:
        wt_ty = wasmtime.TableType(_wt_valtype(ty.element), wasmtime.Limits(ty.minimum, ty.maximum))
        super().__init__(store, wasmtime.Table(store.wt, wt_ty, None))


def _wrap(store: Store, wt: Any) -> Extern:
    if isinstance(wt, wasmtime.Func):
        return Func.wrap(store, wt)
    cls = {wasmtime.Global: Global, wasmtime.Memory: Memory, wasmtime.Table: Table}[type(wt)]
    obj = cls.__new__(cls)
    Extern.__init__(obj, store, wt)
    return obj


class Instance:
    def __init__(self, store: Store, module: Module, imports: Mapping[str, Mapping[str, Extern]]) -> None:
        externs = []
        for mod, name, _ty in module.imports:
            try:
                externs.append(imports[mod][name].wt)
            except KeyError:
                raise LinkError(f"unknown import {mod}.{name}") from None
        try:
            inst = wasmtime.Instance(store.wt, module.wt, externs)
        except wasmtime.Trap as exc:
            raise _trap(exc) from None
        except wasmtime.WasmtimeError as exc:
            msg = str(exc)
            if "wasm trap" in msg or "out of bounds" in msg:
                raise Trap(TrapCode.HOST_ERROR, msg) from None
            raise LinkError(msg.splitlines()[0]) from None
        ex = inst.exports(store.wt)
        self.exports = {e.name: _wrap(store, ex[e.name]) for e in module.wt.exports}


class _Runtime:
    """Namespace with the names ``nearvm.wast.WastRunner(runtime=...)`` reads."""

    Config = Config
    Engine = Engine
    Store = Store
    Module = Module
    Instance = Instance
    Func = Func
    Global = Global
    Memory = Memory
    Table = Table
    FuncType = FuncType
    GlobalType = GlobalType
    MemoryType = MemoryType
    TableType = TableType
    ValType = ValType
    Trap = Trap
    StackOverflow = StackOverflow
    LinkError = LinkError


RUNTIME = _Runtime()
