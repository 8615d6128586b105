"""Exact gas figures, computed by hand from the pinned semantics (docs/design.md "Gas and stack
semantics", docs/metering.md).

Rules used in the arithmetic below:
* a metered block starts at function entry, at a loop body, in each arm of an ``if``, after every
  ``end``/``else`` and after ``br_if``; ``br``/``br_table``/``return``/``unreachable`` end a block and
  what follows them is dead until the next ``end``/``else``;
* ``GasSchedule.uniform(c)`` weighs every instruction ``c`` (``nop``, ``loop``, ``if`` included),
  except ``block``, ``end`` and ``else`` (free);
* a block is charged before it runs; if the charge does not fit: ``OutOfGas``, no effect of the
  block, and ``gas_used == gas_limit``; after any other trap ``gas_used`` includes the whole block.

Notation: ``[a b c] = 3`` lists one block's instructions and its uniform(1) weight.
"""

from __future__ import annotations

from typing import Any

import pytest
from metering_helpers import OP, U64, api, instantiate, require_execution, uniform1, wat

import nearvm
from nearvm.bytecode.disasm import disassemble
from nearvm.config import Config, GasSchedule
from nearvm.wasm import translate


@pytest.fixture(autouse=True)
def _exec() -> None:
    require_execution()


# ---- straight-line code ------------------------------------------------------------------------

def test_straight_line() -> None:
    # [i32.const i32.const i32.add end] = 3
    r = instantiate('(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))')
    assert r("f") == 3
    assert r.gas_used == 3
    assert r("f") == 3
    assert r.gas_used == 6  # cumulative per Store


def test_nop_drop_select_tee_cost_one_each() -> None:
    # [nop nop i32.const i32.const local.tee i32.const select drop i32.const end] = 9 (nop is not free)
    r = instantiate("""(module (func (export "f") (result i32) (local i32)
        nop nop (i32.const 5) (i32.const 6) (local.tee 0) (i32.const 1) select drop (i32.const 7)))""")
    assert r("f") == 7
    assert r.gas_used == 9


def test_empty_function_costs_nothing() -> None:
    # [end] = 0: no GAS op at all
    r = instantiate('(module (func (export "f")))')
    r("f")
    assert r.gas_used == 0


def test_block_end_free_and_blocks_split_at_end() -> None:
    # [block i32.const] = 1, after end: [end block i32.const i32.add] = 2, after end: [end end] = 0
    r = instantiate("""(module (func (export "f") (result i32)
        (block (result i32) (i32.const 1)) (block (result i32) (i32.const 2)) i32.add))""")
    assert r("f") == 3
    assert r.gas_used == 3


def test_uniform_weight_scales() -> None:
    # 3 instructions × 7
    r = instantiate('(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))',
                    Config(gas=GasSchedule.uniform(7)))
    r("f")
    assert r.gas_used == 21


def test_with_weights_override() -> None:
    # [local.get local.get i32.div_u end]: 1 + 1 + 100
    cfg = Config(gas=GasSchedule.uniform(1).with_weights({"i32.div_u": 100}))
    r = instantiate('(module (func (export "f") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))))',
                    cfg)
    assert r("f", 9, 2) == 4
    assert r.gas_used == 102


# ---- loops (the worked example) ------------------------------------------------------------------

COUNT = """(module (func (export "count") (param $n i32) (result i32) (local $i i32)
  (block $done (loop $top
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top)))
  (local.get $i)))"""


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000])
def test_loop_n_iterations_uniform(n: int) -> None:
    # [block loop] = 1; per iteration [local.get local.get i32.ge_u br_if] = 4 and
    # [local.get i32.const i32.add local.set br] = 5; the exit: the br_if block once more (4), then
    # [end local.get end] = 1.  Total 1 + 9n + 4 + 1 = 9n + 6.
    r = instantiate(COUNT)
    assert r("count", n) == n
    assert r.gas_used == 9 * n + 6


@pytest.mark.parametrize("n", [0, 1, 5, 100])
def test_loop_worked_example_near(n: int) -> None:
    # docs/design.md: the entry block also pays frame init ceil((64 + 4 + 4) / 8) = 9 ops:
    # (1 + 9) + 9n + 4 + 1 = 9n + 15 ops of 822,756.
    r = instantiate(COUNT, Config.near())
    assert r("count", n) == n
    assert r.gas_used == (9 * n + 15) * OP
    if n == 100:
        assert r.gas_used == 915 * 822_756 == 752_821_740


def test_worked_example_frame_cost_is_80() -> None:
    # 64 + 4 ($n) + 4 ($i) + 8 (two i32 operands) = 80 bytes, metered or not.
    for cfg in (Config(), uniform1(), Config.near()):
        prog = disassemble(translate(wat(COUNT), cfg).program)
        assert "frame_cost=80" in prog, prog


# ---- branches --------------------------------------------------------------------------------------

IF_ELSE = """(module (func (export "f") (param i32) (result i32)
  (if (result i32) (local.get 0)
    (then (i32.add (i32.const 10) (i32.const 1)))
    (else (i32.const 20)))))"""


@pytest.mark.parametrize(("arg", "result", "gas"), [
    # [local.get if] = 2; then: [i32.const i32.const i32.add else] = 3; else: [i32.const end] = 1;
    # after the if's end: [end] = 0.
    (1, 11, 2 + 3),
    (0, 20, 2 + 1),
])
def test_if_else_taken_not_taken(arg: int, result: int, gas: int) -> None:
    r = instantiate(IF_ELSE)
    assert r("f", arg) == result
    assert r.gas_used == gas


@pytest.mark.parametrize(("arg", "gas"), [
    # [local.get if] = 2; then: [i32.const global.set end] = 2; after end: [end global.get end] = 1.
    (1, 2 + 2 + 1),
    (0, 2 + 1),
])
def test_if_without_else(arg: int, gas: int) -> None:
    r = instantiate("""(module (global $g (mut i32) (i32.const 0))
      (func (export "f") (param i32) (result i32)
        (if (local.get 0) (then (global.set $g (i32.const 9))))
        (global.get $g)))""")
    assert r("f", arg) == (9 if arg else 0)
    assert r.gas_used == gas


BR_IF = """(module (func (export "f") (param i32) (result i32)
  (block $b (result i32)
    (i32.const 7) (local.get 0) (br_if $b)
    (drop) (i32.const 8))))"""


@pytest.mark.parametrize(("arg", "result", "gas"), [
    # [block i32.const local.get br_if] = 3; not taken: [drop i32.const end] = 2; after end: [end] = 0
    (1, 7, 3),
    (0, 8, 3 + 2),
])
def test_br_if_taken_not_taken(arg: int, result: int, gas: int) -> None:
    r = instantiate(BR_IF)
    assert r("f", arg) == result
    assert r.gas_used == gas


BR_TABLE = """(module (func (export "f") (param i32) (result i32)
  (block $a
    (block $b
      (block $c
        (br_table $c $b $a (local.get 0)))
      (return (i32.const 100)))
    (return (i32.add (i32.const 150) (i32.const 50))))
  (i32.const 300)))"""


@pytest.mark.parametrize(("arg", "result", "gas"), [
    # entry [block block block local.get br_table] = 2
    # after end $c: [end i32.const return] = 2
    # after end $b: [end i32.const i32.const i32.add return] = 4
    # after end $a: [end i32.const end] = 1
    (0, 100, 2 + 2),
    (1, 200, 2 + 4),
    (2, 300, 2 + 1),
    (7, 300, 2 + 1),           # default target
    (-1, 300, 2 + 1),          # 0xFFFFFFFF: default target
])
def test_br_table(arg: int, result: int, gas: int) -> None:
    r = instantiate(BR_TABLE)
    assert r("f", arg) == result
    assert r.gas_used == gas


def test_return_from_nested_blocks_charges_only_executed_blocks() -> None:
    # [block block local.get if] = 2; then [i32.const return] = 2 (dead rest of the arm not charged);
    # else path: [end?] — the if has no else: after the if's end [end end i32.const i32.const
    # i32.add end] = 3.
    r = instantiate("""(module (func (export "f") (param i32) (result i32)
      (block (block (if (local.get 0) (then (return (i32.const 5)) (drop (i32.const 1))))))
      (i32.add (i32.const 1) (i32.const 2))))""")
    assert r("f", 1) == 5
    assert r.gas_used == 4
    assert r("f", 0) == 3
    assert r.gas_used == 4 + 2 + 3


# ---- calls ----------------------------------------------------------------------------------------

CALLS = """(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $sq $inc)
  (func $sq (type $t) (i32.mul (local.get 0) (local.get 0)))
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func (export "direct") (param i32) (result i32) (i32.add (call $sq (local.get 0)) (i32.const 1)))
  (func (export "indirect") (param i32 i32) (result i32) (call_indirect (type $t) (local.get 0) (local.get 1)))
  (func (export "twice") (param i32) (result i32) (call $sq (call $sq (local.get 0)))))"""


def test_direct_call() -> None:
    # caller [local.get call i32.const i32.add end] = 4 (calls do not end a block);
    # $sq [local.get local.get i32.mul end] = 3.  7.
    r = instantiate(CALLS)
    assert r("direct", 5) == 26
    assert r.gas_used == 7


def test_nested_calls() -> None:
    # caller [local.get call call end] = 3, two runs of $sq = 6.  9.
    r = instantiate(CALLS)
    assert r("twice", 3) == 81
    assert r.gas_used == 9


@pytest.mark.parametrize(("idx", "result", "gas"), [
    # caller [local.get local.get call_indirect end] = 3; $sq 3 / $inc [local.get i32.const i32.add end] 3
    (0, 16, 6),
    (1, 5, 6),
])
def test_call_indirect(idx: int, result: int, gas: int) -> None:
    r = instantiate(CALLS)
    assert r("indirect", 4, idx) == result
    assert r.gas_used == gas


def test_call_indirect_trap_charges_whole_caller_block() -> None:
    # index 5 is past the table: trap after the caller block (3) was charged.
    r = instantiate(CALLS)
    with pytest.raises(nearvm.Trap) as ei:
        r("indirect", 4, 5)
    assert ei.value.code == nearvm.TrapCode.TABLE_OUT_OF_BOUNDS
    assert r.gas_used == 3


def test_calls_between_instances_share_the_store_counter() -> None:
    # A.sq: 3 per call.  B.f: [local.get call i32.const i32.add end] = 4.  Both in one Store.
    cfg = uniform1()
    a = instantiate('(module (func (export "sq") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0))))',
                    cfg)
    b = instantiate("""(module (import "a" "sq" (func $sq (param i32) (result i32)))
        (func (export "f") (param i32) (result i32) (i32.add (call $sq (local.get 0)) (i32.const 1))))""",
                    cfg, engine=a.engine, store=a.store, imports={"a": {"sq": a.instance.exports["sq"]}})
    assert b("f", 3) == 10
    assert a.store.gas_used == 7
    assert a("sq", 2) == 4
    assert a.store.gas_used == 10


# ---- traps mid-block -----------------------------------------------------------------------------

def test_trap_mid_block_charges_whole_block() -> None:
    # [i32.const drop i32.const local.get i32.div_u i32.const i32.add end] = 7
    r = instantiate("""(module (func (export "f") (param i32) (result i32)
        (drop (i32.const 1)) (i32.add (i32.div_u (i32.const 10) (local.get 0)) (i32.const 5))))""")
    assert r("f", 2) == 10
    assert r.gas_used == 7
    with pytest.raises(nearvm.Trap) as ei:
        r("f", 0)
    assert ei.value.code == nearvm.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert not isinstance(ei.value, nearvm.OutOfGas)
    assert r.gas_used == 14


def test_unreachable_and_oob_trap_charge_their_block() -> None:
    # u: [i32.const drop unreachable] = 3
    # m: [i32.const i32.load drop i32.const i32.const i32.store end] = 6 (traps at the store, 70000 > 65536)
    r = instantiate("""(module (memory 1)
      (func (export "u") (drop (i32.const 1)) unreachable)
      (func (export "m") (drop (i32.load (i32.const 0))) (i32.store (i32.const 70000) (i32.const 1))))""")
    with pytest.raises(nearvm.Trap) as ei:
        r("u")
    assert ei.value.code == nearvm.TrapCode.UNREACHABLE
    assert r.gas_used == 3
    with pytest.raises(nearvm.Trap) as ei:
        r("m")
    assert ei.value.code == nearvm.TrapCode.MEMORY_OUT_OF_BOUNDS
    assert r.gas_used == 3 + 6


def test_trap_in_callee_keeps_caller_charges() -> None:
    # f [local.get call i32.const i32.add end] = 4; g [local.get i32.const i32.div_s end] = 3, traps.
    r = instantiate("""(module
      (func $g (param i32) (result i32) (i32.div_s (local.get 0) (i32.const 0)))
      (func (export "f") (param i32) (result i32) (i32.add (call $g (local.get 0)) (i32.const 1))))""")
    with pytest.raises(nearvm.Trap):
        r("f", 1)
    assert r.gas_used == 7


# ---- out of gas at the boundary ------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 3, 10])
def test_out_of_gas_exact_boundary(n: int) -> None:
    need = 9 * n + 6  # see test_loop_n_iterations_uniform
    ok = instantiate(COUNT, gas_limit=need)
    assert ok("count", n) == n
    assert ok.store.gas_used == need
    assert ok.store.gas_remaining == 0

    more = instantiate(COUNT, gas_limit=need + 1)
    assert more("count", n) == n
    assert more.store.gas_used == need
    assert more.store.gas_remaining == 1

    less = instantiate(COUNT, gas_limit=need - 1)
    with pytest.raises(nearvm.OutOfGas) as ei:
        less("count", n)
    assert ei.value.code == nearvm.TrapCode.OUT_OF_GAS
    assert isinstance(ei.value, nearvm.Trap)
    assert less.store.gas_used == need - 1
    assert less.store.gas_remaining == 0


SPIN = """(module (global $g (export "g") (mut i32) (i32.const 0))
  (func (export "spin") (loop $top (global.set $g (i32.add (global.get $g) (i32.const 1))) (br $top))))"""


@pytest.mark.parametrize("limit", [0, 1, 5, 6, 35, 36, 37, 40, 41])
def test_out_of_gas_before_any_effect_of_the_block(limit: int) -> None:
    # entry [loop] = 1, body [global.get i32.const i32.add global.set br] = 5, forever.
    # Iteration k runs only if 1 + 5k <= limit: completed increments = (limit - 1) // 5 (0 if limit < 1).
    r = instantiate(SPIN, gas_limit=limit)
    with pytest.raises(nearvm.OutOfGas):
        r("spin")
    assert r.instance.exports["g"].value == ((limit - 1) // 5 if limit >= 1 else 0)
    assert r.store.gas_used == limit


def test_out_of_gas_in_callee_entry_block() -> None:
    # f [i32.const global.set call end] = 3 runs (global set to 1); $g's [i32.const global.set end] = 2
    # does not fit into a limit of 4: its store never happens.
    r = instantiate("""(module (global $x (export "x") (mut i32) (i32.const 0))
      (func $g (global.set $x (i32.const 2)))
      (func (export "f") (global.set $x (i32.const 1)) (call $g)))""", gas_limit=4)
    with pytest.raises(nearvm.OutOfGas):
        r("f")
    assert r.instance.exports["x"].value == 1
    assert r.store.gas_used == 4


def test_refuel_and_cumulative_gas_used() -> None:
    r = instantiate(COUNT, gas_limit=50)
    assert r("count", 4) == 4  # 42
    assert r.store.gas_used == 42
    with pytest.raises(nearvm.OutOfGas):
        r("count", 4)  # 42 more does not fit into 8
    assert r.store.gas_used == 50
    r.store.gas_limit = 50 + 42
    assert r.store.gas_limit == 92
    assert r("count", 4) == 4
    assert r.store.gas_used == 92
    assert r.store.gas_remaining == 0
    r.store.gas_limit = None  # unlimited
    assert r.store.gas_limit is None
    assert r.store.gas_remaining == U64 - 92


def test_zero_limit_traps_on_first_block() -> None:
    r = instantiate(COUNT, gas_limit=0)
    with pytest.raises(nearvm.OutOfGas):
        r("count", 0)
    assert r.store.gas_used == 0
    # A function without charged blocks still runs at limit 0.
    r2 = instantiate('(module (func (export "f")))', gas_limit=0)
    r2("f")


# ---- costs >= 2**31 and >= 2**32 (NEAR's "9393" imm32 sign-extension bug must not exist) -----------

@pytest.mark.parametrize(("weight", "block"), [
    (2**31, 2**31 + 1),            # [i32.const(w) drop(1) end]
    (2**31 + 5, 2**31 + 6),
    (2**32 - 1, 2**32),            # exactly 2**32
])
def test_block_costs_at_and_above_2_31(weight: int, block: int) -> None:
    cfg = Config(gas=GasSchedule.uniform(1).with_weights({"i32.const": weight}))
    text = '(module (func (export "f") (drop (i32.const 0))))'
    r = instantiate(text, cfg)
    r("f")
    assert r.gas_used == block
    r("f")
    assert r.gas_used == 2 * block
    # boundary: exactly enough / one less
    ok = instantiate(text, cfg, gas_limit=block)
    ok("f")
    assert ok.store.gas_used == block
    less = instantiate(text, cfg, gas_limit=block - 1)
    with pytest.raises(nearvm.OutOfGas):
        less("f")
    assert less.store.gas_used == block - 1


def test_block_cost_above_2_32_sums_weights() -> None:
    # [i32.const drop i32.const drop i32.const drop end] with i32.const = 2**32 - 1, drop = 3:
    # 3 × (2**32 - 1) + 3 × 3 = 3 × 2**32 + 6 = 12,884,901,894
    cfg = Config(gas=GasSchedule.uniform(3).with_weights({"i32.const": 2**32 - 1}))
    r = instantiate('(module (func (export "f") (drop (i32.const 0)) (drop (i32.const 0)) (drop (i32.const 0))))', cfg)
    r("f")
    assert r.gas_used == 3 * 2**32 + 6 == 12_884_901_894


def test_uniform_weight_2_31_loop() -> None:
    # COUNT with every op 2**31: (9n + 6) × 2**31; n = 3 → 33 × 2**31 = 70,866,960,384
    r = instantiate(COUNT, Config(gas=GasSchedule.uniform(2**31)))
    assert r("count", 3) == 3
    assert r.gas_used == 33 * 2**31 == 70_866_960_384


def test_counter_never_wraps_near_2_64() -> None:
    # f = [call end] = 1, then the host charges 2**64 - 10 of the unlimited budget (2**64 - 1):
    # used = 2**64 - 9, 8 left.  g's single block (10 consts + 9 adds = 19) must trap OutOfGas:
    # an unchecked 64-bit add would wrap the counter to a small number instead.
    calls: list[int] = []

    def burn(caller: Any) -> None:
        caller.charge_gas(2**64 - 10)
        calls.append(1)

    cfg = uniform1()
    eng = api("Engine")(cfg)
    store = api("Store")(eng)
    h = api("Func")(store, nearvm.FuncType([], []), burn, access_caller=True)
    r = instantiate("""(module (import "env" "burn" (func $b))
      (func (export "f") (call $b))
      (func (export "g") (result i32)
        (i32.add (i32.add (i32.add (i32.add (i32.const 1) (i32.const 1)) (i32.add (i32.const 1) (i32.const 1)))
                          (i32.add (i32.add (i32.const 1) (i32.const 1)) (i32.add (i32.const 1) (i32.const 1))))
                 (i32.add (i32.const 1) (i32.const 1)))))""",
                    cfg, engine=eng, store=store, imports={"env": {"burn": h}})
    r("f")  # [call end] = 1, then the host's charge
    assert store.gas_used == 1 + 2**64 - 10 == U64 - 8
    assert store.gas_remaining == 8
    with pytest.raises(nearvm.OutOfGas):
        r("g")  # 10 consts + 9 adds = 19 > 8
    assert store.gas_used == U64
    assert store.gas_remaining == 0


# ---- gas=None: no metering code at all --------------------------------------------------------------

def test_gas_none_compiles_no_gas_ops() -> None:
    prog = translate(wat(COUNT), Config()).program
    text = disassemble(prog)
    assert "flags=0" in text.splitlines()[0]
    assert " gas " not in text
    metered = disassemble(translate(wat(COUNT), uniform1()).program)
    assert "flags=1" in metered.splitlines()[0]
    # entry, br_if block, body block, after-end block: four GAS ops
    assert [ln.split()[-1] for ln in metered.splitlines() if ": gas " in ln] == ["1", "4", "5", "1"]


def test_gas_none_store_counters() -> None:
    r = instantiate(COUNT, Config())
    assert r("count", 10) == 10
    assert r.store.gas_used == 0
    assert r.store.gas_remaining is None
    assert r.store.gas_limit is None
    with pytest.raises(ValueError):
        api("Store")(r.engine, gas_limit=5)
    with pytest.raises(ValueError):
        r.store.gas_limit = 5


def test_unlimited_default() -> None:
    r = instantiate(COUNT)
    assert r.store.gas_limit is None
    assert r.store.gas_remaining == U64
    r("count", 2)
    assert r.store.gas_remaining == U64 - 24


# ---- NEAR frame initialisation ------------------------------------------------------------------

@pytest.mark.parametrize(("sig", "args", "words"), [
    ("", (), 8),                                                       # 64 / 8
    ("(param i32)", (0,), 9),                                          # ceil(68 / 8)
    ("(param i64 i32) (local f64 f32 i32)", (0, 0), 12),               # 64 + 28 = 92 → 12
    ("(param i64) (local i64 i64 i64 i64 i64 i64 i64)", (0,), 16),     # 64 + 64 = 128 → 16
    ("(param externref) (local funcref)", (None,), 10),                # refs are 8: 80 → 10
])
def test_near_frame_init_charge(sig: str, args: tuple[Any, ...], words: int) -> None:
    # The body is [end] = 0, so the entry block is frame init only (the operand stack is not counted).
    r = instantiate(f'(module (func (export "f") {sig}))', Config.near())
    r("f", *args)
    assert r.gas_used == words * OP


def test_near_frame_init_paid_per_call() -> None:
    # callee (param i32) []: frame 68 → 9; caller (param i32): 9 + [local.get call end] 2 = 11. 20 ops.
    r = instantiate("""(module (func $g (param i32)) (func (export "f") (param i32) (call $g (local.get 0))))""",
                    Config.near())
    r("f", 1)
    assert r.gas_used == 20 * OP


def test_uniform_frame_init_option() -> None:
    # GasSchedule.uniform(1, frame_init_per_word=2): COUNT's entry block pays 1 + 2 × 9 = 19 → 9n + 24
    r = instantiate(COUNT, Config(gas=GasSchedule.uniform(1, frame_init_per_word=2)))
    r("count", 3)
    assert r.gas_used == 9 * 3 + 24


# ---- instantiation and artifacts -----------------------------------------------------------------

START = """(module (global $g (export "g") (mut i32) (i32.const 0))
  (func $s (global.set $g (i32.add (global.get $g) (i32.const 5)))) (start $s))"""


def test_start_function_is_metered() -> None:
    # [global.get i32.const i32.add global.set end] = 4, charged to the Store during Instance()
    r = instantiate(START)
    assert r.gas_used == 4
    assert r.instance.exports["g"].value == 5


def test_start_function_out_of_gas() -> None:
    eng = api("Engine")(uniform1())
    store = api("Store")(eng, gas_limit=3)
    with pytest.raises(nearvm.OutOfGas):
        api("Instance")(store, api("Module")(eng, wat(START)), {})
    assert store.gas_used == 3


def test_artifact_keeps_metering_and_refuses_other_schedule() -> None:
    # the schedule is part of the artifact's config hash: a metered artifact neither loads unmetered
    # nor under another schedule, and under its own it charges the same figures.
    src = wat('(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))')
    blob = api("Module")(api("Engine")(uniform1()), src).serialize()
    for other in (Config(), Config(gas=GasSchedule.uniform(2))):
        with pytest.raises(nearvm.ArtifactError):
            api("Module").deserialize(api("Engine")(other), blob, trusted_unauthenticated=True)
    eng = api("Engine")(uniform1())
    r = instantiate(src, uniform1(), engine=eng)
    mod = api("Module").deserialize(eng, blob, trusted_unauthenticated=True)
    inst = api("Instance")(r.store, mod, {})
    assert inst.exports["f"]() == 3
    assert r.store.gas_used == 3
