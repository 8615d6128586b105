"""Host-side API objects (no wasm execution needed): Store, Memory, Table, Global, Func, misuse errors."""

from __future__ import annotations

import gc
import struct
import threading

import pytest

from nearvm.config import Config, GasSchedule
from nearvm.runtime import Engine, Func, Global, Memory, Store, Table
from nearvm.wasm.types import FuncType, GlobalType, MemoryType, TableType, ValType


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Config())


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)


# ---- Store / gas ------------------------------------------------------------------------------

def test_store_without_gas(engine: Engine) -> None:
    s = Store(engine)
    assert s.gas_used == 0
    assert s.gas_remaining is None
    assert s.gas_limit is None
    with pytest.raises(ValueError):
        Store(engine, gas_limit=10)
    with pytest.raises(ValueError):
        s.gas_limit = 5
    s.gas_limit = None


def test_store_with_gas() -> None:
    eng = Engine(Config(gas=GasSchedule.uniform(1)))
    s = Store(eng)
    assert s.gas_limit is None
    assert s.gas_used == 0
    assert s.gas_remaining == 2**64 - 1
    s.gas_limit = 100
    assert (s.gas_limit, s.gas_remaining) == (100, 100)
    with pytest.raises(ValueError):
        s.gas_limit = -1
    with pytest.raises(TypeError):
        s.gas_limit = 1.5  # type: ignore[assignment]
    s2 = Store(eng, gas_limit=7)
    assert s2.gas_remaining == 7


def test_engine_type_interning() -> None:
    e1 = Engine()
    a = e1._type_id(FuncType([ValType.I32], [ValType.I64]))
    assert a == e1._type_id(FuncType([ValType.I32], [ValType.I64]))
    assert a != e1._type_id(FuncType([ValType.I64], [ValType.I32]))
    assert a != e1._type_id(FuncType([ValType.I32, ValType.I64], []))
    assert e1._func_type(a) == FuncType([ValType.I32], [ValType.I64])


def test_engine_bad_args() -> None:
    with pytest.raises(TypeError):
        Engine(Config(), artifact_key="str")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Store(object())  # type: ignore[arg-type]


# ---- Memory -----------------------------------------------------------------------------------

def test_memory_basics(store: Store) -> None:
    mem = Memory(store, MemoryType(1, 3))
    assert (mem.size_pages, mem.minimum, mem.maximum) == (1, 1, 3)
    assert mem.type == MemoryType(1, 3)
    data = mem.data
    assert len(data) == 65536 and bytes(data[:16]) == bytes(16)
    data[10:14] = b"abcd"
    assert mem.read(10, 4) == b"abcd"
    assert mem.grow(1) == 1
    assert mem.size_pages == 2 and len(mem.data) == 2 * 65536
    assert bytes(mem.data[65536:65536 + 8]) == bytes(8)  # new pages are zero
    assert mem.read(10, 4) == b"abcd"
    assert mem.grow(0) == 2
    with pytest.raises(ValueError):
        mem.grow(2)
    assert mem.grow(1) == 2
    with pytest.raises(ValueError):
        mem.grow(1)
    with pytest.raises(ValueError):
        mem.grow(-1)
    with pytest.raises(IndexError):
        mem.read(3 * 65536 - 2, 4)


def test_memory_unbounded_and_zero(store: Store) -> None:
    mem = Memory(store, MemoryType(0))
    assert mem.size_pages == 0 and len(mem.data) == 0
    assert mem.maximum is None
    assert mem.grow(2) == 0
    with pytest.raises(ValueError):
        mem.grow(65535)


def test_memory_config_max_pages() -> None:
    store = Store(Engine(Config(max_memory_pages=4)))
    mem = Memory(store, MemoryType(1))
    assert mem.grow(3) == 1
    with pytest.raises(ValueError):
        mem.grow(1)
    with pytest.raises(ValueError):
        Memory(store, MemoryType(5))


def test_memoryview_outlives_store(engine: Engine) -> None:
    store = Store(engine)
    mem = Memory(store, MemoryType(1, 1))
    view = mem.data
    view[0] = 7
    del mem, store
    gc.collect()
    assert view[0] == 7
    view[1] = 8
    view.release()


def test_memory_type_errors(store: Store) -> None:
    with pytest.raises(TypeError):
        Memory(store, TableType(ValType.FUNCREF, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Memory(object(), MemoryType(1))  # type: ignore[arg-type]


# ---- Table ------------------------------------------------------------------------------------

def test_funcref_table(store: Store) -> None:
    t = Table(store, TableType(ValType.FUNCREF, 10, 20))
    assert t.size == 10 and t.type == TableType(ValType.FUNCREF, 10, 20)
    assert all(t.get(i) is None for i in range(10))
    f = Func(store, FuncType([], []), lambda: None)
    t.set(3, f)
    assert t.get(3) is f
    t.set(3, None)
    assert t.get(3) is None
    with pytest.raises(IndexError):
        t.get(10)
    with pytest.raises(IndexError):
        t.set(-1, None)
    with pytest.raises(TypeError):
        t.set(0, 5)
    assert t.grow(5, f) == 10
    assert t.size == 15 and t.get(14) is f
    with pytest.raises(ValueError):
        t.grow(6)
    other = Func(Store(store.engine), FuncType([], []), lambda: None)
    with pytest.raises(ValueError):
        t.set(0, other)


def test_externref_table(store: Store) -> None:
    t = Table(store, TableType(ValType.EXTERNREF, 2), init="x")
    assert t.get(0) == "x" and t.get(1) == "x"
    obj = {"a": 1}
    t.set(1, obj)
    assert t.get(1) is obj
    assert t.grow(3) == 2
    assert t.get(4) is None
    assert t.type.maximum is None


# ---- Global -----------------------------------------------------------------------------------

def test_globals(store: Store) -> None:
    g = Global(store, GlobalType(ValType.I32, mutable=False), 666)
    assert g.value == 666 and g.type == GlobalType(ValType.I32, False)
    with pytest.raises(ValueError):
        g.value = 1
    with pytest.raises(ValueError):
        g.set_raw(1)
    m = Global(store, GlobalType(ValType.I32, mutable=True), -1)
    assert m.value == -1 and m.get_raw() == 0xFFFF_FFFF
    m.value = 0xFFFF_FFFF  # unsigned range accepted, wraps
    assert m.value == -1
    with pytest.raises(ValueError):
        m.value = 2**32
    with pytest.raises(TypeError):
        m.value = 1.5
    i64 = Global(store, GlobalType(ValType.I64, True), -(2**63))
    assert i64.get_raw() == 2**63
    i64.set_raw(2**64 - 1)
    assert i64.value == -1
    f32 = Global(store, GlobalType(ValType.F32, True), 1.5)
    assert f32.value == 1.5 and f32.get_raw() == struct.unpack("<I", struct.pack("<f", 1.5))[0]
    nan_bits = 0x7FA0_0001  # a signalling NaN payload survives raw access
    f32.set_raw(nan_bits)
    assert f32.get_raw() == nan_bits
    f64 = Global(store, GlobalType(ValType.F64, True), 2)
    assert f64.value == 2.0
    f64.set_raw(0x7FF4_0000_0000_0001)
    assert f64.get_raw() == 0x7FF4_0000_0000_0001
    ext = Global(store, GlobalType(ValType.EXTERNREF, True), None)
    assert ext.value is None
    o = object()
    ext.value = o
    assert ext.value is o and ext.get_raw() is o
    fr = Global(store, GlobalType(ValType.FUNCREF, True))
    assert fr.value is None
    f = Func(store, FuncType([ValType.I32], [ValType.I32]), lambda x: x)
    fr.value = f
    assert fr.value is f


# ---- Func -------------------------------------------------------------------------------------

def test_host_func_object(store: Store) -> None:
    ty = FuncType([ValType.I32, ValType.F64], [ValType.I64])
    f = Func(store, ty, lambda a, b: a)
    assert f.type == ty and f.type.params == (ValType.I32, ValType.F64)
    with pytest.raises(TypeError):
        Func(store, ty, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Func(store, (ValType.I32,), lambda: 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        f(1)  # wrong arity is caught before any call


def test_objects_keep_store_alive(engine: Engine) -> None:
    def make() -> tuple[Memory, Global, Table]:
        s = Store(engine)
        return Memory(s, MemoryType(1)), Global(s, GlobalType(ValType.I64, True), 5), Table(
            s, TableType(ValType.EXTERNREF, 1), init=[1, 2])

    mem, glob, tab = make()
    gc.collect()
    mem.data[0] = 1
    assert glob.value == 5 and tab.get(0) == [1, 2]


def test_stores_on_threads(engine: Engine) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                s = Store(engine)
                m = Memory(s, MemoryType(1, 4))
                m.grow(2)
                m.data[5] = 9
                assert m.read(5, 1) == b"\x09"
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
