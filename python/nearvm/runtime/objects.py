"""Extern objects: ``Func``, ``Memory``, ``Table``, ``Global`` and the host-side ``Caller``.

Values (docs/design.md "Public Python API"): i32/i64 as Python ints (signed out, signed or
unsigned in, wrapped), f32/f64 as floats, funcref as ``Func`` or None, externref as any Python
object or None (kept alive by the Store). ``call_raw``/``get_raw``/``set_raw`` use exact bit
patterns: i32/f32 unsigned 32-bit, i64/f64 unsigned 64-bit, references as Func/object/None.
"""

from __future__ import annotations

import struct
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import OutOfGas, Trap, TrapCode
from ..wasm.types import MAX_PAGES, FuncType, GlobalType, MemoryType, TableType, ValType
from ._ffi import check, ffi, lib, new_err
from .store import Store

_get_ident = threading.get_ident
_nvm_call = lib.nvm_call
_NEEDS_STACK = lib.NVM_CALL_NEEDS_STACK

if TYPE_CHECKING:
    from .instance import Instance

__all__ = ["Caller", "Func", "Global", "Memory", "Table", "to_bits", "from_bits", "raw_to_bits", "raw_from_bits"]

_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF


def _check_int(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")


def _check_store(store: Any, what: str) -> Store:
    if not isinstance(store, Store):
        raise TypeError(f"{what}: store must be a nearvm.Store")
    return store


# ---- value conversion ----------------------------------------------------------------------

def _int_bits(value: Any, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int for i{bits}, got {type(value).__name__}")
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise ValueError(f"{value} is out of range for i{bits}")
    return value & ((1 << bits) - 1)


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a float for {name}, got {type(value).__name__}")
    return float(value)


def _ref_bits(store: Store, ty: ValType, value: Any) -> int:
    if ty is ValType.FUNCREF:
        if value is None:
            return 0
        if not isinstance(value, Func):
            raise TypeError(f"expected a nearvm.Func or None for funcref, got {type(value).__name__}")
        if value.store is not store:
            raise ValueError("the Func belongs to another Store")
        return int(ffi.cast("uintptr_t", value._ref))
    return store._extern_to_handle(value)


def to_bits(store: Store, ty: ValType, value: Any) -> int:
    """A Python value of type ``ty`` as the 64-bit slot contents."""
    if ty is ValType.I32:
        return _int_bits(value, 32)
    if ty is ValType.I64:
        return _int_bits(value, 64)
    if ty is ValType.F32:
        return struct.unpack("<I", struct.pack("<f", _float(value, "f32")))[0]
    if ty is ValType.F64:
        return struct.unpack("<Q", struct.pack("<d", _float(value, "f64")))[0]
    if ty.is_ref:
        return _ref_bits(store, ty, value)
    raise TypeError(f"unsupported value type {ty}")


def from_bits(store: Store, ty: ValType, bits: int) -> Any:
    """The Python value of a slot of type ``ty``."""
    if ty is ValType.I32:
        v = bits & _M32
        return v - (1 << 32) if v >> 31 else v
    if ty is ValType.I64:
        v = bits & _M64
        return v - (1 << 64) if v >> 63 else v
    if ty is ValType.F32:
        return struct.unpack("<f", struct.pack("<I", bits & _M32))[0]
    if ty is ValType.F64:
        return struct.unpack("<d", struct.pack("<Q", bits & _M64))[0]
    if ty is ValType.FUNCREF:
        return store._func_from_ref(bits)
    if ty is ValType.EXTERNREF:
        return store._extern_from_handle(bits)
    raise TypeError(f"unsupported value type {ty}")


def raw_to_bits(store: Store, ty: ValType, value: Any) -> int:
    """``call_raw`` argument: an exact unsigned bit pattern (numbers) or Func/object/None (refs)."""
    if ty.is_ref:
        return _ref_bits(store, ty, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"raw {ty} values are ints (bit patterns), got {type(value).__name__}")
    width = 32 if ty in (ValType.I32, ValType.F32) else 64
    if not 0 <= value < (1 << width):
        raise ValueError(f"raw {ty} value {value} is not an unsigned {width}-bit pattern")
    return value


def raw_from_bits(store: Store, ty: ValType, bits: int) -> Any:
    if ty.is_ref:
        return from_bits(store, ty, bits)
    return bits & (_M32 if ty in (ValType.I32, ValType.F32) else _M64)


# ---- per-type converters (the call fast path: one function per parameter/result, chosen once) --

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
Conv = Callable[[Store, Any], Any]


def _in_i32(store: Store, v: Any) -> int:
    if type(v) is int and -0x8000_0000 <= v <= _M32:
        return v & _M32
    return _int_bits(v, 32)


def _in_i64(store: Store, v: Any) -> int:
    if type(v) is int and -0x8000_0000_0000_0000 <= v <= _M64:
        return v & _M64
    return _int_bits(v, 64)


def _in_f32(store: Store, v: Any) -> int:
    if type(v) is not float:
        v = _float(v, "f32")
    return int(_U32.unpack(_F32.pack(v))[0])


def _in_f64(store: Store, v: Any) -> int:
    if type(v) is not float:
        v = _float(v, "f64")
    return int(_U64.unpack(_F64.pack(v))[0])


def _out_i32(store: Store, b: int) -> int:
    b &= _M32
    return b - 0x1_0000_0000 if b >> 31 else b


def _out_i64(store: Store, b: int) -> int:
    return b - 0x1_0000_0000_0000_0000 if b >> 63 else b


def _out_f32(store: Store, b: int) -> float:
    return float(_F32.unpack(_U32.pack(b & _M32))[0])


def _out_f64(store: Store, b: int) -> float:
    return float(_F64.unpack(_U64.pack(b))[0])


def _raw_in(ty: ValType) -> Conv:
    return lambda store, v: raw_to_bits(store, ty, v)


def _raw_out(ty: ValType) -> Conv:
    return lambda store, b: raw_from_bits(store, ty, b)


def _in_conv(ty: ValType) -> Conv:
    return {ValType.I32: _in_i32, ValType.I64: _in_i64, ValType.F32: _in_f32,
            ValType.F64: _in_f64}.get(ty) or (lambda store, v: _ref_bits(store, ty, v))


def _out_conv(ty: ValType) -> Conv:
    return {ValType.I32: _out_i32, ValType.I64: _out_i64, ValType.F32: _out_f32,
            ValType.F64: _out_f64}.get(ty) or (lambda store, b: from_bits(store, ty, b))


class _CallPlan:
    """What calling a Func needs, built once per Func: converters and a preallocated slot buffer.

    Reusing the buffer is safe with re-entrancy: the entry trampoline copies the arguments onto
    the wasm stack on entry and the results back on return, so a nested call of the same Func
    (from a host function) only uses the buffer while the outer call does not, and each caller
    reads its results before anything else runs on this Store's thread.
    """

    __slots__ = ("buf", "n_params", "n_slots", "params", "raw_params", "raw_results", "results")

    def __init__(self, ty: FuncType) -> None:
        self.n_params = len(ty.params)
        # Even slot count: keeps the argument area 16-byte sized even if the entry stub does not
        # round it up (workaround for the x64 stub's dropped "+15" in its lea, see report).
        self.n_slots = (max(len(ty.params), len(ty.results), 1) + 1) & ~1
        self.buf = ffi.new("uint64_t[]", self.n_slots)
        self.params = tuple(_in_conv(t) for t in ty.params)
        self.results = tuple(_out_conv(t) for t in ty.results)
        self.raw_params = tuple(_raw_in(t) for t in ty.params)
        self.raw_results = tuple(_raw_out(t) for t in ty.results)


# ---- functions -----------------------------------------------------------------------------

class _HostRecord:
    """What the C side's host-call `data` handle points to, with the per-type converters chosen
    once (a host call converts each parameter and result through one precomputed function)."""

    __slots__ = ("__weakref__", "access_caller", "arg_convs", "fn", "func", "res_convs", "store_ref", "type")

    def __init__(self, store: Store, ty: FuncType, fn: Callable[..., Any], access_caller: bool) -> None:
        self.store_ref = weakref.ref(store)
        self.type = ty
        self.fn = fn
        self.access_caller = access_caller
        self.func: Func | None = None
        self.arg_convs = tuple(_out_conv(t) for t in ty.params)    # wasm bits -> Python
        self.res_convs = tuple(_in_conv(t) for t in ty.results)    # Python -> wasm bits


def _host_results(store: Store, rec: _HostRecord, result: Any, args: Any) -> None:
    """Checks and converts a host function's return value into the result slots."""
    convs = rec.res_convs
    n = len(convs)
    if n == 0:
        if result is not None:
            raise TypeError(f"host function of type {rec.type} must return None, got {type(result).__name__}")
        return
    if n == 1:
        value = result[0] if isinstance(result, tuple) and len(result) == 1 else result
        args[0] = convs[0](store, value)
        return
    if not isinstance(result, (tuple, list)) or len(result) != n:
        raise TypeError(f"host function of type {rec.type} must return a tuple of {n} values")
    bits = [conv(store, v) for conv, v in zip(convs, result)]  # all converted before any is written
    for j, b in enumerate(bits):
        args[j] = b


def _host_trampoline(data: Any, caller: Any, args: Any) -> int:
    """The one dispatcher for host functions (GIL held: cffi re-acquires it for callbacks)."""
    rec: _HostRecord = ffi.from_handle(data)
    store = rec.store_ref()
    if store is None:  # cannot happen while wasm of this store runs; be safe
        return int(TrapCode.HOST_ERROR)
    try:
        params = [conv(store, args[i]) for i, conv in enumerate(rec.arg_convs)]
        if rec.access_caller:
            params.insert(0, Caller(store, caller))
        _host_results(store, rec, rec.fn(*params), args)
        return 0
    except Trap as e:  # OutOfGas from caller.charge_gas, or a trap of a nested wasm call
        store._pending = e
        return int(e.code)
    except BaseException as e:  # never unwind through machine code
        store._pending = e
        return int(TrapCode.HOST_ERROR)


def _callback_error(exc_type: Any, exc: Any, tb: Any) -> None:  # pragma: no cover - defensive
    return None


_HOST_CALLBACK = ffi.callback("nvm_host_callback", _host_trampoline, error=int(TrapCode.HOST_ERROR),
                              onerror=_callback_error)


class Func:
    """A function: ``Func(store, FuncType, callable, access_caller=False)`` defines a host function.

    Calling it (``f(*args)``) returns None, one value or a tuple; ``call_raw(list)`` takes and returns
    exact bit patterns. Raises :class:`nearvm.Trap` when wasm traps.
    """

    def __init__(self, store: Store, ty: FuncType, fn: Callable[..., Any], access_caller: bool = False) -> None:
        store = _check_store(store, "Func")
        if not isinstance(ty, FuncType):
            raise TypeError("Func(store, type, callable): type must be a nearvm.FuncType")
        if not callable(fn):
            raise TypeError("Func(store, type, callable): callable is not callable")
        rec = _HostRecord(store, ty, fn, bool(access_caller))
        handle = ffi.new_handle(rec)
        store._host_records.append((rec, handle))
        ref = lib.nvm_func_new_host(store._ptr, store.engine._type_id(ty), _HOST_CALLBACK, handle,
                                    int(bool(access_caller)))
        if ref == ffi.NULL:
            raise MemoryError("cannot create host function")
        rec.func = self
        self.store = store
        self._type = ty
        self._ref = ref
        self._host = rec
        self._call_plan: _CallPlan | None = None
        store._funcs[int(ffi.cast("uintptr_t", ref))] = self

    @classmethod
    def _from_ref(cls, store: Store, ref: Any, ty: FuncType) -> Func:
        self = cls.__new__(cls)
        self.store = store
        self._type = ty
        self._ref = ref
        self._host = None
        self._call_plan = None
        return self

    @property
    def type(self) -> FuncType:
        """The function's signature."""
        return self._type

    def _plan(self) -> _CallPlan:
        plan = self._call_plan = _CallPlan(self._type)
        return plan

    def __call__(self, *args: Any) -> Any:
        plan = self._call_plan or self._plan()
        if len(args) != plan.n_params:
            ty = self._type
            raise TypeError(f"function of type {ty} takes {len(ty.params)} arguments, got {len(args)}")
        store = self.store
        buf = plan.buf
        # Claim the Store before the shared buffer is written (Store._claim, inlined for the
        # outermost call: the per-call fast path); another thread's call raises RuntimeError.
        tid = _get_ident()
        if store._thread == tid:
            store._claim()  # nested (wasm -> host -> wasm): the depth limit
        elif store._claim_lock.acquire(False):
            store._thread = tid
            store._depth = 1
        else:
            raise RuntimeError("this Store is in use by another thread (one thread per Store at a time)")
        try:
            i = 0
            for conv, v in zip(plan.params, args):
                buf[i] = conv(store, v)
                i += 1
            code = _nvm_call(store._ptr, self._ref, buf, plan.n_slots)
            if code:
                if code == _NEEDS_STACK:
                    code = store._call_on_big_stack(self._ref, buf, plan.n_slots)
                if code:
                    store._raise_trap(code)
            results = plan.results
            if not results:
                return None
            if len(results) == 1:
                return results[0](store, buf[0])
            return tuple([conv(store, buf[j]) for j, conv in enumerate(results)])
        finally:
            depth = store._depth - 1  # Store._release, inlined
            store._depth = depth
            if not depth:
                store._thread = None
                store._claim_lock.release()

    def call_raw(self, args: list[Any]) -> list[Any]:
        """Call with exact bit patterns: numbers as unsigned ints of their width (i32/f32 32-bit, i64/f64
        64-bit), references as Func/object/None; returns the results the same way (always a list).
        Raises :class:`nearvm.Trap`."""
        plan = self._call_plan or self._plan()
        args = list(args)
        if len(args) != plan.n_params:
            ty = self._type
            raise TypeError(f"function of type {ty} takes {len(ty.params)} arguments, got {len(args)}")
        store = self.store
        buf = plan.buf
        store._claim()
        try:
            for i, (conv, v) in enumerate(zip(plan.raw_params, args)):
                buf[i] = conv(store, v)
            code = store._run(self._ref, buf, plan.n_slots)
            if code:
                store._raise_trap(code)
            return [conv(store, buf[j]) for j, conv in enumerate(plan.raw_results)]
        finally:
            store._release()

    def __repr__(self) -> str:
        kind = "host" if self._host is not None else "wasm"
        return f"<nearvm.Func ({kind}) {self._type}>"


class Caller:
    """Passed first to host functions declared with ``access_caller=True``."""

    def __init__(self, store: Store, instance_ptr: Any) -> None:
        self._store = store
        self._instance_addr = 0 if instance_ptr == ffi.NULL else int(ffi.cast("uintptr_t", instance_ptr))

    @property
    def store(self) -> Store:
        """The Store the calling wasm runs in."""
        return self._store

    @property
    def instance(self) -> Instance | None:
        """The calling Instance (None only for a call that does not come from an instance). The Store keeps
        instances alive, so this is never lost while wasm runs."""
        return self._store._instances.get(self._instance_addr)

    def charge_gas(self, amount: int) -> None:
        """Charge host-side gas; raises :class:`nearvm.OutOfGas` (and burns the budget) if it does not fit."""
        _check_int(amount, "charge_gas: amount")
        if amount < 0:
            raise ValueError("charge_gas: amount must be a non-negative int")
        ptr = self._store._ptr
        if amount > _M64:  # cannot fit: a second full charge always fails and burns the budget
            failed = lib.nvm_store_charge_gas(ptr, _M64) or lib.nvm_store_charge_gas(ptr, _M64)
        else:
            failed = lib.nvm_store_charge_gas(ptr, amount)
        if failed:
            raise OutOfGas()

    @property
    def gas_remaining(self) -> int | None:
        """Gas left in the Store (None without metering); see :attr:`nearvm.Store.gas_remaining`."""
        return self._store.gas_remaining

    def get_export(self, name: str) -> Any:
        """The calling instance's export ``name`` (Func, Memory, Table or Global), or None if it has none by
        that name."""
        inst = self.instance
        if inst is None:
            return None
        return inst.exports.get(name)


# ---- memory --------------------------------------------------------------------------------

class Memory:
    """A linear memory: ``Memory(store, MemoryType(min, max))`` (pages of 64 KiB)."""

    def __init__(self, store: Store, ty: MemoryType) -> None:
        store = _check_store(store, "Memory")
        if not isinstance(ty, MemoryType):
            raise TypeError("Memory(store, type): type must be a nearvm.MemoryType")
        cap = MAX_PAGES if ty.maximum is None else ty.maximum
        config_max = getattr(store.engine.config, "max_memory_pages", None)
        if config_max is not None:
            cap = min(cap, int(config_max))
        if ty.minimum > cap:
            raise ValueError(f"memory minimum {ty.minimum} exceeds the maximum of {cap} pages")
        out = ffi.new("nvm_memory_t**")
        err = new_err()
        declared = 0xFFFF_FFFF if ty.maximum is None else ty.maximum
        check(lib.nvm_memory_new(store._ptr, ty.minimum, cap, declared, out, err, len(err)), err,
              "cannot create memory")
        self.store = store
        self._ptr = out[0]
        self._maximum = ty.maximum

    @property
    def type(self) -> MemoryType:
        """The current type: minimum = current size in pages (spec: external memory types)."""
        return MemoryType(self.size_pages, self._maximum)

    @property
    def minimum(self) -> int:
        """The current size in pages (the minimum of the memory's current type)."""
        return self.size_pages

    @property
    def maximum(self) -> int | None:
        """The declared maximum in pages, or None."""
        return self._maximum

    @property
    def size_pages(self) -> int:
        """The current size in pages of 64 KiB."""
        return int(lib.nvm_memory_pages(self._ptr))

    @property
    def data_size(self) -> int:
        """The current size in bytes."""
        return int(lib.nvm_memory_size(self._ptr))

    @property
    def data(self) -> memoryview:
        """A writable view of the current bytes. It stays valid (at its size) after growth and
        keeps the memory mapped for as long as it exists."""
        size = int(lib.nvm_memory_size(self._ptr))
        lib.nvm_memory_retain(self._ptr)
        mem = self._ptr
        owner = ffi.gc(ffi.cast("uint8_t*", lib.nvm_memory_base(mem)), lambda _p: lib.nvm_memory_release(mem))
        return memoryview(ffi.buffer(owner, size))

    def read(self, offset: int, n: int) -> bytes:
        """``n`` bytes from ``offset`` (a copy); IndexError if the range is not inside the memory."""
        _check_int(offset, "read: offset")
        _check_int(n, "read: n")
        if offset < 0 or n < 0 or offset + n > self.data_size:
            raise IndexError("memory read out of bounds")
        return bytes(ffi.buffer(lib.nvm_memory_base(self._ptr) + offset, n))

    def write(self, offset: int, data: bytes) -> None:
        """Copy ``data`` to ``offset``; IndexError if it does not fit inside the memory."""
        _check_int(offset, "write: offset")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write: data must be bytes, got {type(data).__name__}")
        n = len(data)
        if offset < 0 or offset + n > self.data_size:
            raise IndexError("memory write out of bounds")
        ffi.memmove(lib.nvm_memory_base(self._ptr) + offset, data, n)

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages; returns the previous size. ValueError past the maximum."""
        _check_int(delta, "grow: delta")
        if delta < 0:
            raise ValueError("grow: delta must be a non-negative int")
        if delta > 0xFFFF_FFFF:
            raise ValueError("cannot grow memory past its maximum")
        prev = int(lib.nvm_memory_grow(self._ptr, delta))
        if prev < 0:
            raise ValueError(f"cannot grow memory by {delta} pages past its maximum")
        return prev

    def __repr__(self) -> str:
        return f"<nearvm.Memory pages={self.size_pages} maximum={self._maximum}>"


# ---- table ---------------------------------------------------------------------------------

class Table:
    """A table: ``Table(store, TableType(ValType.FUNCREF, min, max), init=None)``."""

    def __init__(self, store: Store, ty: TableType, init: Any = None) -> None:
        store = _check_store(store, "Table")
        if not isinstance(ty, TableType):
            raise TypeError("Table(store, type): type must be a nearvm.TableType")
        # The runtime maximum: the declared one capped by the Config (table.grow from wasm and
        # from Python both stop there; the declared type is what ``type`` reports).
        maximum = 0xFFFF_FFFF if ty.maximum is None else ty.maximum
        config_max = getattr(store.engine.config, "max_table_elements", None)
        if config_max is not None:
            maximum = min(maximum, int(config_max))
            if ty.minimum > maximum:
                raise ValueError(f"table minimum {ty.minimum} exceeds the Config's max_table_elements {config_max}")
        self.store = store
        self._element = ty.element
        self._maximum = ty.maximum
        init_bits = _ref_bits(store, ty.element, init)
        out = ffi.new("nvm_table_t**")
        err = new_err()
        check(lib.nvm_table_new(store._ptr, int(ty.element), ty.minimum, maximum, init_bits, out, err, len(err)),
              err, "cannot create table")
        self._ptr = out[0]

    @property
    def type(self) -> TableType:
        """The current type: minimum = current size in elements."""
        return TableType(self._element, self.size, self._maximum)

    @property
    def size(self) -> int:
        """The current number of elements."""
        return int(lib.nvm_table_size(self._ptr))

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError("table index must be an int")
        if not 0 <= index < self.size:
            raise IndexError(f"table index {index} out of range (size {self.size})")
        return index

    def get(self, index: int) -> Any:
        """Element ``index``: a Func or None (funcref tables), the Python object or None (externref);
        IndexError out of range."""
        out = ffi.new("uintptr_t*")
        lib.nvm_table_get(self._ptr, self._index(index), out)
        return from_bits(self.store, self._element, int(out[0]))

    def set(self, index: int, value: Any) -> None:
        """Set element ``index`` (a Func of this Store or None; any object for externref); IndexError out of
        range."""
        bits = _ref_bits(self.store, self._element, value)
        lib.nvm_table_set(self._ptr, self._index(index), bits)

    def grow(self, delta: int, init: Any = None) -> int:
        """Grow by ``delta`` elements set to ``init``; returns the previous size. ValueError past the maximum."""
        _check_int(delta, "grow: delta")
        if delta < 0:
            raise ValueError("grow: delta must be a non-negative int")
        bits = _ref_bits(self.store, self._element, init)
        prev = -1 if delta > 0xFFFF_FFFF else int(lib.nvm_table_grow(self._ptr, delta, bits))
        if prev < 0:
            raise ValueError(f"cannot grow table by {delta} elements past its maximum")
        return prev

    def __repr__(self) -> str:
        return f"<nearvm.Table {self._element} size={self.size} maximum={self._maximum}>"


# ---- global --------------------------------------------------------------------------------

class Global:
    """A global: ``Global(store, GlobalType(ValType.I32, mutable=False), value)``."""

    def __init__(self, store: Store, ty: GlobalType, value: Any = None) -> None:
        store = _check_store(store, "Global")
        if not isinstance(ty, GlobalType):
            raise TypeError("Global(store, type, value): type must be a nearvm.GlobalType")
        if value is None and not ty.content.is_ref:
            value = 0
        bits = to_bits(store, ty.content, value)
        self._create(store, ty, bits)

    def _create(self, store: Store, ty: GlobalType, bits: int) -> None:
        out = ffi.new("nvm_global_t**")
        err = new_err()
        check(lib.nvm_global_new(store._ptr, int(ty.content), int(ty.mutable), bits, out, err, len(err)), err,
              "cannot create global")
        self.store = store
        self._type = ty
        self._ptr = out[0]
        self._cell = lib.nvm_global_cell(self._ptr)

    @classmethod
    def _from_bits(cls, store: Store, ty: GlobalType, bits: int) -> Global:
        self = cls.__new__(cls)
        self._create(store, ty, bits)
        return self

    @property
    def type(self) -> GlobalType:
        """The global's content type and mutability."""
        return self._type

    @property
    def value(self) -> Any:
        """The current value as a Python value; assigning sets it (ValueError for an immutable global)."""
        return from_bits(self.store, self._type.content, int(self._cell[0]))

    @value.setter
    def value(self, value: Any) -> None:
        if not self._type.mutable:
            raise ValueError("cannot set an immutable global")
        self._cell[0] = to_bits(self.store, self._type.content, value)

    def get_raw(self) -> Any:
        """The current value as an exact bit pattern (see :meth:`Func.call_raw`)."""
        return raw_from_bits(self.store, self._type.content, int(self._cell[0]))

    def set_raw(self, bits: Any) -> None:
        """Set the value from an exact bit pattern (ValueError for an immutable global)."""
        if not self._type.mutable:
            raise ValueError("cannot set an immutable global")
        self._cell[0] = raw_to_bits(self.store, self._type.content, bits)

    def _set_bits_unchecked(self, bits: int) -> None:
        self._cell[0] = bits

    def _bits(self) -> int:
        return int(self._cell[0])

    def __repr__(self) -> str:
        return f"<nearvm.Global {self._type.content} mutable={self._type.mutable} value={self.value!r}>"
