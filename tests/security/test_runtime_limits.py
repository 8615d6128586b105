"""Every Config limit holds at run time too: table.grow and memory.grow stop at the Config's
maximum (NEAR's included), and table.grow pays the bulk fee per element (docs/metering.md)."""

from __future__ import annotations

import pytest

from nearvm import (
    Config,
    Engine,
    GasSchedule,
    Instance,
    Memory,
    MemoryType,
    Module,
    OutOfGas,
    Store,
    Table,
    TableType,
    ValType,
)
from wasm_text import wat2wasm

GROW_TABLE = wat2wasm("""
(module
  (table $t (export "t") 1 funcref)
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (table.size $t)))
""")

GROW_MEMORY = wat2wasm("""
(module
  (memory (export "m") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
""")


def _instance(config: Config, wasm: bytes, gas_limit: int | None = None) -> tuple[Store, Instance]:
    engine = Engine(config)
    store = Store(engine, gas_limit=gas_limit)
    module = Module(engine, wasm)
    # NEAR's prepare step replaces the module's memory with an import of env.memory.
    imports = {m: {n: Memory(store, t)} for m, n, t in module.imports if isinstance(t, MemoryType)}
    return store, Instance(store, module, imports)


def test_table_grow_respects_near_max_table_elements() -> None:
    store, inst = _instance(Config.near(), GROW_TABLE, gas_limit=10**16)
    grow = inst.exports["grow"]
    assert grow(9_999_999) == -1           # was: 1, a 10-million-element table for ~17M gas
    assert inst.exports["size"]() == 1
    assert grow(9_999) == 1                # up to the limit exactly
    assert grow(1) == -1
    assert inst.exports["size"]() == 10_000


def test_table_grow_respects_config_limit_for_host_tables() -> None:
    engine = Engine(Config(max_table_elements=100))
    table = Table(Store(engine), TableType(ValType.FUNCREF, 10, None))
    assert table.type.maximum is None      # the declared type is unchanged...
    with pytest.raises(ValueError):
        table.grow(91)                     # ... but the Config caps it
    assert table.grow(90) == 10 and table.size == 100
    with pytest.raises(ValueError, match="max_table_elements"):
        Table(Store(engine), TableType(ValType.FUNCREF, 101, None))


def test_memory_grow_respects_config_max_memory_pages() -> None:
    store, inst = _instance(Config(max_memory_pages=3), GROW_MEMORY)
    assert inst.exports["grow"](3) == -1
    assert inst.exports["grow"](2) == 1
    assert inst.exports["grow"](1) == -1
    store, inst = _instance(Config.near(), GROW_MEMORY, gas_limit=10**16)
    assert inst.exports["grow"](1025) == -1  # NEAR: 1024 pages to start, 2048 at most
    assert inst.exports["grow"](1024) == 1024


def _grow_cost(schedule: GasSchedule, n: int) -> int:
    store, inst = _instance(Config(gas=schedule), GROW_TABLE)
    before = store.gas_used
    assert inst.exports["grow"](n) == 1
    return store.gas_used - before


def test_table_grow_pays_per_element() -> None:
    schedule = GasSchedule.uniform(1, bulk_base=7, bulk_per_unit=3)
    assert _grow_cost(schedule, 1000) - _grow_cost(schedule, 0) == 3 * 1000
    # NEAR's profile: 10,000 elements cost what a 10,000-byte memory.fill costs in bulk fees.
    near = Config.near().gas
    assert near is not None
    assert _grow_cost(near, 9_999) - _grow_cost(near, 0) == near.bulk_per_unit * 9_999


def test_table_grow_fee_that_does_not_fit_is_out_of_gas() -> None:
    schedule = GasSchedule.uniform(1, bulk_base=0, bulk_per_unit=1000)
    store, inst = _instance(Config(gas=schedule, max_table_elements=None), GROW_TABLE, gas_limit=100_000)
    with pytest.raises(OutOfGas):
        inst.exports["grow"](1_000_000)    # fee 10^9 > limit: nothing grows, the budget is burnt
    assert store.gas_used == store.gas_limit
    store.gas_limit = store.gas_used + 100_000
    assert inst.exports["size"]() == 1
