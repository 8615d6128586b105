"""Host-charged gas through ``nearvm.Caller`` and counters shared across instances and re-entry.

Figures in the comments use ``GasSchedule.uniform(1)`` (block/end/else free, see
test_metering_gas.py for the notation).
"""

from __future__ import annotations

from typing import Any

import pytest
from metering_helpers import U64, api, instantiate, require_execution, uniform1

import nearvm
from nearvm.config import Config

HOST = """(module
  (import "env" "h" (func $h (param i64)))
  (func (export "f") (param i64) (call $h (local.get 0)))
  (func (export "inner") (result i32) (i32.add (i32.const 40) (i32.const 2))))"""
# f: [local.get call end] = 2 wasm units before the host runs; inner: [i32.const i32.const i32.add end] = 3


@pytest.fixture(autouse=True)
def _exec() -> None:
    require_execution()


def _setup(host: Any, *, gas_limit: int | None = None, config: Config | None = None,
           access_caller: bool = True) -> Any:
    cfg = config if config is not None else uniform1()
    eng = api("Engine")(cfg)
    store = api("Store")(eng, gas_limit=gas_limit)
    h = api("Func")(store, nearvm.FuncType([nearvm.ValType.I64], []), host, access_caller=access_caller)
    return instantiate(HOST, cfg, engine=eng, store=store, imports={"env": {"h": h}})


def test_host_charge_adds_exactly_and_sees_remaining() -> None:
    seen: list[Any] = []

    def host(caller: Any, n: int) -> None:
        seen.append(caller.gas_remaining)
        caller.charge_gas(n)
        seen.append(caller.gas_remaining)

    r = _setup(host, gas_limit=5000)
    r("f", 1000)
    # 2 charged before the call; the host sees 4998, charges 1000 → 3998
    assert seen == [4998, 3998]
    assert r.store.gas_used == 1002
    assert r.store.gas_remaining == 3998


def test_host_charge_zero_and_huge() -> None:
    def host(caller: Any, n: int) -> None:
        caller.charge_gas(n & U64)

    r = _setup(host)
    r("f", 0)
    assert r.store.gas_used == 2
    r("f", 2**40)
    assert r.store.gas_used == 4 + 2**40


@pytest.mark.parametrize(("limit", "fits"), [(1002, True), (1003, True), (1001, False), (500, False), (2, False)])
def test_host_charge_boundary(limit: int, fits: bool) -> None:
    after: list[bool] = []

    def host(caller: Any, n: int) -> None:
        caller.charge_gas(n)
        after.append(True)

    r = _setup(host, gas_limit=limit)
    if fits:
        r("f", 1000)
        assert r.store.gas_used == 1002
        assert after == [True]
    else:
        with pytest.raises(nearvm.OutOfGas) as ei:
            r("f", 1000)
        # a Trap with code OUT_OF_GAS, not HOST_ERROR; the budget is burnt
        assert ei.value.code == nearvm.TrapCode.OUT_OF_GAS
        assert r.store.gas_used == limit
        assert r.store.gas_remaining == 0
        assert after == []


def test_host_charge_above_2_64_burns_budget() -> None:
    def host(caller: Any, n: int) -> None:
        caller.charge_gas(2**64 + 5)

    r = _setup(host)  # unlimited
    with pytest.raises(nearvm.OutOfGas):
        r("f", 0)
    assert r.store.gas_used == U64


def test_host_error_is_host_error_and_keeps_block_charge() -> None:
    def host(caller: Any, n: int) -> None:
        caller.charge_gas(7)
        raise RuntimeError("boom")

    r = _setup(host)
    with pytest.raises(nearvm.Trap) as ei:
        r("f", 0)
    assert ei.value.code == nearvm.TrapCode.HOST_ERROR
    assert not isinstance(ei.value, nearvm.OutOfGas)
    assert r.store.gas_used == 2 + 7


def test_reentrant_call_shares_gas_and_stack() -> None:
    seen: dict[str, Any] = {}

    def host(caller: Any, n: int) -> None:
        seen["before"] = caller.gas_remaining
        seen["stack_in_host"] = caller.store.stack_remaining
        inner = caller.get_export("inner")
        seen["inner"] = inner()
        seen["after"] = caller.gas_remaining
        caller.charge_gas(n)

    r = _setup(host, gas_limit=100)
    budget = r.store.stack_remaining
    r("f", 10)
    # outer 2, inner 3 (re-entered wasm, same counter), host 10 → 15
    assert seen["inner"] == 42
    assert seen["before"] == 98
    assert seen["after"] == 95
    assert r.store.gas_used == 15
    # f's frame (64 + 8 for the i64 param + 8 for one i64 operand = 80) is held while the host runs
    assert seen["stack_in_host"] == budget - 80
    assert r.store.stack_remaining == budget


def test_reentrant_out_of_gas_inside_nested_wasm() -> None:
    def host(caller: Any, n: int) -> None:
        caller.get_export("inner")()

    r = _setup(host, gas_limit=4)  # outer 2 fits, inner 3 does not
    with pytest.raises(nearvm.OutOfGas):
        r("f", 0)
    assert r.store.gas_used == 4
    assert r.store.stack_remaining == r.store.stack_budget


def test_caller_without_metering() -> None:
    seen: list[Any] = []

    def host(caller: Any, n: int) -> None:
        seen.append(caller.gas_remaining)

    r = _setup(host, config=Config())
    r("f", 0)
    assert seen == [None]
    assert r.store.gas_used == 0


def test_host_without_access_caller_gets_no_caller() -> None:
    seen: list[Any] = []

    def host(n: int) -> None:
        seen.append(n)

    r = _setup(host, access_caller=False)
    r("f", 9)
    assert seen == [9]
    assert r.store.gas_used == 2


def test_near_host_charge_with_frame_init() -> None:
    # NEAR: f (param i64): frame init ceil(72/8) = 9, [local.get call end] = 2 → 11 ops; host 1,000,000.
    def host(caller: Any, n: int) -> None:
        caller.charge_gas(n)

    r = _setup(host, config=Config.near())
    r("f", 1_000_000)
    assert r.store.gas_used == 11 * 822_756 + 1_000_000
