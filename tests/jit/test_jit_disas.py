"""Golden x64 disassembly for a handful of instruction shapes (Winch filetest style).

Expected text lives in tests/jit/disas/x64/<case>.txt; regenerate with NEARVM_BLESS=1.
Compile-only: nothing is executed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jit_hooks import compile_for, lower, stubs_disassembly, wat_to_wasm

GOLDEN = Path(__file__).parent / "disas" / "x64"

CASES = {
    "i32_add_const": "(func (param i32) (result i32) (i32.add (local.get 0) (i32.const 20)))",
    "i64_div_s": "(func (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))",
    "i32_rem_s": "(func (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))",
    "i32_shl": "(func (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))",
    "i32_clz_ctz": "(func (param i32) (result i32) (i32.add (i32.clz (local.get 0)) (i32.ctz (local.get 0))))",
    "f32_min": "(func (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))",
    "f64_nearest": "(func (param f64) (result f64) (f64.nearest (local.get 0)))",
    "i32_trunc_f64_u": "(func (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))",
    "i64_trunc_sat_f32_s": "(func (param f32) (result i64) (i64.trunc_sat_f32_s (local.get 0)))",
    "f32_convert_i64_u": "(func (param i64) (result f32) (f32.convert_i64_u (local.get 0)))",
    "load_store": "(memory 1) (func (param i32) "
    "(i64.store offset=8 (local.get 0) (i64.load8_s offset=3 (local.get 0))))",
    "br_table": "(func (param i32) (result i32) (block (block (block (br_table 0 1 2 (local.get 0))) "
    "(return (i32.const 1))) (return (i32.const 2))) (i32.const 3))",
    "call_indirect": "(type $t (func (param i32) (result i32))) (table 2 funcref) "
    "(func (param i32) (result i32) (call_indirect (type $t) (local.get 0) (local.get 0)))",
    "many_locals": "(func (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64))",
    # compare + br_if / eqz + if fuse into cmp/test + jcc; `add r, [slot]` memory operands.
    "loop_cmp_br_if": "(func (param i32) (result i32) (local i32) (loop $l "
    "(local.set 1 (i32.add (local.get 1) (local.get 0))) "
    "(br_if $l (i32.lt_u (local.get 1) (i32.const 1000)))) (local.get 1))",
    "if_eqz": "(func (param i64) (result i32) (if (result i32) (i64.eqz (local.get 0)) "
    "(then (i32.const 1)) (else (i32.const 2))))",
    # f64 arithmetic reads in-slot operands in place (commuting add/mul); NaN fix-ups out of line.
    "f64_mem_operands": "(func (param f64 f64) (result f64) (f64.sub (f64.mul (local.get 0) "
    "(f64.sqrt (local.get 1))) (local.get 1)))",
}


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEARVM_BLESS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} missing: run with NEARVM_BLESS=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, tmp_path: Path) -> None:
    program = lower(wat_to_wasm(f"(module {CASES[name]})", tmp_path))
    result, _ = compile_for(program, "x86_64")  # x64 goldens on any host
    assert result.ok, result.text
    _check(name, result.text)


@pytest.mark.parametrize("win64", [False, True])
def test_stubs_golden(win64: bool) -> None:
    _check("stubs_win64" if win64 else "stubs_sysv", stubs_disassembly(win64))


def test_gas_charge_uses_register_for_large_costs(tmp_path: Path) -> None:
    from nearvm.config import GasSchedule

    # 3 instructions of weight 2**31 - 1 and frame init: the block cost no longer fits an imm32.
    wasm = wat_to_wasm("(module (func (result i32) (i32.add (i32.const 1) (i32.const 2))))", tmp_path)
    program = lower(wasm, gas=GasSchedule.uniform((1 << 31) - 1))
    text = compile_for(program, "x86_64")[0].text
    assert "sub r13, r11" in text and "jb " in text  # mov r11, imm64 first: no sign-extended imm32
