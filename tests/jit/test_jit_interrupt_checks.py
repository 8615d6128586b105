"""Where unmetered code checks for interrupts (docs/design.md "Interrupts"): every loop header,
and the entry of every body that calls (call, call_indirect); bodies without calls have no entry
check, metered code none at all. Compile-only, for both ISAs on any host."""

from __future__ import annotations

import pytest
from jit_hooks import compile_for, lower

from nearvm.config import GasSchedule
from wasm_text import wat2wasm

#: The check's first instruction: x64 `cmp dword ptr [r14+72], 0`, a64 `ldr w16, [x20, #72]`.
CHECK = {"x86_64": bytes.fromhex("41837e4800"), "aarch64": bytes.fromhex("904a40b9")}

LEAF = '(func (export "f") (result i32) (i32.const 1))'
LEAF_LOOPS = '(func (export "f") (param i32) (loop $a (br_if $a (local.get 0))) (loop $b (br_if $b (local.get 0))))'
CALLER = '(func (export "f") (result i32) (call $g)) (func $g (result i32) (i32.const 1))'
INDIRECT = ('(type $t (func (result i32))) (table 1 funcref) '
            '(func (export "f") (result i32) (call_indirect (type $t) (i32.const 0)))')
RECURSIVE_LOOP = '(func $f (export "f") (param i32) (loop $l (call $f (local.get 0)) (br_if $l (local.get 0))))'


def _checks(body: str, isa: str, **config: object) -> int:
    result, code = compile_for(lower(wat2wasm(f"(module {body})"), **config), isa)
    assert result.ok, result.text
    pattern = CHECK[isa]
    if isa == "aarch64":  # fixed-width instructions: count aligned words only
        return sum(code[i:i + 4] == pattern for i in range(0, len(code), 4))
    return code.count(pattern)


@pytest.mark.parametrize("isa", sorted(CHECK))
@pytest.mark.parametrize(("body", "expected"), [(LEAF, 0), (LEAF_LOOPS, 2), (CALLER, 1), (INDIRECT, 1),
                                                (RECURSIVE_LOOP, 2)])
def test_checks_at_loop_headers_and_entries_of_calling_bodies(isa: str, body: str, expected: int) -> None:
    assert _checks(body, isa) == expected


@pytest.mark.parametrize("isa", sorted(CHECK))
def test_metered_code_has_no_interrupt_checks(isa: str) -> None:
    for body in (LEAF, LEAF_LOOPS, CALLER, INDIRECT, RECURSIVE_LOOP):
        assert _checks(body, isa, gas=GasSchedule.uniform(1)) == 0
