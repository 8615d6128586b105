"""Malformed bytecode never crashes compile_program: it compiles or returns an error."""

from __future__ import annotations

import random
from pathlib import Path

from jit_hooks import compile_program, lower, wat_to_wasm

WAT = """(module (memory 1) (table 2 funcref) (global $g (mut i32) (i32.const 0))
 (type $t (func (param i32) (result i32)))
 (func $f (param i32 i64) (result i32) (local f32 f64)
   (block (result i32) (loop (drop (br_if 1 (i32.const 7) (local.get 0))))
     (br_table 0 0 (i32.const 1) (local.get 0)))
   (if (result i32) (then (i32.load offset=4 (local.get 0))) (else (global.get $g)))
   (call_indirect (type $t) (i32.const 0))
   (i32.wrap_i64 (i64.div_s (local.get 1) (i64.const 3))) i32.add
   (i32.trunc_f64_s (f64.sqrt (local.get 3))) i32.add
   (memory.grow (i32.const 1)) i32.add))
"""


def test_garbage_and_truncations() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        assert not compile_program(blob).ok
    assert not compile_program(b"").ok


def test_mutated_programs(tmp_path: Path) -> None:
    program = lower(wat_to_wasm(WAT, tmp_path))
    assert compile_program(program).ok
    for cut in range(0, len(program), 3):
        assert not compile_program(program[:cut]).ok
    rng = random.Random(42)
    outcomes = {True: 0, False: 0}
    for _ in range(3000):
        data = bytearray(program)
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(data))
            data[i] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256), data[i] ^ (1 << rng.randrange(8))])
        outcomes[compile_program(bytes(data)).ok] += 1
    assert outcomes[False] > 0
