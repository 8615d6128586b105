"""Calls through the C ABI (nvm_call) with exactly the slot count nearvm.h documents:
max(n_params, n_results), at least 1 — including odd counts, which the Python API never passes
(it rounds its buffers up to an even count)."""

from __future__ import annotations

from nearvm import Engine, Func, Instance, Module, Store
from nearvm.runtime._ffi import ffi, lib
from wasm_text import wat2wasm

CANARY = 0xC0FFEE00DEADBEEF

MODULE = """(module
  (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "sum3") (param i64 i64 i64) (result i64)
    (i64.add (local.get 0) (i64.add (local.get 1) (local.get 2))))
  (func (export "pair") (param f64) (result f64 f64)
    (f64.mul (local.get 0) (f64.const 2)) (f64.neg (local.get 0))))"""


def _raw_call(store: Store, func: Func, args: list[int], n_slots: int) -> tuple[list[int], list[int]]:
    """Calls with an n_slots buffer followed by two canary slots; returns (slots, canaries)."""
    buf = ffi.new("uint64_t[]", n_slots + 2)
    for i, a in enumerate(args):
        buf[i] = a
    buf[n_slots] = buf[n_slots + 1] = CANARY
    code = lib.nvm_call(store._ptr, func._ref, buf, n_slots)
    assert code == 0
    return [int(buf[i]) for i in range(n_slots)], [int(buf[n_slots]), int(buf[n_slots + 1])]


def test_entry_stub_rounds_odd_slot_counts_up_regression() -> None:
    # The entry trampoline sized the wasm argument area as (n*8) & -16 instead of (n*8 + 15) & -16
    # (a displacement passed where asmjit expects an operand size): with an odd n the last slot
    # overwrote the trampoline's saved slot count, so results were read from the wrong place and
    # the copy-out ran past the caller's buffer.
    engine = Engine()
    store = Store(engine)
    inst = Instance(store, Module(engine, wat2wasm(MODULE)), {})
    inc, sum3, pair = (inst.exports[n] for n in ("inc", "sum3", "pair"))
    assert isinstance(inc, Func) and isinstance(sum3, Func) and isinstance(pair, Func)
    for x in (0, 5, 41, 0xFFFF_FFFE):
        slots, canaries = _raw_call(store, inc, [x], 1)
        assert (slots[0] & 0xFFFF_FFFF, canaries) == ((x + 1) & 0xFFFF_FFFF, [CANARY, CANARY])
    slots, canaries = _raw_call(store, sum3, [1, 2, 3], 3)
    assert (slots[0], canaries) == (6, [CANARY, CANARY])
    three = int.from_bytes(ffi.buffer(ffi.new("double*", 3.0))[:], "little")
    slots, canaries = _raw_call(store, pair, [three], 2)
    assert canaries == [CANARY, CANARY]
    assert [ffi.cast("double*", ffi.new("uint64_t*", s))[0] for s in slots] == [6.0, -3.0]
