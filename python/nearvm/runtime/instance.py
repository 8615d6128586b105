"""``Instance``: linking (spec §4.5.3 "Import matching") and instantiation (spec §4.5.4)."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from ..errors import InstantiationError, LinkError, Trap
from ..wasm.module import ConstExpr, ModuleInfo
from ..wasm.types import FuncType, GlobalType, MemoryType, TableType, ValType
from ._ffi import check, ffi, lib, new_err
from .engine import Module
from .objects import Func, Global, Memory, Table
from .store import Store

__all__ = ["Instance", "Extern"]

Extern = Func | Memory | Table | Global

_UNBOUNDED = 0xFFFF_FFFF


def _limits_match(actual_min: int, actual_max: int | None, want_min: int, want_max: int | None) -> bool:
    """Spec §4.5.3 (limits subtyping): the provided limits must lie within the required ones."""
    if actual_min < want_min:
        return False
    if want_max is not None:
        return actual_max is not None and actual_max <= want_max
    return True


def _describe(obj: object) -> str:
    return type(obj).__name__


def _check_imports(imports: object, info: ModuleInfo) -> Mapping[str, Mapping[str, Any]]:
    """``imports`` as a two-level mapping, or a TypeError that says how to write it.

    wasmtime-py takes a list in import order; nearvm takes names, so that a module's imports can
    be satisfied by one dictionary whatever their order.
    """
    if imports is None:
        return {}
    if isinstance(imports, Mapping):
        for mod, names in imports.items():
            if not isinstance(names, Mapping):
                raise TypeError(f"imports[{mod!r}] must be a mapping from import name to Func/Memory/Table/Global, "
                                f"got {_describe(names)}")
        return imports
    hint = ""
    if isinstance(imports, (list, tuple)):
        wanted = ", ".join(f"{imp.module}.{imp.name}" for imp in info.imports) or "none"
        hint = (" (a list in import order, as wasmtime-py takes, is not accepted: name each import, e.g. "
                "{\"env\": {\"log\": log_func}}; this module imports: " + wanted + ")")
    raise TypeError("Instance(store, module, imports): imports must be a mapping {module: {name: extern}}, "
                    f"got {_describe(imports)}{hint}")


def _not_an_extern(where: str, kind: str, ty: object, obj: object) -> str:
    if callable(obj):
        if kind == "func":
            assert isinstance(ty, FuncType)
            params = ", ".join(f"nearvm.ValType.{t.name}" for t in ty.params)
            results = ", ".join(f"nearvm.ValType.{t.name}" for t in ty.results)
            name = getattr(obj, "__name__", "fn")
            name = name if name.isidentifier() else "fn"
            return (f"{where}: a plain Python callable is not a wasm function; wrap it with its wasm type "
                    f"{ty}: nearvm.Func(store, nearvm.FuncType([{params}], [{results}]), {name})")
        return f"{where} is a {kind}, got a Python callable"
    return f"{where}: expected a nearvm.Func, Memory, Table or Global (a {kind}), got {_describe(obj)}"


class Instance:
    """``Instance(store, module, imports)``: imports as ``{"module": {"name": obj}}``.

    Raises LinkError for a missing or mismatched import and Trap if an active segment or the start
    function traps (Wasm 2.0: segments apply in order, earlier writes stay visible). ``exports`` is
    a read-only mapping from name to Func/Memory/Table/Global in module order.
    """

    def __init__(self, store: Store, module: Module, imports: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if not isinstance(store, Store):
            raise TypeError("Instance(store, module, imports): store must be a nearvm.Store")
        if not isinstance(module, Module):
            raise TypeError("Instance(store, module, imports): module must be a nearvm.Module")
        if module.engine is not store.engine:
            raise ValueError("the module and the store belong to different engines")
        self.store = store
        self.module = module
        info: ModuleInfo = module.info
        imports = _check_imports(imports, info)

        funcs: list[Func] = []
        memories: list[Memory] = []
        tables: list[Table] = []
        globals_: list[Global] = []
        for imp in info.imports:
            obj = imports.get(imp.module, {}).get(imp.name)
            if obj is None:
                raise LinkError(f"unknown import: {imp.module}.{imp.name} ({imp.kind}) was not provided")
            where = f"import {imp.module}.{imp.name}"
            if not isinstance(obj, (Func, Memory, Table, Global)):
                raise TypeError(_not_an_extern(where, imp.kind, imp.type, obj))
            if getattr(obj, "store", None) is not store:
                if isinstance(obj, (Func, Memory, Table, Global)):
                    raise LinkError(f"{where}: the object belongs to another Store")
            if imp.kind == "func":
                if not isinstance(obj, Func):
                    raise LinkError(f"incompatible import type: {where} expects a function, got {_describe(obj)}")
                ty = imp.type
                assert isinstance(ty, FuncType)
                if obj.type != ty:
                    raise LinkError(f"incompatible import type: {where} expects {ty}, got {obj.type}")
                funcs.append(obj)
            elif imp.kind == "memory":
                if not isinstance(obj, Memory):
                    raise LinkError(f"incompatible import type: {where} expects a memory, got {_describe(obj)}")
                mt = imp.type
                assert isinstance(mt, MemoryType)
                if not _limits_match(obj.size_pages, obj.maximum, mt.minimum, mt.maximum):
                    raise LinkError(f"incompatible import type: {where} expects memory limits "
                                    f"{mt.minimum}..{mt.maximum}, got {obj.size_pages}..{obj.maximum}")
                memories.append(obj)
            elif imp.kind == "table":
                if not isinstance(obj, Table):
                    raise LinkError(f"incompatible import type: {where} expects a table, got {_describe(obj)}")
                tt = imp.type
                assert isinstance(tt, TableType)
                if obj.type.element != tt.element:
                    raise LinkError(f"incompatible import type: {where} expects {tt.element} elements, "
                                    f"got {obj.type.element}")
                if not _limits_match(obj.size, obj.type.maximum, tt.minimum, tt.maximum):
                    raise LinkError(f"incompatible import type: {where} expects table limits "
                                    f"{tt.minimum}..{tt.maximum}, got {obj.size}..{obj.type.maximum}")
                tables.append(obj)
            else:
                if not isinstance(obj, Global):
                    raise LinkError(f"incompatible import type: {where} expects a global, got {_describe(obj)}")
                gt = imp.type
                assert isinstance(gt, GlobalType)
                if obj.type.content != gt.content or obj.type.mutable != gt.mutable:
                    raise LinkError(f"incompatible import type: {where} expects {gt}, got {obj.type}")
                globals_.append(obj)

        # The module's own memories, tables and globals (globals are initialised below, once the
        # instance's functions exist for ref.func). A valid module may still exceed what this
        # engine provides at instantiation (spec §4.5.4 allows it: implementation limits).
        try:
            for mt in info.memories[info.num_imported_memories:]:
                memories.append(Memory(store, mt))
            for tt in info.tables[info.num_imported_tables:]:
                tables.append(Table(store, tt))
            for gt in info.globals[info.num_imported_globals:]:
                globals_.append(Global._from_bits(store, gt, 0))
        except (ValueError, MemoryError) as e:
            raise InstantiationError(f"cannot instantiate: {e}") from e

        out = ffi.new("nvm_instance_t**")
        err = new_err()
        func_ptrs = ffi.new("void*[]", [f._ref for f in funcs] or [ffi.NULL])
        mem_ptrs = ffi.new("nvm_memory_t*[]", [m._ptr for m in memories] or [ffi.NULL])
        tab_ptrs = ffi.new("nvm_table_t*[]", [t._ptr for t in tables] or [ffi.NULL])
        glob_ptrs = ffi.new("nvm_global_t*[]", [g._ptr for g in globals_] or [ffi.NULL])
        try:
            check(lib.nvm_instance_new(store._ptr, module._ptr, func_ptrs, len(funcs), mem_ptrs, len(memories),
                                       tab_ptrs, len(tables), glob_ptrs, len(globals_), len(info.elems), out, err,
                                       len(err)), err, "cannot instantiate")
        except (ValueError, MemoryError, RuntimeError) as e:
            raise InstantiationError(str(e)) from e
        self._ptr = out[0]
        addr = int(ffi.cast("uintptr_t", self._ptr))
        # The Store keeps the Instance object itself (not a weak reference): the native instance
        # lives as long as the Store, and a host function's Caller must find it even when the
        # user dropped every reference to the Instance.
        store._instances[addr] = self
        store._instance_modules[addr] = module
        self._memories = memories
        self._tables = tables
        self._globals = globals_
        self._imported_funcs = funcs

        # Globals, in order (spec: constant expressions may read imported globals, ref.func).
        for i, init in enumerate(info.global_inits):
            g = globals_[info.num_imported_globals + i]
            g._set_bits_unchecked(self._eval_const(init))

        # Element segments: resolve items; active ones are applied in order, then dropped.
        for idx, seg in enumerate(info.elems):
            items = [self._eval_const(e) for e in seg.items]
            arr = ffi.new("uintptr_t[]", items or [0])
            check(lib.nvm_instance_set_elem(self._ptr, idx, arr, len(items)), ffi.new("char[]", 1),
                  "cannot set element segment")
        self._exports = self._build_exports(info)
        for idx, seg in enumerate(info.elems):
            if seg.mode == "active":
                assert seg.offset is not None
                offset = self._eval_const(seg.offset) & 0xFFFF_FFFF
                code = lib.nvm_instance_table_init(self._ptr, seg.table_index, idx, offset, 0, len(seg.items))
                if code:
                    raise Trap.from_code(code)
                lib.nvm_instance_elem_drop(self._ptr, idx)
            elif seg.mode == "declarative":
                lib.nvm_instance_elem_drop(self._ptr, idx)
        # Active data segments: one C call per instantiation (memory.init + data.drop each, in
        # order), from a per-module plan (Module._active_datas).
        segs, n_segs = module._active_datas()
        if n_segs:
            code = lib.nvm_instance_init_datas(self._ptr, segs, n_segs)
            if code:
                raise Trap.from_code(code)

        if info.start is not None:
            self._func(info.start)()

    # ---- helpers -------------------------------------------------------------------------------
    def _eval_const(self, expr: ConstExpr) -> int:
        op, arg = expr
        if op in ("i32.const", "f32.const"):
            return int(arg) & 0xFFFF_FFFF
        if op in ("i64.const", "f64.const"):
            return int(arg) & 0xFFFF_FFFF_FFFF_FFFF
        if op == "ref.null":
            return 0
        if op == "ref.func":
            ref = lib.nvm_instance_func(self._ptr, int(arg))
            return int(ffi.cast("uintptr_t", ref))
        if op == "global.get":
            return self._globals[int(arg)]._bits()
        raise ValueError(f"unsupported constant expression {op}")

    def _func(self, index: int) -> Func:
        ref = lib.nvm_instance_func(self._ptr, index)
        addr = int(ffi.cast("uintptr_t", ref))
        if index < len(self._imported_funcs):
            return self._imported_funcs[index]
        f = self.store._funcs.get(addr)
        if f is None:
            f = Func._from_ref(self.store, ref, self.module.info.func_type(index))
            self.store._funcs[addr] = f
        return f

    def _build_exports(self, info: ModuleInfo) -> Mapping[str, Extern]:
        exports: dict[str, Extern] = {}
        for exp in info.exports:
            obj: Extern
            if exp.kind == "func":
                obj = self._func(exp.index)
            elif exp.kind == "memory":
                obj = self._memories[exp.index]
            elif exp.kind == "table":
                obj = self._tables[exp.index]
            else:
                obj = self._globals[exp.index]
            exports[exp.name] = obj
        return types.MappingProxyType(exports)

    @property
    def exports(self) -> Mapping[str, Extern]:
        """The exports by name, in module order (read-only): Func, Memory, Table or Global."""
        return self._exports

    def __repr__(self) -> str:
        exports = getattr(self, "_exports", None)  # absent when the constructor raised
        if exports is None:
            return "<nearvm.Instance (not created)>"
        return f"<nearvm.Instance exports={list(exports)}>"


# Keep ValType importable for type checkers reading this module's signatures.
_ = ValType
