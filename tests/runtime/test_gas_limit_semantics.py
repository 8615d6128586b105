"""gas_used is cumulative: the limit cannot be set below it (it once dropped 50 -> 10 after an
out-of-gas trap that set gas_used = gas_limit)."""

from __future__ import annotations

import pytest

import nearvm

LOOP = """(module (func (export "spin") (param i32)
  (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"""


def test_gas_limit_below_gas_used_is_rejected_and_gas_used_never_decreases(wat2wasm) -> None:
    engine = nearvm.Engine(nearvm.Config(gas=nearvm.GasSchedule.uniform(1)))
    store = nearvm.Store(engine, gas_limit=1000)
    inst = nearvm.Instance(store, nearvm.Module(engine, wat2wasm(LOOP)), {})
    inst.exports["spin"](5)
    used = store.gas_used
    assert used > 0
    with pytest.raises(ValueError, match="below gas_used"):
        store.gas_limit = used - 1
    assert store.gas_limit == 1000
    store.gas_limit = used  # exactly what was used: allowed, nothing left
    with pytest.raises(nearvm.OutOfGas):
        inst.exports["spin"](5)
    assert store.gas_used == used
    store.gas_limit = used + 10_000  # refuel
    inst.exports["spin"](5)
    assert store.gas_used > used
