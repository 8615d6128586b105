"""Semantics of the JIT's code-shape optimisations, executed (docs/jit.md).

Each optimisation emits different machine code for a common wasm shape; these tests pin the
results where the optimised and the naive code could disagree:

- lazy NaN canonicalisation (a float arithmetic result is checked only where its bits become
  observable) — every observation point must still see the canonical NaN;
- `lea` for add/sub into a different register, results computed straight into a homed local,
  and `i64.extend_i32_u` as a pure retag — 32-bit wrap-around and zero upper halves;
- constant memory indices folded into the displacement, constant stores as immediates.

Float arguments and results go through ``call_raw`` as exact bit patterns.
"""

from __future__ import annotations

import pytest

from nearvm import Engine, Instance, Module, Store, Trap, TrapCode
from wasm_text import wat2wasm

CANON64 = 0x7FF8_0000_0000_0000
CANON32 = 0x7FC0_0000
# A quiet NaN with a payload: x86 arithmetic propagates it (instead of the canonical NaN).
PAYLOAD64 = 0x7FF8_0000_0000_1234
PAYLOAD32 = 0x7FC0_1234
INF64 = 0x7FF0_0000_0000_0000


def instance(text: str) -> Instance:
    engine = Engine()
    return Instance(Store(engine), Module(engine, wat2wasm(text)), {})


# ---- lazy NaN canonicalisation ---------------------------------------------------------------

LAZY_NAN = """(module
  (memory 1)
  (global $g (mut f64) (f64.const 0))
  (func $id (param f64) (result f64) (local.get 0))
  ;; bit operations after arithmetic: the NaN is canonical first, then the sign moves
  (func (export "neg_of_add") (param f64 f64) (result f64) (f64.neg (f64.add (local.get 0) (local.get 1))))
  (func (export "abs_of_mul") (param f64 f64) (result f64) (f64.abs (f64.mul (local.get 0) (local.get 1))))
  (func (export "copysign_from_nan") (param f64 f64) (result f64)
    (f64.copysign (f64.const 1) (f64.sub (local.get 0) (local.get 1))))
  (func (export "reinterpret_of_sub") (param f64 f64) (result i64)
    (i64.reinterpret_f64 (f64.sub (local.get 0) (local.get 1))))
  (func (export "neg_of_add32") (param f32 f32) (result f32) (f32.neg (f32.add (local.get 0) (local.get 1))))
  ;; chains: only the end is observed
  (func (export "chain") (param f64 f64 f64) (result f64)
    (f64.div (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)) (f64.sqrt (local.get 2))))
  (func (export "chain32") (param f32 f32) (result f32)
    (f32.demote_f64 (f64.promote_f32 (f32.max (f32.add (local.get 0) (local.get 1)) (local.get 1)))))
  ;; observation points
  (func (export "store") (param f64 f64) (result i64)
    (f64.store (i32.const 8) (f64.add (local.get 0) (local.get 1)))
    (i64.load (i32.const 8)))
  (func (export "store32") (param f32 f32) (result i32)
    (f32.store (i32.const 16) (f32.mul (local.get 0) (local.get 1)))
    (i32.load (i32.const 16)))
  (func (export "local_set_unhomed") (param f64 f64) (result i64)
    (local $a f64)
    (local.set $a (f64.add (local.get 0) (local.get 1)))
    (i64.reinterpret_f64 (local.get $a)))
  (func (export "local_tee_homed_in_loop") (param f64 f64) (result i64)
    (local $a f64) (local $i i32)
    (loop $l
      (local.set $a (f64.add (local.get 0) (local.get 1)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (i64.reinterpret_f64 (local.get $a)))
  (func (export "global_set") (param f64 f64) (result i64)
    (global.set $g (f64.sub (local.get 0) (local.get 1)))
    (i64.reinterpret_f64 (global.get $g)))
  (func (export "call_arg") (param f64 f64) (result i64)
    (i64.reinterpret_f64 (call $id (f64.add (local.get 0) (local.get 1)))))
  (func (export "block_result") (param f64 f64 i32) (result i64)
    (i64.reinterpret_f64
      (block (result f64) (br_if 0 (f64.add (local.get 0) (local.get 1)) (local.get 2)) (drop) (f64.const 2))))
  (func (export "select") (param f64 f64 i32) (result i64)
    (i64.reinterpret_f64 (select (f64.add (local.get 0) (local.get 1)) (f64.const 3) (local.get 2))))
  (func (export "return") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func (export "spilled") (param f64 f64) (result i64)
    ;; more pending results alive at once than there are float registers: some are spilled
    (i64.reinterpret_f64
      (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add
        (f64.add (local.get 0) (local.get 1)) (f64.add (local.get 0) (local.get 1)))
        (f64.neg (f64.add (local.get 0) (local.get 1)))) (f64.neg (f64.add (local.get 0) (local.get 1))))
        (f64.neg (f64.add (local.get 0) (local.get 1)))) (f64.neg (f64.add (local.get 0) (local.get 1))))
        (f64.neg (f64.add (local.get 0) (local.get 1)))) (f64.neg (f64.add (local.get 0) (local.get 1))))
        (f64.neg (f64.add (local.get 0) (local.get 1)))) (f64.neg (f64.add (local.get 0) (local.get 1))))))
  (func (export "spilled_neg_first") (param f64 f64) (result i64)
    ;; the first pending value is spilled under pressure, then negated: canonical, then sign
    (i64.reinterpret_f64 (f64.neg
      (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add
        (f64.add (local.get 0) (local.get 1)) (f64.const 1)) (f64.const 2)) (f64.const 3)) (f64.const 4))
        (f64.const 5)) (f64.const 6)) (f64.const 7)) (f64.const 8)) (f64.const 9)))))
  ;; NaN-agnostic consumers read pending values raw
  (func (export "compare") (param f64 f64) (result i32) (f64.ne (f64.add (local.get 0) (local.get 1)) (f64.const 0)))
  (func (export "trunc_sat") (param f64 f64) (result i32) (i32.trunc_sat_f64_s (f64.add (local.get 0) (local.get 1))))
  (func (export "trunc") (param f64 f64) (result i32) (i32.trunc_f64_s (f64.add (local.get 0) (local.get 1)))))"""


@pytest.fixture(scope="module")
def lazy() -> Instance:
    return instance(LAZY_NAN)


@pytest.mark.parametrize("name, args, expected", [
    ("neg_of_add", [PAYLOAD64, 0], CANON64 | 1 << 63),
    ("neg_of_add", [INF64, INF64 | 1 << 63], CANON64 | 1 << 63),  # inf - inf: x86's default NaN is negative
    ("abs_of_mul", [PAYLOAD64 | 1 << 63, 0x3FF0_0000_0000_0000], CANON64),
    ("copysign_from_nan", [INF64, INF64], 0x3FF0_0000_0000_0000),  # canonical NaN is positive
    ("reinterpret_of_sub", [INF64, INF64], CANON64),
    ("neg_of_add32", [PAYLOAD32, 0], CANON32 | 1 << 31),
    ("chain", [PAYLOAD64, 0x3FF0_0000_0000_0000, 0], CANON64),
    ("chain", [0x4000_0000_0000_0000, 0x4008_0000_0000_0000, 0x4010_0000_0000_0000], 0x4014_0000_0000_0000),
    ("chain32", [PAYLOAD32, 0], CANON32),
    ("store", [PAYLOAD64, 0], CANON64),
    ("store32", [PAYLOAD32, 0x3F80_0000], CANON32),
    ("local_set_unhomed", [PAYLOAD64, 0], CANON64),
    ("local_tee_homed_in_loop", [PAYLOAD64, 0], CANON64),
    ("global_set", [INF64, INF64], CANON64),
    ("call_arg", [PAYLOAD64, 0], CANON64),
    ("block_result", [PAYLOAD64, 0, 1], CANON64),
    ("select", [PAYLOAD64, 0, 1], CANON64),
    ("return", [PAYLOAD64, 0], CANON64),
    ("return", [0x3FF0_0000_0000_0000, 0x3FF0_0000_0000_0000], 0x4000_0000_0000_0000),
    ("spilled", [PAYLOAD64, 0], CANON64),
    ("spilled_neg_first", [PAYLOAD64, 0], CANON64 | 1 << 63),
    ("compare", [PAYLOAD64, 0], 1),
    ("trunc_sat", [PAYLOAD64, 0], 0),
])
def test_pending_nan_is_canonical_wherever_observed(lazy: Instance, name: str, args: list[int],
                                                     expected: int) -> None:
    assert lazy.exports[name].call_raw(args) == [expected]


def test_pending_nan_still_traps_an_invalid_truncation(lazy: Instance) -> None:
    with pytest.raises(Trap) as e:
        lazy.exports["trunc"].call_raw([PAYLOAD64, 0])
    assert e.value.code == TrapCode.INVALID_CONVERSION


# ---- integer shapes --------------------------------------------------------------------------

INT_SHAPES = """(module
  (memory 1)
  ;; add/sub into a fresh register (lea): 32-bit wrap, zero upper half, then a retagging extend
  (func (export "add_imm_ext") (param i32) (result i64) (i64.extend_i32_u (i32.add (local.get 0) (i32.const 1))))
  (func (export "sub_imm_ext") (param i32) (result i64) (i64.extend_i32_u (i32.sub (local.get 0) (i32.const -5))))
  (func (export "sub_min_ext") (param i32) (result i64)
    (i64.extend_i32_u (i32.sub (local.get 0) (i32.const 0x80000000))))
  (func (export "add_reg_ext") (param i32 i32) (result i64) (i64.extend_i32_u (i32.add (local.get 0) (local.get 1))))
  (func (export "sub64_min") (param i64) (result i64) (i64.sub (local.get 0) (i64.const -0x80000000)))
  (func (export "extend_const") (result i64) (i64.extend_i32_u (i32.const -1)))
  (func (export "wrap_const") (result i32) (i32.wrap_i64 (i64.const 0x123456789)))
  ;; homed locals (used in a loop) as operands and destinations
  (func (export "into_home") (param $a i32) (param $n i32) (result i64)
    (local $x i32) (local $y i32) (local $i i32)
    (loop $l
      (local.set $x (i32.add (local.get $a) (i32.const 0x7FFFFFFF)))  ;; lea into a home
      (local.set $y (i32.sub (i32.const 10) (local.get $y)))          ;; reads y's home, writes it
      (local.set $y (i32.sub (local.get $x) (local.get $y)))          ;; x - y into y
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $x)) (i64.const 32)) (i64.extend_i32_u (local.get $y))))
  ;; constant addresses and constant stored values
  (func (export "const_addr") (result i64)
    (i64.store offset=8 (i32.const 16) (i64.const -2))           ;; imm fits: sign-extended
    (i64.store offset=16 (i32.const 16) (i64.const 0x123456789))  ;; does not fit: via a register
    (i32.store8 (i32.const 40) (i32.const 0x1FF))
    (i32.store16 (i32.const 42) (i32.const 0x12345))
    (f32.store (i32.const 44) (f32.const nan:0x200001))
    (i64.xor (i64.xor (i64.load offset=8 (i32.const 16)) (i64.load (i32.const 32)))
             (i64.load (i32.const 40))))
  (func (export "store_f64_const") (result i64)
    (f64.store (i32.const 48) (f64.const -0)) (f64.store (i32.const 56) (f64.const 0))
    (i64.xor (i64.load (i32.const 48)) (i64.load (i32.const 56))))
  (func (export "load_last") (result i32) (i32.load offset=65532 (i32.const 0)))
  (func (export "load_past_end") (result i32) (i32.load offset=65533 (i32.const 0)))
  (func (export "load_huge") (result i32) (i32.load offset=0xFFFFFFFF (i32.const 0xFFFFFFFF)))
  (func (export "store_huge") (i32.store8 offset=0x80000000 (i32.const 0x7FFFFFFF) (i32.const 1))))"""


@pytest.fixture(scope="module")
def ints() -> Instance:
    return instance(INT_SHAPES)


def test_lea_add_sub_wrap_to_32_bits_with_zero_upper_halves(ints: Instance) -> None:
    e = ints.exports
    assert e["add_imm_ext"](-1) == 0
    assert e["add_imm_ext"](0x7FFFFFFF) == 0x80000000
    assert e["sub_imm_ext"](-1) == 4
    assert e["sub_min_ext"](0) == 0x80000000
    assert e["sub_min_ext"](0x80000000 - 2**32) == 0
    assert e["add_reg_ext"](-1, -1) == 0xFFFFFFFE
    assert e["sub64_min"](1) == 0x80000001
    assert e["sub64_min"](2**63 - 0x80000000) == -(2**63)
    assert e["extend_const"]() == 0xFFFFFFFF
    assert e["wrap_const"]() == 0x23456789


def test_results_computed_into_homes(ints: Instance) -> None:
    def ref(a: int, n: int) -> int:
        x = y = i = 0
        while True:
            x = (a + 0x7FFFFFFF) & 0xFFFFFFFF
            y = (10 - y) & 0xFFFFFFFF
            y = (x - y) & 0xFFFFFFFF
            i += 1
            if not i < n:
                break
        return (x << 32 | y) - (1 << 64 if x >> 31 else 0)

    for a, n in ((0, 1), (5, 3), (-1, 4), (0x80000001, 7)):
        assert ints.exports["into_home"](a, n) == ref(a, n)


def test_constant_addresses_and_immediate_stores(ints: Instance) -> None:
    e = ints.exports
    expect = (2**64 - 2) ^ 0x123456789 ^ (0xFF | 0x2345 << 16 | 0x7FA00001 << 32)
    assert e["const_addr"]() == expect - 2**64 if expect >> 63 else expect
    assert e["store_f64_const"]() == -(2**63)
    assert e["load_last"]() == 0
    for name in ("load_past_end", "load_huge", "store_huge"):
        with pytest.raises(Trap) as t:
            e[name]()
        assert t.value.code == TrapCode.MEMORY_OUT_OF_BOUNDS


# ---- loads fused into the consuming op ------------------------------------------------------

FUSED = """(module
  (memory 1)
  (data (i32.const 0) "\\00\\00\\00\\00\\00\\00\\00\\40")  ;; f64 2.0 at 0
  (data (i32.const 8) "\\05\\00\\00\\00\\00\\00\\00\\00")  ;; i64 5 at 8
  (func (export "fsub") (param f64 i32) (result f64) (f64.sub (local.get 0) (f64.load (local.get 1))))
  (func (export "fdiv") (param f64 i32) (result f64) (f64.div (local.get 0) (f64.load (local.get 1))))
  (func (export "fmul_nan") (param f64 i32) (result f64) (f64.neg (f64.mul (local.get 0) (f64.load (local.get 1)))))
  (func (export "isub32") (param i32 i32) (result i32) (i32.sub (local.get 0) (i32.load (local.get 1))))
  (func (export "isub64") (param i64 i32) (result i64) (i64.sub (local.get 0) (i64.load offset=8 (local.get 1))))
  (func (export "ixor64_const") (param i64) (result i64) (i64.xor (local.get 0) (i64.load (i32.const 8))))
  (func (export "imul32_oob") (param i32 i32) (result i32)
    (i32.mul (local.get 0) (i32.load offset=65532 (local.get 1)))))"""


@pytest.fixture(scope="module")
def fused() -> Instance:
    return instance(FUSED)


def test_loads_fused_into_binops_keep_operand_order(fused: Instance) -> None:
    e = fused.exports
    assert e["fsub"](7.0, 0) == 5.0
    assert e["fdiv"](7.0, 0) == 3.5
    assert e["fmul_nan"].call_raw([PAYLOAD64, 0]) == [CANON64 | 1 << 63]
    assert e["isub32"](3, 8) == -2
    assert e["isub64"](3, 0) == -2
    assert e["ixor64_const"](6) == 3


def test_fused_load_traps_out_of_bounds(fused: Instance) -> None:
    assert fused.exports["imul32_oob"](3, 0) == 0
    with pytest.raises(Trap) as e:
        fused.exports["imul32_oob"](3, 1)
    assert e.value.code == TrapCode.MEMORY_OUT_OF_BOUNDS


# ---- prologue zero-fill of declared locals ---------------------------------------------------

@pytest.mark.parametrize("n", [9, 10, 17, 63, 64, 65, 70])
def test_declared_locals_start_at_zero_on_a_dirty_stack(n: int) -> None:
    # `dirty` leaves -1 in the stack area the next sibling call's frame reuses; `clean` must still
    # see every declared local as zero (unrolled 16-byte stores up to 64 locals, rep stos beyond).
    sets = "".join(f"(local.set {i} (i64.const -1))" for i in range(80))
    ors = "(i64.const 0)"
    for i in range(n):
        ors = f"(i64.or {ors} (local.get {i}))"
    inst = instance(f"""(module
      (func $dirty (local {"i64 " * 80}) {sets})
      (func $clean (result i64) (local {"i64 " * n}) {ors})
      (func (export "run") (result i64) (call $dirty) (call $clean)))""")
    assert inst.exports["run"]() == 0


# ---- compare fused into select (cmp; cmov) ---------------------------------------------------

SELECTS = """(module
  (func (export "lt_s_reg") (param i32 i32 i64 i64) (result i64)
    (select (local.get 2) (local.get 3) (i32.lt_s (local.get 0) (local.get 1))))
  (func (export "ge_u_imm") (param i32 i32 i32) (result i32)
    (select (local.get 1) (local.get 2) (i32.ge_u (local.get 0) (i32.const 100))))
  (func (export "eq_mem") (param i64 i64 i32 i32) (result i32) (local $k i64)
    (local.set $k (local.get 1))
    (select (local.get 2) (local.get 3) (i64.eq (local.get 0) (local.get $k))))
  (func (export "eqz") (param i32 i32 i32) (result i32)
    (select (local.get 1) (local.get 2) (i32.eqz (local.get 0))))
  (func (export "gt_u64_const_vals") (param i64) (result i64)
    (select (i64.const -1) (i64.const 7) (i64.gt_u (local.get 0) (i64.const 0x100000000))))
  (func (export "float_vals") (param i32 f64 f64) (result f64)
    (select (local.get 1) (local.get 2) (i32.le_s (local.get 0) (i32.const 0))))
  (func (export "in_loop") (param i32) (result i32) (local $i i32) (local $m i32)
    (loop $l
      (local.set $m (select (local.get $i) (local.get $m)
        (i32.gt_u (i32.rem_u (i32.mul (local.get $i) (i32.const 7919)) (i32.const 101)) (local.get $m))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get 0))))
    (local.get $m)))"""


def test_compare_fused_into_select() -> None:
    e = instance(SELECTS).exports
    assert e["lt_s_reg"](-1, 0, 10, 20) == 10 and e["lt_s_reg"](0, -1, 10, 20) == 20
    assert e["ge_u_imm"](100, 1, 2) == 1 and e["ge_u_imm"](99, 1, 2) == 2 and e["ge_u_imm"](-1, 1, 2) == 1
    assert e["eq_mem"](5, 5, 1, 2) == 1 and e["eq_mem"](5, 6, 1, 2) == 2
    assert e["eqz"](0, 1, 2) == 1 and e["eqz"](3, 1, 2) == 2
    assert e["gt_u64_const_vals"](2**32 + 1) == -1 and e["gt_u64_const_vals"](2**32) == 7
    assert e["float_vals"](0, 1.5, 2.5) == 1.5 and e["float_vals"](1, 1.5, 2.5) == 2.5

    def ref(n: int) -> int:
        m = i = 0
        while True:
            m = i if ((i * 7919) & 0xFFFFFFFF) % 101 > m else m
            i += 1
            if not i < n:
                return m

    for n in (1, 50, 1000):
        assert e["in_loop"](n) == ref(n)
