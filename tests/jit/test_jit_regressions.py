"""Regression tests for JIT miscompilations, executed through nearvm.Engine/Module/Store/Instance.

Each test is named after what broke. Modules are assembled with ``wasm-tools parse``.
"""

from __future__ import annotations

import pytest

import nearvm
from nearvm import Engine, Instance, Module, Store
from wasm_text import wat2wasm as wat


def instance(text: str) -> Instance:
    engine = Engine()
    return Instance(Store(engine), Module(engine, wat(text)), {})


# --- if/else whose else arm ends in dead code ----------------------------------------------------
# The then-arm's jump over the else arm did not mark the if's END as reached, so with an else
# arm ending in `return`/`br`/`unreachable` the code after END (here: the function's return
# sequence) was compiled as dead and execution fell through into the STACK_OVERFLOW trap stub
# (core/return.wast:267, core/unreachable.wast:260).

IF_ELSE_DEAD_ELSE = """(module
  (func (export "else_return") (param i32 i32) (result i32)
    (if (result i32) (local.get 0) (then (local.get 1)) (else (return (i32.const 4)))))
  (func (export "else_unreachable") (param i32 i32) (result i32)
    (if (result i32) (local.get 0) (then (local.get 1)) (else (unreachable))))
  (func (export "else_br_function") (param i32 i32) (result i32)
    (if (result i32) (local.get 0) (then (local.get 1)) (else (br 1 (i32.const 5)))))
  (func (export "else_br_outer_block") (param i32 i32) (result i32)
    (i32.add (i32.const 100)
      (block $b (result i32)
        (i32.add (i32.const 10)
          (if (result i32) (local.get 0) (then (local.get 1)) (else (br $b (i32.const 7))))))))
  (func (export "else_br_table") (param i32 i32) (result i32)
    (block $b (result i32)
      (i32.mul (i32.const 2)
        (if (result i32) (local.get 0)
          (then (local.get 1))
          (else (br_table $b 1 (i32.const 9) (local.get 1)))))))
  (func (export "else_return_no_result") (param i32) (result i32)
    (local i32)
    (if (local.get 0) (then (local.set 1 (i32.const 3))) (else (return (i32.const 4))))
    (i32.add (local.get 1) (i32.const 1)))
  (func (export "else_return_nested") (param i32 i32) (result i32)
    (if (result i32) (local.get 0)
      (then (if (result i32) (local.get 1) (then (i32.const 11)) (else (return (i32.const 12)))))
      (else (return (i32.const 13)))))
  (func (export "else_return_multi_value_params") (param i32 i32 i32) (result i32)
    (local.get 1) (local.get 2)
    (if (param i32 i32) (result i32 i32) (local.get 0)
      (then (i32.add) (i32.const 2))
      (else (drop) (drop) (return (i32.const -1))))
    (i32.sub))
  (func (export "else_return_in_loop") (param i32) (result i32)
    (local $acc i32)
    (loop $l
      (if (i32.lt_u (local.get $acc) (local.get 0))
        (then (local.set $acc (i32.add (local.get $acc) (i32.const 1))))
        (else (return (i32.mul (local.get $acc) (i32.const 2)))))
      (br $l))
    (unreachable))
)"""


@pytest.fixture(scope="module")
def dead_else() -> Instance:
    return instance(IF_ELSE_DEAD_ELSE)


@pytest.mark.parametrize(
    ("export", "args", "expected"),
    [
        ("else_return", (1, 6), 6),
        ("else_return", (0, 6), 4),
        ("else_unreachable", (1, 6), 6),
        ("else_br_function", (1, 6), 6),
        ("else_br_function", (0, 6), 5),
        ("else_br_outer_block", (1, 6), 116),
        ("else_br_outer_block", (0, 6), 107),
        ("else_br_table", (1, 6), 12),
        ("else_br_table", (0, 0), 9),
        ("else_br_table", (0, 1), 9),
        ("else_return_no_result", (1,), 4),
        ("else_return_no_result", (0,), 4),
        ("else_return_nested", (1, 1), 11),
        ("else_return_nested", (1, 0), 12),
        ("else_return_nested", (0, 1), 13),
        ("else_return_multi_value_params", (1, 10, 3), 11),
        ("else_return_multi_value_params", (0, 10, 3), -1),
        ("else_return_in_loop", (5,), 10),
        ("else_return_in_loop", (0,), 0),
    ],
)
def test_if_end_live_when_else_arm_ends_in_dead_code(dead_else: Instance, export: str, args: tuple,
                                                     expected: int) -> None:
    assert dead_else.exports[export](*args) == expected


def test_else_unreachable_still_traps_on_the_else_path(dead_else: Instance) -> None:
    with pytest.raises(nearvm.Trap) as info:
        dead_else.exports["else_unreachable"](0, 6)
    assert info.value.code == nearvm.TrapCode.UNREACHABLE


# --- siblings: dead code in the then arm, br_table arms, if without else --------------------------

SIBLINGS = """(module
  (func (export "then_return") (param i32 i32) (result i32)
    (if (result i32) (local.get 0) (then (return (i32.const 4))) (else (local.get 1))))
  (func (export "both_arms_dead_but_branched") (param i32) (result i32)
    (block $b (result i32)
      (if (result i32) (local.get 0)
        (then (br $b (i32.const 1)))
        (else (br $b (i32.const 2))))))
  (func (export "if_no_else_then_returns") (param i32) (result i32)
    (if (local.get 0) (then (return (i32.const 8))))
    (i32.const 9))
  (func (export "br_table_arms_return") (param i32) (result i32)
    (block $a (block $b (block $c (br_table $a $b $c $c (local.get 0)))
      (return (i32.const 30)))
      (return (i32.const 20)))
    (i32.const 10))
  (func (export "if_params_passthrough_no_else") (param i32 i32) (result i32)
    (local.get 1)
    (if (param i32) (result i32) (local.get 0) (then (i32.const 5) (i32.add)))
    (i32.const 1) (i32.add))
  (func (export "block_br_if_multi_value") (param i32) (result i32)
    (block $b (result i32 i32)
      (i32.const 3) (i32.const 4)
      (br_if $b (local.get 0))
      (drop) (drop) (i32.const 5) (i32.const 6))
    (i32.sub))
)"""


@pytest.fixture(scope="module")
def siblings() -> Instance:
    return instance(SIBLINGS)


@pytest.mark.parametrize(
    ("export", "args", "expected"),
    [
        ("then_return", (1, 6), 4),
        ("then_return", (0, 6), 6),
        ("both_arms_dead_but_branched", (1,), 1),
        ("both_arms_dead_but_branched", (0,), 2),
        ("if_no_else_then_returns", (1,), 8),
        ("if_no_else_then_returns", (0,), 9),
        ("br_table_arms_return", (0,), 10),
        ("br_table_arms_return", (1,), 20),
        ("br_table_arms_return", (2,), 30),
        ("br_table_arms_return", (3,), 30),
        ("if_params_passthrough_no_else", (1, 10), 16),
        ("if_params_passthrough_no_else", (0, 10), 11),
        ("block_br_if_multi_value", (1,), -1),
        ("block_br_if_multi_value", (0,), -1),
    ],
)
def test_dead_code_arm_siblings(siblings: Instance, export: str, args: tuple, expected) -> None:
    assert siblings.exports[export](*args) == expected


# --- entry trampoline kept the args pointer / slot count in r12/r13 across the wasm call ----------
# Wasm code may allocate r12/r13 (caller-saved in the internal convention), so a function with
# ~10 values live in registers made the trampoline copy its results through a clobbered pointer
# (an "out of bounds memory access" trap, or a host write through a garbage pointer).


def _pressure_sum(n: int) -> str:
    # k*x + (k+1)*x + ... nested to the right: n products live in registers at once.
    terms = "".join(f"(i32.add (i32.mul (local.get 0) (i32.const {k})) " for k in range(1, n + 1))
    return terms + "(i32.const 0)" + ")" * n


def test_entry_trampoline_results_survive_high_register_pressure() -> None:
    inst = instance(f"""(module
      (func (export "one") (param i32) (result i32) {_pressure_sum(13)})
      (func (export "two") (param i32) (result i32 i64)
        {_pressure_sum(13)} (i64.extend_i32_u {_pressure_sum(12)})))""")
    expected13 = sum(range(1, 14))
    expected12 = sum(range(1, 13))
    for x in (1, 2, 1000):
        assert inst.exports["one"](x) == expected13 * x
        assert inst.exports["two"](x) == (expected13 * x, expected12 * x)


# --- local homes (rbx/r12/r13 hold the hottest declared locals, callee-saved) ---------------------

HOMES = """(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1)
  ;; 4 hot declared locals (3 homed, 1 in memory) live across direct, host and helper calls.
  (func $clobber (param i32) (result i32) (local i32 i32 i32)
    (local.set 1 (i32.const 111)) (local.set 2 (i32.const 222)) (local.set 3 (i32.const 333))
    (loop $l (local.set 1 (i32.add (local.get 1) (local.get 2)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 3))))
    (i32.add (local.get 0) (local.get 1)))
  (func (export "across_calls") (param i32) (result i32) (local i32 i32 i64 i32)
    (local.set 1 (i32.const 1)) (local.set 2 (i32.const 2)) (local.set 3 (i64.const -3))
    (local.set 4 (i32.const 4))
    (loop $l
      (local.set 1 (i32.add (local.get 1) (call $clobber (local.get 2))))
      (local.set 2 (i32.add (local.get 2) (call $host (local.get 1))))
      (drop (memory.grow (i32.const 0)))
      (local.set 3 (i64.add (local.get 3) (i64.extend_i32_u (local.get 4))))
      (br_if $l (i32.ne (local.tee 0 (i32.sub (local.get 0) (i32.const 1))) (i32.const 0))))
    (i32.add (i32.add (local.get 1) (local.get 2))
             (i32.add (i32.wrap_i64 (local.get 3)) (local.get 4))))
  ;; A lazy read of a homed local must see the value from before a later local.set.
  (func (export "lazy_read_then_set") (param i32) (result i32) (local i32)
    (local.set 1 (local.get 0))
    (local.get 1)
    (local.set 1 (i32.const 100))
    (local.get 1)
    (i32.sub))
  ;; Recursion: every frame's homes are restored for its caller.
  (func $rec (export "rec") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.mul (local.get 0) (i32.const 10)))
    (local.set 2 (i32.const 7))
    (if (i32.eqz (local.get 0)) (then (return (i32.const 0))))
    (i32.add (i32.add (local.get 1) (local.get 2)) (call $rec (i32.sub (local.get 0) (i32.const 1)))))
)"""


def _homes_reference_across_calls(n: int) -> int:
    def clobber(x: int) -> int:
        a = 111
        while True:
            a = (a + 222) & 0xFFFFFFFF
            if not a < 333:
                break
        return (x + a) & 0xFFFFFFFF

    l1, l2, l3, l4 = 1, 2, -3, 4
    while True:
        l1 = (l1 + clobber(l2)) & 0xFFFFFFFF
        l2 = (l2 + (l1 ^ 0x5A)) & 0xFFFFFFFF
        l3 += l4
        n = (n - 1) & 0xFFFFFFFF
        if n == 0:
            break
    total = (l1 + l2 + (l3 & 0xFFFFFFFF) + l4) & 0xFFFFFFFF
    return total - (1 << 32) if total >= 1 << 31 else total


def test_local_homes_preserved_across_direct_host_and_helper_calls() -> None:
    from nearvm import Func, FuncType, ValType

    engine = Engine()
    store = Store(engine)
    host = Func(store, FuncType([ValType.I32], [ValType.I32]), lambda x: x ^ 0x5A)
    inst = Instance(store, Module(engine, wat(HOMES)), {"env": {"host": host}})
    for n in (1, 3, 10):
        assert inst.exports["across_calls"](n) == _homes_reference_across_calls(n)
    assert inst.exports["lazy_read_then_set"](250) == 150
    assert inst.exports["rec"](5) == sum(10 * k + 7 for k in range(1, 6))


# --- NaN canonicalisation moved out of line; local.set/tee + local.get reuse the register ---------


def test_out_of_line_nan_fixup_yields_canonical_nan_and_resumes() -> None:
    inst = instance("""(module
      (func (export "div64") (param f64 f64) (result f64)
        (f64.add (f64.div (local.get 0) (local.get 1)) (f64.const 1)))
      (func (export "sqrt32") (param f32) (result f32) (f32.sqrt (local.get 0)))
      (func (export "payload64") (param i64) (result f64)
        (f64.mul (f64.reinterpret_i64 (local.get 0)) (f64.const 2)))
      (func (export "after") (param f64) (result i32)
        (i32.add (i64.eq (i64.reinterpret_f64 (f64.sub (local.get 0) (local.get 0)))
                         (i64.const 0x7FF8000000000000))
                 (i32.const 10))))""")
    e = inst.exports
    assert e["div64"].call_raw([0, 0]) == [0x7FF8_0000_0000_0000]
    assert e["div64"].call_raw([0x4010_0000_0000_0000, 0x4000_0000_0000_0000]) == [0x4008_0000_0000_0000]
    assert e["sqrt32"].call_raw([0xBF80_0000]) == [0x7FC0_0000]
    assert e["payload64"].call_raw([0xFFF4_0000_0000_0001]) == [0x7FF8_0000_0000_0000]
    assert e["after"](float("inf")) == 11  # inf - inf: NaN fixed up, execution continues
    assert e["after"](2.0) == 10


def test_set_or_tee_then_get_reuses_the_register() -> None:
    inst = instance("""(module
      (func (export "tee_get") (param f64) (result f64) (local f64)
        (f64.mul (local.tee 1 (f64.add (local.get 0) (f64.const 1))) (local.get 1)))
      (func (export "set_get") (param i64) (result i64) (local i64)
        (local.set 1 (i64.mul (local.get 0) (i64.const 3)))
        (i64.add (local.get 1) (local.get 1)))
      (func (export "tee_get_then_set") (param i32) (result i32) (local i32)
        (local.tee 1 (i32.add (local.get 0) (i32.const 1)))
        (local.get 1)
        (local.set 1 (i32.const 50))
        (i32.add (local.get 1))
        (i32.add)))""")
    assert inst.exports["tee_get"](2.0) == 9.0
    assert inst.exports["set_get"](7) == 42
    assert inst.exports["tee_get_then_set"](4) == 5 + 5 + 50


def test_float_memory_operands_keep_operand_order() -> None:
    # sub/div are not commutative: the in-slot rhs must stay the rhs; add/mul may commute.
    inst = instance("""(module
      (func (export "f") (param f64 f64 f32 f32) (result f64 f32)
        (local f64)
        (local.set 4 (f64.div (local.get 0) (local.get 1)))
        (f64.sub (f64.mul (f64.add (local.get 0) (f64.const 1)) (local.get 4))
                 (f64.div (f64.sqrt (local.get 1)) (local.get 0)))
        (f32.div (f32.sub (f32.sqrt (local.get 2)) (local.get 3)) (local.get 3))))""")
    a, b, c, d = 8.0, 4.0, 9.0, 2.0
    got = inst.exports["f"](a, b, c, d)
    assert got == ((a + 1) * (a / b) - (b ** 0.5) / a, (c ** 0.5 - d) / d)


def test_in_place_update_of_homed_local() -> None:
    # `local.get x; ...; op; local.set/tee x` computes into x's home register; a pending lazy
    # read of x below must still see the old value, and x op x must read x before writing it.
    inst = instance("""(module
      (func (export "f") (param i32) (result i32) (local i32 i64)
        (local.set 1 (local.get 0))
        (local.set 2 (i64.const 5))
        (local.get 1)                                           ;; old x, pending below
        (local.set 1 (i32.add (local.get 1) (i32.const 10)))   ;; x += 10
        (local.set 1 (i32.mul (local.get 1) (local.get 1)))    ;; x *= x
        (local.set 2 (i64.sub (local.get 2) (i64.extend_i32_u (local.tee 1 (i32.xor (local.get 1) (i32.const 3))))))
        (i32.add (i32.add (local.get 1)) (i32.wrap_i64 (local.get 2)))))""")
    for x in (0, 1, 7, 1000):
        x1 = ((x + 10) * (x + 10)) & 0xFFFFFFFF
        x1 ^= 3
        l2 = (5 - x1) & 0xFFFFFFFFFFFFFFFF
        total = (x + x1 + (l2 & 0xFFFFFFFF)) & 0xFFFFFFFF
        assert inst.exports["f"](x) == (total - (1 << 32) if total >= 1 << 31 else total)


# --- pinned memory base: set by whoever enters an instance --------------------------------------


def test_memory_base_follows_cross_instance_calls() -> None:
    engine = Engine()
    store = Store(engine)
    b = Instance(store, Module(engine, wat("""(module
      (memory (export "mem") 1) (data (i32.const 0) "\\0b\\00\\00\\00")
      (table (export "tab") 1 funcref) (elem (i32.const 0) $peek)
      (func $peek (export "peek") (param i32) (result i32) (i32.load (local.get 0))))""")), {})
    a = Instance(store, Module(engine, wat("""(module
      (import "b" "peek" (func $peek (param i32) (result i32)))
      (import "b" "tab" (table 1 funcref))
      (type $t (func (param i32) (result i32)))
      (memory 1) (data (i32.const 0) "\\16\\00\\00\\00")
      (func (export "mixed") (result i32)
        (i32.add (i32.mul (call $peek (i32.const 0)) (i32.const 1000))
          (i32.add (i32.mul (call_indirect (type $t) (i32.const 0) (i32.const 0)) (i32.const 100))
                   (i32.load (i32.const 0))))))""")), {"b": {"peek": b.exports["peek"], "tab": b.exports["tab"]}})
    # A memory-less caller: the callee still finds its own memory.
    c = Instance(store, Module(engine, wat("""(module
      (import "b" "peek" (func $peek (param i32) (result i32)))
      (func (export "f") (result i32) (call $peek (i32.const 0))))""")), {"b": {"peek": b.exports["peek"]}})
    assert a.exports["mixed"]() == 11 * 1000 + 11 * 100 + 22
    assert c.exports["f"]() == 11


def test_float_local_homes_survive_helper_host_and_wasm_calls() -> None:
    from nearvm import Func, FuncType, ValType

    engine = Engine()
    store = Store(engine)
    # A host function that does float work itself (clobbering xmm registers in C/Python).
    host = Func(store, FuncType([ValType.F64], [ValType.F64]), lambda x: x * 0.5 + 1.25)
    inst = Instance(store, Module(engine, wat("""(module
      (import "env" "h" (func $h (param f64) (result f64)))
      (memory 1)
      (func $w (param f64) (result f64) (local f64 f32)
        (local.set 1 (f64.mul (local.get 0) (f64.const 3)))
        (local.set 2 (f32.const 2.5))
        (f64.add (local.get 1) (f64.promote_f32 (local.get 2))))
      (func (export "f") (param f64 i32) (result f64 f32) (local f64 f32 f64)
        (local.set 2 (f64.const 1.5)) (local.set 3 (f32.const -2)) (local.set 4 (local.get 0))
        (loop $l
          (local.set 2 (f64.add (local.get 2) (call $h (local.get 4))))
          (local.set 4 (f64.sub (local.get 4) (call $w (local.get 2))))
          (drop (memory.grow (i32.const 0)))
          (memory.fill (i32.const 0) (i32.const 7) (i32.const 100))
          (local.set 3 (f32.mul (local.get 3) (f32.const 1.5)))
          (br_if $l (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
        (f64.add (local.get 2) (local.get 4)) (local.get 3)))""")), {"env": {"h": host}})

    def ref(x: float, n: int) -> tuple[float, float]:
        import struct

        def f32(v: float) -> float:
            return struct.unpack("<f", struct.pack("<f", v))[0]

        l2, l3, l4 = 1.5, -2.0, x
        while True:
            l2 = l2 + (l4 * 0.5 + 1.25)
            l4 = l4 - (l2 * 3 + 2.5)
            l3 = f32(l3 * 1.5)
            n -= 1
            if n == 0:
                break
        return (l2 + l4, l3)

    for x, n in ((1.0, 1), (0.25, 4), (-3.5, 7)):
        assert inst.exports["f"](x, n) == ref(x, n)


def test_homed_locals_as_memory_index_and_stored_value() -> None:
    # Homes are read in place as the address index and as the stored value (any width); an
    # integer load must not write its result into the home.
    inst = instance("""(module (memory 1)
      (func (export "f") (param i32) (result i32) (local i32 i32 i32 f64)
        (local.set 1 (local.get 0)) (local.set 2 (i32.const 0x1ff)) (local.set 3 (i32.const 0))
        (local.set 4 (f64.const 2.5))
        (loop $l
          (i32.store8 (local.get 1) (local.get 2))
          (i32.store16 offset=100 (local.get 1) (local.get 2))
          (f64.store offset=200 (local.get 1) (local.get 4))
          (local.set 3 (i32.add (local.get 3) (i32.load8_u (local.get 1))))
          (local.set 4 (f64.add (local.get 4) (f64.load offset=200 (local.get 1))))
          (local.set 2 (i32.add (local.get 2) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get 2) (i32.const 0x204))))
        (i32.add (i32.add (local.get 3) (local.get 1))
                 (i32.add (i32.load16_u offset=100 (local.get 1)) (i32.trunc_f64_s (local.get 4))))))""")
    x = 40
    acc, f = 0, 2.5
    for v in range(0x1FF, 0x204):
        acc += v & 0xFF
        f += f
    assert inst.exports["f"](x) == acc + x + 0x203 + int(f)


def test_host_volatile_homes_do_not_clobber_the_callers_saved_values() -> None:
    # Callee and caller both home 5 integer and 2 float locals; the callee calls a helper and a
    # host function, which clobber the host-volatile homes (r8/r9, xmm12/13 on x64). The callee
    # saves them around those calls in slots of its own: the homed locals' slots hold the
    # caller's values, restored at return.
    from nearvm import Func, FuncType, ValType

    engine = Engine()
    store = Store(engine)
    host = Func(store, FuncType([ValType.I32], [ValType.I32]), lambda x: x + 1)
    locals_ = "(local i32 i32 i32 i32 i32 f64 f64)"
    body = """
        (local.set 1 (i32.add (local.get 0) (i32.const 1))) (local.set 2 (i32.add (local.get 0) (i32.const 2)))
        (local.set 3 (i32.add (local.get 0) (i32.const 3))) (local.set 4 (i32.add (local.get 0) (i32.const 4)))
        (local.set 5 (i32.add (local.get 0) (i32.const 5)))
        (local.set 6 (f64.convert_i32_s (local.get 0))) (local.set 7 (f64.const 0.5))
        {call}
        (i32.add (i32.add (i32.add (local.get 1) (local.get 2)) (i32.add (local.get 3) (local.get 4)))
                 (i32.add (local.get 5) (i32.trunc_f64_s (f64.add (local.get 6) (local.get 7)))))"""
    inst = Instance(store, Module(engine, wat(f"""(module
      (import "env" "h" (func $h (param i32) (result i32)))
      (memory 1)
      (func $callee (param i32) (result i32) {locals_}
        {body.format(call="(memory.fill (i32.const 0) (i32.const 1) (i32.const 8)) (drop (call $h (local.get 1)))")})
      (func (export "caller") (param i32) (result i32) {locals_}
        {body.format(call="(local.set 1 (i32.add (local.get 1) (call $callee (i32.const 1000))))")}))""")),
        {"env": {"h": host}})

    def expected(x: int, extra: int = 0) -> int:
        return (x + 1 + extra) + (x + 2) + (x + 3) + (x + 4) + (x + 5) + int(x + 0.5)

    assert inst.exports["caller"](10) == expected(10, expected(1000))


# A caller whose locals 1..6 (i32) and 7..8 (f64) are homed, r8/r9 and float homes among them;
# after its loop (accumulating into $k) it returns $k + locals 1..6 + trunc(local 7 + local 8).
# The tail closes the function; the module text closes the module.
HOMED_CALLER_HEAD = """(func (export "caller") (param i32) (result i32)
        (local i32 i32 i32 i32 i32 i32 f64 f64) (local $k i32)
        (local.set 1 (i32.add (local.get 0) (i32.const 1))) (local.set 2 (i32.add (local.get 0) (i32.const 2)))
        (local.set 3 (i32.add (local.get 0) (i32.const 3))) (local.set 4 (i32.add (local.get 0) (i32.const 4)))
        (local.set 5 (i32.add (local.get 0) (i32.const 5))) (local.set 6 (i32.add (local.get 0) (i32.const 6)))
        (local.set 7 (f64.convert_i32_s (local.get 0))) (local.set 8 (f64.const 0.5))"""
HOMED_CALLER_TAIL = """(i32.add (local.get $k)
          (i32.add (i32.add (i32.add (local.get 1) (local.get 2)) (i32.add (local.get 3) (local.get 4)))
                   (i32.add (i32.add (local.get 5) (local.get 6))
                            (i32.trunc_f64_s (f64.add (local.get 7) (local.get 8)))))))"""


def _clobbering_host(store: Store):  # noqa: ANN202
    """An i32 -> i32 identity host function whose Python, libm and memcpy work uses the volatile
    registers freely."""
    import math

    from nearvm import Func, FuncType, ValType

    def clobber(x: int) -> int:
        return x + int(sum(math.sin(i * 0.1) for i in range(64)) * 0) + len(bytes(4096).hex()) * 0

    return Func(store, FuncType([ValType.I32], [ValType.I32]), clobber)


def test_caller_homes_survive_a_local_callee_that_calls_the_host() -> None:
    # The caller's hottest locals live in home registers, r8/r9 (and xmm12/13) among them, which
    # host code may clobber. A local callee with no homes of its own saves none of them, yet it
    # calls a host function: the caller must save its host-volatile homes around direct calls
    # too. (They were saved only around import calls: the NEAR Rust contract read a corrupted
    # homed local as an address and trapped out of bounds.)
    engine = Engine()
    store = Store(engine)
    host = _clobbering_host(store)
    inst = Instance(store, Module(engine, wat(f"""(module
      (import "env" "h" (func $h (param i32) (result i32)))
      (func $callee (param i32) (result i32) (call $h (local.get 0)))
      {HOMED_CALLER_HEAD}
        (loop $l
          (local.set $k (i32.add (local.get $k) (call $callee (i32.const 1))))
          (br_if $l (i32.lt_u (local.get $k) (i32.const 3))))
        {HOMED_CALLER_TAIL})""")),
        {"env": {"h": host}})
    for x in (10, 1000, 77777):
        assert inst.exports["caller"](x) == 3 + 6 * x + 21 + x


def test_caller_homes_survive_callees_that_call_helpers_or_the_host_indirectly() -> None:
    # Internal convention: every wasm-convention callee preserves every home register. A callee
    # with no homes of its own that calls runtime helpers (memory.grow, memory.fill, table.grow:
    # host C code) must still preserve the caller's r8/r9/xmm12/xmm13, and so must the host-call
    # stub reached through call_indirect. (Callers no longer save homes around calls.)
    engine = Engine()
    store = Store(engine)
    host = _clobbering_host(store)
    inst = Instance(store, Module(engine, wat(f"""(module
      (import "env" "h" (func $h (param i32) (result i32)))
      (type $t (func (param i32) (result i32)))
      (memory 1 100)
      (table 4 funcref)
      (elem (i32.const 0) $h $helpers)
      (func $helpers (param i32) (result i32)
        (drop (memory.grow (i32.const 1)))
        (memory.fill (i32.const 0) (local.get 0) (i32.const 4096))
        (drop (table.grow (ref.null func) (i32.const 1)))
        (i32.load8_u (i32.const 7)))
      {HOMED_CALLER_HEAD}
        (loop $l
          (local.set $k (i32.add (local.get $k) (call $helpers (i32.const 1))))
          (local.set $k (i32.add (local.get $k) (call_indirect (type $t) (i32.const 0) (i32.const 0))))
          (local.set $k (i32.add (local.get $k) (call_indirect (type $t) (i32.const 1) (i32.const 1))))
          (br_if $l (i32.lt_u (local.get $k) (i32.const 6))))
        {HOMED_CALLER_TAIL})""")),
        {"env": {"h": host}})
    for x in (10, 1000, 77777):
        assert inst.exports["caller"](x) == 6 + 6 * x + 21 + x


def test_homed_parameters_are_loaded_saved_and_restored() -> None:
    # Parameters used in loops live in home registers: loaded in the prologue, written by
    # local.set, returned (also as several results), and the caller's home registers come back
    # intact through recursion.
    engine = Engine()
    store = Store(engine)
    inst = Instance(store, Module(engine, wat("""(module
      (func $sum (export "sum") (param $n i32) (param $step i64) (param $scale f64) (result i64 f64 i32)
        (local $acc i64) (local $f f64)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i64.add (local.get $acc) (local.get $step)))
          (local.set $f (f64.add (local.get $f) (local.get $scale)))
          (local.set $step (i64.add (local.get $step) (i64.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc) (local.get $f) (local.get $n))
      (func $rec (export "rec") (param $d i32) (param $x i64) (result i64)
        (local $i i32) (local $s i64)
        (loop $l
          (local.set $s (i64.add (local.get $s) (i64.mul (local.get $x) (i64.extend_i32_u (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $d))))
        (if (result i64) (i32.gt_u (local.get $d) (i32.const 1))
          (then (i64.add (local.get $s)
                  (i64.add (call $rec (i32.sub (local.get $d) (i32.const 1)) (i64.add (local.get $x) (i64.const 3)))
                           (i64.mul (local.get $x) (i64.extend_i32_u (local.get $d))))))
          (else (local.get $s)))))""")))

    def py_sum(n: int, step: int, scale: float) -> tuple[int, float, int]:
        acc, f = 0, 0.0
        while n:
            acc, f, step, n = acc + step, f + scale, step + 1, n - 1
        return acc, f, 0

    def py_rec(d: int, x: int) -> int:
        s = sum(x * i for i in range(max(d, 1)))
        return s + py_rec(d - 1, x + 3) + x * d if d > 1 else s

    assert inst.exports["sum"](10, 5, 0.25) == py_sum(10, 5, 0.25)
    assert inst.exports["sum"](0, 5, 0.25) == (0, 0.0, 0)
    for d in (1, 2, 7, 40):
        assert inst.exports["rec"](d, 11) == py_rec(d, 11) & (2**64 - 1)
