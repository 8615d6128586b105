"""The JIT does linear work on adversarial shapes (ARCHITECTURE.md step 5): code bytes and ops
visited grow proportionally to the input."""

from __future__ import annotations

from pathlib import Path

import pytest
from jit_hooks import compile_program, lower, wat_to_wasm


def _stats(wat: str, tmp: Path):
    result = compile_program(lower(wat_to_wasm(wat, tmp)))
    assert result.ok, result.text
    return result


def deep_nesting(n: int) -> str:
    return "(module (func (result i32) " + "(block (result i32) " * n + "(i32.const 1)" + ")" * n + "))"


def big_br_table(n: int) -> str:
    targets = " ".join(str(i % 8) for i in range(n))
    return ("(module (func (param i32) " + "(block " * 8 + f"(br_table {targets} 0 (local.get 0))" + ")" * 8 + "))")


def many_locals(n: int) -> str:
    return "(module (func (result i64) (local " + "i64 " * n + ") (local.get 0)))"


def long_stack(n: int) -> str:
    body = "(i32.const 1) " * n + "(i32.add) " * (n - 1)
    return f"(module (func (result i32) {body}))"


@pytest.mark.parametrize("shape", [deep_nesting, big_br_table, many_locals, long_stack])
def test_linear(shape, tmp_path: Path) -> None:
    small, large = 1000, 8000
    a = _stats(shape(small), tmp_path)
    b = _stats(shape(large), tmp_path)
    ratio = large / small
    assert b.ops_visited <= a.ops_visited * ratio * 1.1 + 16
    assert b.code_bytes <= a.code_bytes * ratio * 1.2 + 256


def test_many_locals_zeroed_by_loop(tmp_path: Path) -> None:
    # 50k locals: constant-size zeroing (rep stosq), not 50k stores.
    result = _stats(many_locals(50_000), tmp_path)
    assert result.code_bytes < 600
