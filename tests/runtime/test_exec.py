"""Executing wasm through the public runtime API: host calls, re-entrancy, memory, tables, globals,
gas, instantiation semantics and threads. Modules are assembled from WAT with wasm-tools."""

from __future__ import annotations

import threading
import time

import pytest
from rt_helpers import wat

from nearvm.config import Config, GasSchedule
from nearvm.errors import LinkError, OutOfGas, Trap, TrapCode
from nearvm.runtime import Caller, Engine, Func, Global, Instance, Memory, Module, Store, Table
from nearvm.wasm.types import FuncType, GlobalType, MemoryType, ValType

pytestmark = pytest.mark.usefixtures("needs_jit")

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


def inst(text: str, imports: dict | None = None, engine: Engine | None = None, store: Store | None = None):
    engine = engine or (store.engine if store else Engine())
    store = store or Store(engine)
    return Instance(store, Module(engine, wat(text)), imports or {}), store


def test_values_and_wrapping() -> None:
    i, _ = inst("""(module
      (func (export "id32") (param i32) (result i32) local.get 0)
      (func (export "id64") (param i64) (result i64) local.get 0)
      (func (export "f32") (param f32) (result f32) local.get 0)
      (func (export "multi") (param i32 i64) (result i64 i32) local.get 1 local.get 0))""")
    e = i.exports
    assert e["id32"](-1) == -1 and e["id32"](0xFFFF_FFFF) == -1 and e["id32"](2**31) == -(2**31)
    assert e["id64"](2**64 - 1) == -1
    assert e["f32"](1.5) == 1.5
    assert e["multi"](7, 9) == (9, 7)
    assert e["id32"].call_raw([0xFFFF_FFFF]) == [0xFFFF_FFFF]
    assert e["f32"].call_raw([0x7FA0_0001]) == [0x7FA0_0001]  # NaN payload survives
    with pytest.raises(ValueError):
        e["id32"](2**32)
    with pytest.raises(TypeError):
        e["id32"]("1")
    assert list(e) == ["id32", "id64", "f32", "multi"]
    with pytest.raises(TypeError):
        e["x"] = 1  # type: ignore[index]


def test_host_calls_args_results_exceptions() -> None:
    engine = Engine()
    store = Store(engine)
    seen = []

    def add(a: int, b: int) -> int:
        seen.append((a, b))
        return a + b

    def boom(a: int) -> int:
        raise KeyError("nope")

    f_add = Func(store, FuncType([I32, I32], [I32]), add)
    f_boom = Func(store, FuncType([I32], [I32]), boom)
    f_pair = Func(store, FuncType([], [I32, F64]), lambda: (3, 2.5))
    i, _ = inst("""(module
      (import "env" "add" (func $add (param i32 i32) (result i32)))
      (import "env" "boom" (func $boom (param i32) (result i32)))
      (import "env" "pair" (func $pair (result i32 f64)))
      (func (export "call_add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
      (func (export "call_boom") (result i32) (call $boom (i32.const 1)))
      (func (export "call_pair") (result f64) (local f64)
        (call $pair) (local.set 0) (drop) (f64.add (local.get 0) (f64.const 1))))""",
                {"env": {"add": f_add, "boom": f_boom, "pair": f_pair}}, store=store)
    assert i.exports["call_add"](-5, 3) == -2
    assert seen == [(-5, 3)]
    with pytest.raises(Trap) as info:
        i.exports["call_boom"]()
    assert info.value.code is TrapCode.HOST_ERROR
    assert isinstance(info.value.__cause__, KeyError)
    assert i.exports["call_pair"]() == 3.5
    assert f_add(1, 2) == 3  # host function called from Python through the stub
    # after a host error the store is still usable and the stack budget restored
    assert store.stack_remaining == store.stack_budget
    assert i.exports["call_add"](1, 1) == 2


def test_reentrancy_and_caller() -> None:
    engine = Engine()
    store = Store(engine)
    holder: dict = {}

    def host(caller: Caller, n: int) -> int:
        fact = caller.get_export("fact")
        assert caller.get_export("missing") is None
        return n * fact(n - 1) if n > 0 else 1

    f = Func(store, FuncType([I32], [I32]), host, access_caller=True)
    i, _ = inst("""(module (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "fact") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1)) (else (call $h (local.get 0))))))""",
                {"env": {"h": f}}, store=store)
    holder["i"] = i
    assert i.exports["fact"](5) == 120
    assert store.stack_remaining == store.stack_budget


def test_nested_trap_propagates() -> None:
    store = Store(Engine())

    def host() -> None:
        holder["i"].exports["unreach"]()

    holder: dict = {}
    f = Func(store, FuncType([], []), host)
    i, _ = inst("""(module (import "env" "h" (func $h))
      (func (export "unreach") unreachable)
      (func (export "outer") call $h))""", {"env": {"h": f}}, store=store)
    holder["i"] = i
    with pytest.raises(Trap) as info:
        i.exports["outer"]()
    assert info.value.code is TrapCode.UNREACHABLE


def test_memory_grow_and_boundaries() -> None:
    i, _ = inst("""(module (memory (export "mem") 1 3)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))""")
    e = i.exports
    mem = e["mem"]
    assert isinstance(mem, Memory)
    e["store8"](65535, 7)
    assert e["load8"](65535) == 7 and mem.data[65535] == 7
    with pytest.raises(Trap):
        e["load8"](65536)
    assert e["grow"](1) == 1 and e["size"]() == 2 and mem.size_pages == 2
    assert e["load8"](65536) == 0
    with pytest.raises(Trap):
        e["load8"](2 * 65536)
    assert e["grow"](2) == -1
    assert mem.grow(1) == 2 and e["size"]() == 3
    assert e["load8"](3 * 65536 - 1) == 0
    e["fill"](10, 0xAB, 4)
    assert bytes(mem.data[10:14]) == b"\xab" * 4
    with pytest.raises(Trap) as info:
        e["fill"](3 * 65536 - 2, 1, 3)
    assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS


def test_imported_memory_shared() -> None:
    store = Store(Engine())
    mem = Memory(store, MemoryType(1, 4))
    text = """(module (import "env" "memory" (memory 1))
      (func (export "grow") (result i32) (memory.grow (i32.const 1)))
      (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""
    a, _ = inst(text, {"env": {"memory": mem}}, store=store)
    b, _ = inst(text, {"env": {"memory": mem}}, store=store)
    assert a.exports["grow"]() == 1
    mem.data[65536 + 5] = 9
    assert b.exports["load"](65536 + 5) == 9  # b sees a's growth
    with pytest.raises(LinkError):
        inst("(module (import \"env\" \"memory\" (memory 1 2)))", {"env": {"memory": mem}}, store=store)
    with pytest.raises(LinkError):
        inst("(module (import \"env\" \"memory\" (memory 3)))", {"env": {"memory": mem}}, store=store)


def test_tables_and_call_indirect() -> None:
    store = Store(Engine())
    host = Func(store, FuncType([I32], [I32]), lambda x: x * 10)
    i, _ = inst("""(module (import "env" "h" (func $h (param i32) (result i32)))
      (table (export "t") 4 10 funcref)
      (func $one (param i32) (result i32) (i32.const 1))
      (elem (i32.const 0) $one $h)
      (func (export "call") (param i32 i32) (result i32)
        (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
      (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))""",
                {"env": {"h": host}}, store=store)
    e = i.exports
    t = e["t"]
    assert isinstance(t, Table)
    assert e["call"](0, 5) == 1 and e["call"](1, 5) == 50
    assert t.get(1) is host
    with pytest.raises(Trap) as info:
        e["call"](2, 0)
    assert info.value.code is TrapCode.UNINITIALIZED_ELEMENT
    with pytest.raises(Trap) as info:
        e["call"](4, 0)
    assert info.value.code is TrapCode.TABLE_OUT_OF_BOUNDS
    t.set(2, host)
    assert e["call"](2, 3) == 30
    assert e["grow"](2) == 4 and t.size == 6
    assert e["grow"](5) == -1


def test_globals_imported_and_exported() -> None:
    store = Store(Engine())
    g = Global(store, GlobalType(I64, True), 5)
    i, _ = inst("""(module (import "env" "g" (global $g (mut i64)))
      (global $h (export "h") i32 (i32.const 42))
      (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1)))))""",
                {"env": {"g": g}}, store=store)
    i.exports["bump"]()
    assert g.value == 6
    h = i.exports["h"]
    assert isinstance(h, Global) and h.value == 42
    with pytest.raises(ValueError):
        h.value = 1
    with pytest.raises(LinkError):
        inst("(module (import \"env\" \"g\" (global i64)))", {"env": {"g": g}}, store=store)


def test_link_errors() -> None:
    store = Store(Engine())
    text = '(module (import "env" "f" (func (param i32))))'
    with pytest.raises(LinkError):
        inst(text, {}, store=store)
    with pytest.raises(LinkError):
        inst(text, {"env": {"f": Func(store, FuncType([I64], []), lambda x: None)}}, store=store)
    with pytest.raises(LinkError):
        inst(text, {"env": {"f": Memory(store, MemoryType(1))}}, store=store)
    other = Func(Store(store.engine), FuncType([I32], []), lambda x: None)
    with pytest.raises(LinkError):
        inst(text, {"env": {"f": other}}, store=store)


def test_partial_instantiation_and_start() -> None:
    store = Store(Engine())
    mem = Memory(store, MemoryType(1))
    with pytest.raises(Trap):
        inst("""(module (import "env" "memory" (memory 1))
          (data (i32.const 0) "ab") (data (i32.const 65535) "cd"))""", {"env": {"memory": mem}}, store=store)
    assert bytes(mem.data[0:2]) == b"ab"  # the first segment's write stays visible
    calls = []
    f = Func(store, FuncType([], []), lambda: calls.append(1))
    inst('(module (import "env" "f" (func $f)) (start $f))', {"env": {"f": f}}, store=store)
    assert calls == [1]


def test_gas_out_of_gas_and_refuel() -> None:
    engine = Engine(Config(gas=GasSchedule.uniform(1)))
    store = Store(engine, gas_limit=10_000)
    i, _ = inst("""(module (func (export "loop") (param i32)
      (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))""", store=store)
    i.exports["loop"](10)
    used = store.gas_used
    assert 0 < used < 10_000
    with pytest.raises(OutOfGas):
        i.exports["loop"](1_000_000)
    assert store.gas_used == store.gas_limit and store.gas_remaining == 0
    store.gas_limit = store.gas_used + 1000
    i.exports["loop"](5)

    def charge(caller: Caller) -> None:
        caller.charge_gas(10**9)

    f = Func(store, FuncType([], []), charge, access_caller=True)
    j, _ = inst('(module (import "env" "c" (func $c)) (func (export "go") call $c))', {"env": {"c": f}}, store=store)
    with pytest.raises(OutOfGas):
        j.exports["go"]()
    assert store.gas_remaining == 0


def test_stack_overflow_is_deterministic() -> None:
    i, store = inst("(module (func $r (export \"r\") (call $r)))")
    for _ in range(3):
        with pytest.raises(Trap) as info:
            i.exports["r"]()
        assert info.value.code is TrapCode.STACK_OVERFLOW
        assert store.stack_remaining == store.stack_budget


def test_externref_roundtrip() -> None:
    i, _ = inst("""(module (func (export "id") (param externref) (result externref) local.get 0)
      (func (export "null") (param externref) (result i32) (ref.is_null (local.get 0))))""")
    o = object()
    assert i.exports["id"](o) is o
    assert i.exports["id"](None) is None
    assert i.exports["null"](None) == 1 and i.exports["null"](o) == 0


def test_externref_held_only_by_wasm_lives_until_its_store_dies() -> None:
    """Externrefs stored only in wasm tables/globals stay valid (nothing dangles) and are
    released with their Store (documented on Store: no earlier collection)."""
    import gc
    import weakref

    class Obj:
        pass

    i, store = inst("""(module
      (table $t 1 externref) (global $g (mut externref) (ref.null extern))
      (func (export "keep") (param externref) (table.set $t (i32.const 0) (local.get 0))
        (global.set $g (local.get 0)))
      (func (export "drop_table") (table.set $t (i32.const 0) (ref.null extern)))
      (func (export "from_table") (result externref) (table.get $t (i32.const 0)))
      (func (export "from_global") (result externref) (global.get $g)))""")
    o = Obj()
    ref = weakref.ref(o)
    i.exports["keep"](o)
    del o
    gc.collect()
    assert i.exports["from_table"]() is ref() is not None
    i.exports["drop_table"]()
    gc.collect()
    assert i.exports["from_global"]() is ref() is not None
    keep_alive_until_store = ref()
    del keep_alive_until_store
    exports = i.exports
    del i, store, exports
    gc.collect()
    assert ref() is None


def test_threads_run_in_parallel_without_gil() -> None:
    engine = Engine()
    module = Module(engine, wat("""(module (func (export "spin") (param i32) (result i32)
      (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 0)))"""))
    n = 30_000_000
    store = Store(engine)
    spin = Instance(store, module, {}).exports["spin"]
    t0 = time.perf_counter()
    spin(n)
    single = time.perf_counter() - t0
    errors: list[BaseException] = []
    ticks = [0]

    def work() -> None:
        try:
            s = Store(engine)
            f = Instance(s, module, {}).exports["spin"]
            for _ in range(2):
                assert f(n) == 0
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):  # the main thread keeps running Python meanwhile
        ticks[0] += 1
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert not errors
    assert ticks[0] > 10 or single < 0.01  # the GIL was released while wasm ran


def test_store_used_from_two_threads_is_refused() -> None:
    store = Store(Engine())
    started, release = threading.Event(), threading.Event()

    def block() -> None:
        started.set()
        release.wait(5)

    f = Func(store, FuncType([], []), block)
    i, _ = inst('(module (import "env" "b" (func $b)) (func (export "go") call $b) (func (export "nop")))',
                {"env": {"b": f}}, store=store)
    t = threading.Thread(target=i.exports["go"])
    t.start()
    started.wait(5)
    with pytest.raises(RuntimeError):
        i.exports["nop"]()
    release.set()
    t.join()
