"""benchmarks.isa_loops finds the same innermost loops in the x86_64 and aarch64 listings."""

from __future__ import annotations

from benchmarks.isa_loops import _listing, innermost_loops

from nearvm.config import Config
from nearvm.wasm import translate
from wasm_text import wat2wasm

WAT = """(module (func (param $n i32) (result f64) (local $i i32) (local $s f64)
  (loop $outer
    (loop $inner
      (local.set $s (f64.add (local.get $s) (f64.convert_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $inner (i32.lt_u (local.get $i) (local.get $n))))
    (br_if $outer (i32.lt_u (local.get $i) (i32.const 100))))
  (local.get $s)))"""


def test_innermost_loop_found_on_both_isas() -> None:
    program = bytes(translate(wat2wasm(WAT), Config()).program)
    x = innermost_loops(_listing(program, "x86_64"))
    a = innermost_loops(_listing(program, "aarch64"))
    # One innermost loop (the outer one contains it); the NaN fix-up's jump back is not a loop.
    assert len(x) == len(a) == 1
    assert 3 <= x[0] <= 20 and 3 <= a[0] <= 20
