"""Interrupting unmetered wasm: from another thread, by a deadline, at loop headers and function
entries, with a distinct trap code; metered Stores refuse (gas bounds them)."""

from __future__ import annotations

import threading

import pytest

import nearvm
from nearvm import Config, Engine, GasSchedule, Instance, Interrupted, Module, Store, TrapCode

SPIN = """(module
  (func $spin (export "spin") (loop $l (br $l)))
  (func (export "leaf") (result i32) (i32.const 7))
  (func (export "spin_calls") (loop $l (drop (call $leaf2)) (br $l)))
  (func $leaf2 (result i32) (i32.const 1)))"""


def _instance(text: str = SPIN, store: Store | None = None) -> tuple[Store, Instance]:
    engine = store.engine if store is not None else Engine()
    store = store or Store(engine)
    return store, Instance(store, Module(engine, text))


def test_interrupt_from_another_thread_stops_an_infinite_loop() -> None:
    store, inst = _instance()
    handle = store.interrupt_handle()
    timer = threading.Timer(0.05, handle.interrupt)
    timer.start()
    with pytest.raises(Interrupted) as info:
        inst.exports["spin"]()
    timer.join()
    trap = info.value
    assert trap.code is TrapCode.INTERRUPTED and isinstance(trap, nearvm.Trap)
    assert trap.backtrace[0].func_name == "spin"
    # The request was consumed: the Store runs normally afterwards.
    assert inst.exports["leaf"]() == 7


def test_deadline_stops_an_infinite_loop_and_can_be_cancelled() -> None:
    store, inst = _instance()
    store.set_deadline(0.05)
    with pytest.raises(Interrupted):
        inst.exports["spin_calls"]()
    store.set_deadline(60)
    store.set_deadline(None)  # cancelled: a later call is unaffected
    assert inst.exports["leaf"]() == 7
    with pytest.raises(ValueError, match="non-negative"):
        store.set_deadline(-1)


def test_pending_request_traps_the_next_call_before_any_wasm_runs() -> None:
    store, inst = _instance()
    handle = store.interrupt_handle()
    handle.interrupt()
    with pytest.raises(Interrupted) as info:
        inst.exports["leaf"]()  # no loop, no call, so no check in its code: taken on entry
    assert info.value.backtrace == []  # no wasm frame ran
    assert inst.exports["leaf"]() == 7
    handle.interrupt()
    handle.cancel()  # withdrawn before any wasm ran
    assert inst.exports["leaf"]() == 7


def test_deadline_stops_recursion_without_loops() -> None:
    # No loop anywhere: the entry checks of calling bodies bound the time to the trap.
    store, inst = _instance("""(module (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2))))))))""")
    store.set_deadline(0.05)
    with pytest.raises(Interrupted) as info:
        inst.exports["fib"](90)  # about 2^62 calls
    assert {f.func_name for f in info.value.backtrace} == {"fib"}


def test_request_from_a_host_function_stops_the_calling_wasm() -> None:
    # The host function returns into a body that then calls a leaf in a loop: the loop header
    # takes the request; wasm that called the host function never finishes.
    engine = Engine()
    store = Store(engine)
    handle = store.interrupt_handle()
    module = Module(engine, """(module (import "env" "stop" (func $stop))
      (func $leaf (result i32) (i32.const 1))
      (func (export "run") (result i32) (local i32) (call $stop)
        (loop $l (local.set 0 (i32.add (local.get 0) (call $leaf))) (br $l)) (local.get 0)))""")
    stop = nearvm.Func(store, module.imports[0][2], handle.interrupt)
    inst = Instance(store, module, {"env": {"stop": stop}})
    with pytest.raises(Interrupted) as info:
        inst.exports["run"]()
    assert info.value.backtrace[0].func_name == "run"


def test_interrupt_reaches_every_instance_of_the_store() -> None:
    store, a = _instance()
    handle = store.interrupt_handle()
    handle.interrupt()
    _, b = _instance(store=store)  # created after the request: takes it too
    with pytest.raises(Interrupted):
        b.exports["leaf"]()
    assert a.exports["leaf"]() == 7
    # Another Store of the same engine is never affected.
    other, c = _instance(store=Store(store.engine))
    handle.interrupt()
    assert c.exports["leaf"]() == 7
    handle.cancel()


def test_module_loaded_from_an_artifact_is_interruptible() -> None:
    engine = Engine(artifact_key=b"k" * 32)
    module = Module.deserialize(engine, Module(engine, SPIN).serialize())
    store = Store(engine)
    inst = Instance(store, module)
    store.set_deadline(0.02)
    with pytest.raises(Interrupted):
        inst.exports["spin"]()


def test_metered_store_has_no_interrupts() -> None:
    store = Store(Engine(Config(gas=GasSchedule.uniform(1))), gas_limit=10_000)
    with pytest.raises(ValueError, match="gas limit"):
        store.interrupt_handle()
    with pytest.raises(ValueError, match="gas limit"):
        store.set_deadline(1.0)
