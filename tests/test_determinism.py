"""NaN canonicalisation exactly as ARCHITECTURE.md "Determinism rules" pins it.

Every float *arithmetic* result that is a NaN is the positive quiet canonical NaN (0x7FC00000 /
0x7FF8000000000000), whatever NaN went in (negative, signalling, with payload) — x86 and ARM
would otherwise differ. Bit operations and moves keep the exact bits. Checked through call_raw,
which passes raw bit patterns in and out.
"""

from __future__ import annotations

import pytest

import nearvm
from wasm_text import wat2wasm

CANON32 = 0x7FC0_0000
CANON64 = 0x7FF8_0000_0000_0000
#: Negative signalling NaN with a payload, negative quiet NaN with a payload, plain quiet NaN.
NANS32 = [0xFFA0_0001, 0xFFC1_2345, 0x7FC0_0000, 0x7F80_0001]
NANS64 = [0xFFF4_0000_0000_0001, 0xFFF8_1234_5678_9ABC, 0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001]
ONE32, ONE64 = 0x3F80_0000, 0x3FF0_0000_0000_0000

BINARY = ["add", "sub", "mul", "div", "min", "max"]
UNARY = ["sqrt", "ceil", "floor", "trunc", "nearest"]


def _module() -> nearvm.Instance:
    funcs = []
    for t in ("f32", "f64"):
        for op in BINARY:
            funcs.append(f'(func (export "{t}.{op}") (param {t} {t}) (result {t}) '
                         f"({t}.{op} (local.get 0) (local.get 1)))")
        for op in [*UNARY, "abs", "neg"]:
            funcs.append(f'(func (export "{t}.{op}") (param {t}) (result {t}) ({t}.{op} (local.get 0)))')
        funcs.append(f'(func (export "{t}.copysign") (param {t} {t}) (result {t}) '
                     f"({t}.copysign (local.get 0) (local.get 1)))")
        funcs.append(f'(func (export "{t}.store_load") (param {t}) (result {t}) '
                     f"({t}.store (i32.const 8) (local.get 0)) ({t}.load (i32.const 8)))")
    funcs.append('(func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))')
    funcs.append('(func (export "promote") (param f32) (result f64) (f64.promote_f32 (local.get 0)))')
    funcs.append('(func (export "f32.select") (param f32 f32 i32) (result f32) '
                 "(select (local.get 0) (local.get 1) (local.get 2)))")
    text = "(module (memory 1)\n" + "\n".join(funcs) + ")"
    engine = nearvm.Engine(nearvm.Config())
    store = nearvm.Store(engine)
    return nearvm.Instance(store, nearvm.Module(engine, wat2wasm(text)), {})


@pytest.fixture(scope="module")
def inst() -> nearvm.Instance:
    return _module()


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize(
    ("t", "nans", "one", "canon"), [("f32", NANS32, ONE32, CANON32), ("f64", NANS64, ONE64, CANON64)]
)
def test_binary_arithmetic_nan_is_canonical(inst: nearvm.Instance, op: str, t: str, nans: list[int], one: int,
                                            canon: int) -> None:
    f = inst.exports[f"{t}.{op}"]
    for nan in nans:
        assert f.call_raw([nan, one]) == [canon], (op, hex(nan))
        assert f.call_raw([one, nan]) == [canon], (op, hex(nan))
        assert f.call_raw([nan, nan]) == [canon], (op, hex(nan))


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize(("t", "nans", "canon"), [("f32", NANS32, CANON32), ("f64", NANS64, CANON64)])
def test_unary_arithmetic_nan_is_canonical(inst: nearvm.Instance, op: str, t: str, nans: list[int], canon: int) -> None:
    f = inst.exports[f"{t}.{op}"]
    for nan in nans:
        assert f.call_raw([nan]) == [canon], (op, hex(nan))


def test_invalid_operations_produce_the_canonical_nan(inst: nearvm.Instance) -> None:
    # 0/0, sqrt(-1), inf - inf: NaNs made by the hardware (x86's default NaN is negative).
    assert inst.exports["f64.div"].call_raw([0, 0]) == [CANON64]
    assert inst.exports["f32.sqrt"].call_raw([0xBF80_0000]) == [CANON32]
    assert inst.exports["f64.sub"].call_raw([0x7FF0_0000_0000_0000, 0x7FF0_0000_0000_0000]) == [CANON64]


def test_demote_and_promote_canonicalise(inst: nearvm.Instance) -> None:
    for nan in NANS64:
        assert inst.exports["demote"].call_raw([nan]) == [CANON32]
    for nan in NANS32:
        assert inst.exports["promote"].call_raw([nan]) == [CANON64]


@pytest.mark.parametrize(("t", "nans", "sign"), [("f32", NANS32, 1 << 31), ("f64", NANS64, 1 << 63)])
def test_bit_operations_and_moves_keep_exact_bits(inst: nearvm.Instance, t: str, nans: list[int], sign: int) -> None:
    for nan in nans:
        assert inst.exports[f"{t}.abs"].call_raw([nan]) == [nan & ~sign]
        assert inst.exports[f"{t}.neg"].call_raw([nan]) == [nan ^ sign]
        assert inst.exports[f"{t}.copysign"].call_raw([nan, 0]) == [nan & ~sign]
        assert inst.exports[f"{t}.copysign"].call_raw([nan, sign]) == [nan | sign]
        assert inst.exports[f"{t}.store_load"].call_raw([nan]) == [nan]


def test_select_keeps_signalling_nan_payloads(inst: nearvm.Instance) -> None:
    assert inst.exports["f32.select"].call_raw([0xFFA0_0001, ONE32, 1]) == [0xFFA0_0001]
    assert inst.exports["f32.select"].call_raw([ONE32, 0x7F80_0001, 0]) == [0x7F80_0001]
