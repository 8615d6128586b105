"""Functions larger than aarch64's conditional-branch range (±1 MiB) compile and run.

aarch64 `b.cond`/`cbz` reach ±1 MiB; a function whose code may be larger gets the long form
(inverted condition over `b`), decided from its bytecode size, with a whole-program retry in
long form if an estimate is ever exceeded (compiler.cpp). Regression: a 1.7 MiB function failed
with "assembler error: InvalidDisplacement" on aarch64 while x86_64 compiled it.
"""

from __future__ import annotations

import pytest
from jit_hooks import compile_for, lower

import nearvm
from nearvm.artifact import host_isa
from wasm_text import wat2wasm


def _divisions(n: int) -> str:
    # Each division has trap branches to the out-of-line stubs at the end of the function.
    step = "(local.set 0 (i32.add (i32.div_s (local.get 0) (local.get 1)) (i32.const 3)))"
    return (f"(module (func (export \"f\") (param i32 i32) (result i32) {step * n} (local.get 0)))")


def test_a64_function_beyond_the_conditional_branch_range_compiles() -> None:
    program = lower(wat2wasm(_divisions(40_000)))
    result, _ = compile_for(program, "aarch64")
    assert result.ok, result.text
    assert result.code_bytes > (1 << 20)  # the trap stubs are out of b.cond range of the entry
    assert compile_for(program, "x86_64")[0].ok


@pytest.mark.parametrize("isa", ["x86_64", "aarch64"])
def test_long_form_branches_are_chosen_by_body_size(isa: str) -> None:
    # 8,000 divisions (~80 KB of bytecode, over 1 MiB / 16): long form on aarch64 (b.<inverted cond> over b),
    # plain jcc on x64.
    text = compile_for(lower(wat2wasm(_divisions(8_000))), isa)[0].text
    if isa == "aarch64":
        assert "cbnz w" in text and "b.vc" in text  # cbz -> cbnz over b; b.vs -> b.vc over b
    else:
        assert "jz" in text


def test_long_form_branches_execute() -> None:
    # Runs on whatever this host is (aarch64 under make test-aarch64): the long forms branch the
    # same way as the short ones, including into the trap stubs.
    n = 8_000
    engine = nearvm.Engine()
    inst = nearvm.Instance(nearvm.Store(engine), nearvm.Module(engine, wat2wasm(_divisions(n))), {})
    f = inst.exports["f"]
    x = 1_000_000
    for _ in range(n):
        x = int(x / 2) + 3  # i32.div_s truncates toward zero
    assert f(1_000_000, 2) == x
    with pytest.raises(nearvm.Trap) as e:
        f(5, 0)
    assert e.value.code == nearvm.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert host_isa() in ("x86_64", "aarch64")


def test_a64_interrupt_check_at_entry_reaches_its_stub_in_a_function_beyond_branch_range() -> None:
    # The unmetered entry's interrupt check branched with a short `cbnz` even in long-form
    # functions: "assembler error: InvalidDisplacement" for a function over 1 MiB of code.
    # Loops add an interrupt check at every header, far from the stubs as well. The call makes
    # the body one that has an entry check.
    body = "(drop (call $g))" + "(loop $l (br_if $l (i32.eqz (local.get 1))))" * 2 + \
        "(local.set 0 (i32.add (i32.div_s (local.get 0) (local.get 1)) (i32.const 3)))" * 40_000
    program = lower(wat2wasm(f"(module (func $g (result i32) (i32.const 0)) "
                             f"(func (export \"f\") (param i32 i32) (result i32) {body} (local.get 0)))"))
    result, _ = compile_for(program, "aarch64")
    assert result.ok, result.text
    assert result.code_bytes > (1 << 20)
