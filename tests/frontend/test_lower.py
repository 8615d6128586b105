"""Lowering shapes (docs/bytecode.md) and exact GAS figures (docs/design.md worked example)."""

from __future__ import annotations

import struct

from frontend_helpers import wat

from nearvm.bytecode import spec
from nearvm.bytecode.disasm import disassemble, disassemble_code, parse_program
from nearvm.config import NEAR_OP_COST, Config, GasSchedule
from nearvm.wasm import translate

WORKED = """
(memory 1)
(func (export "f") (param $n i32) (result i32) (local $i i32)
  (block $done (loop $top
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top)))
  (local.get $i))
"""


def ops(data: bytes, config: Config | None = None, func: int = 0) -> list[str]:
    prog = parse_program(translate(data, config or Config()).program)
    return [t for _, t in disassemble_code(prog["bodies"][func]["code"])]


def body(data: bytes, config: Config | None = None, func: int = 0) -> dict:
    return parse_program(translate(data, config or Config()).program)["bodies"][func]


def test_worked_example_near() -> None:
    b = body(wat(WORKED), Config.near())
    gas = [
        int(t.split()[1]) for _, t in disassemble_code(b["code"]) if t.startswith("gas")]
    c = NEAR_OP_COST
    # Static blocks 1, 4, 5, 1; the entry block also pays frame init ceil(72/8) = 9.
    assert gas == [(9 + 1) * c, 4 * c, 5 * c, 1 * c]
    assert b["frame_cost"] == 80
    assert b["max_stack"] == 2
    # Total for n iterations: entry + n*(4+5) + final check 4 + tail 1 = (9n + 15) per unit.
    n = 7
    assert gas[0] + n * (gas[1] + gas[2]) + gas[1] + gas[3] == (9 * n + 15) * c


def test_worked_example_uniform_ops() -> None:
    assert ops(wat(WORKED), Config(gas=GasSchedule.uniform(1))) == [
        "stack 80", "gas 1", "block type=1", "loop type=1", "gas 4",
        "local.get 1", "local.get 0", "i32.ge_u", "br_if depth=1 arity=0 height=0", "gas 5",
        "local.get 1", "i32.const 1", "i32.add", "local.set 1", "br depth=0 arity=0 height=0",
        "end", "end", "gas 1", "local.get 1", "end",
    ]


def test_no_gas_ops_without_schedule() -> None:
    m = translate(wat(WORKED), Config())
    prog = parse_program(m.program)
    assert prog["flags"] == 0
    assert not any(t.startswith("gas") for _, t in disassemble_code(prog["bodies"][0]["code"]))
    assert struct.unpack_from("<III", m.program) == (spec.MAGIC, 1, 0)


def test_straight_line_bytes_copied_verbatim() -> None:
    # Non-minimal LEBs survive: the frontend copies straight-line runs unchanged.
    src = wat("(func (result i32) i32.const 5 i32.const 7 i32.add)")
    m = translate(src, Config())
    code = parse_program(m.program)["bodies"][0]["code"]
    assert code[5:] == bytes([0x41, 5, 0x41, 7, 0x6A, 0x0B])


def test_nop_dropped_and_dead_code_removed() -> None:
    assert ops(wat("(func nop nop (return) (drop (i32.const 1)) nop)")) == ["stack 64", "return", "end"]
    got = ops(wat("(func (block (br 0) (i32.const 1) (drop) (block (unreachable))) (nop))"))
    assert got == ["stack 64", "block type=0", "br depth=0 arity=0 height=0", "end", "end"]


def test_dead_after_loop_without_exit() -> None:
    # The loop's end is unreachable: nothing after it is emitted up to the enclosing end.
    got = ops(wat("(func (result i32) (block (loop (br 0)) (drop (i32.const 1))) (i32.const 2))"))
    # The block's end is unreachable too (no branch targets it), so is the function's tail.
    assert got == ["stack 64", "block type=1", "loop type=1", "br depth=0 arity=0 height=0", "end", "end", "end"]


def test_branch_depth_arity_height() -> None:
    src = wat("""(func (param i32) (result i32)
      i32.const 1
      (block (result i32)
        i32.const 2
        (block (result i32 i32) i32.const 3 i32.const 4 local.get 0 br_if 0 br 1)
        drop drop)
      i32.add)""")
    got = ops(src)
    assert "br_if depth=0 arity=2 height=2" in got
    assert "br depth=1 arity=1 height=1" in got


def test_loop_branch_arity_is_params() -> None:
    src = wat("(type $t (func (param i32) (result i64))) (func (result i64) i32.const 1 (loop (type $t) br 0))")
    got = ops(src)
    assert "br depth=0 arity=1 height=0" in got


def test_br_table_targets() -> None:
    src = wat("""(func (param i32) (block (block (block (br_table 0 1 2 (local.get 0))))))""")
    got = ops(src)
    assert "br_table arity=0 0@0 1@0 2@0" in got


def test_block_types_normalised_and_deduplicated() -> None:
    src = wat("""(type (func (result i32)))
      (func (result i32) (block (result i32) (i32.const 1)) (block (result i32) (i32.const 2)) drop)
      (func (block (block)) (drop (block (result f64) (f64.const 1))))""")
    m = translate(src, Config())
    prog = parse_program(m.program)
    # Module types: 0 = []->[i32], 1 = []->[]; appended: [] -> [f64] (the empty type exists).
    assert prog["types"][:2] == [((), (spec.I32,)), ((), ())]
    assert prog["types"][2:] == [((), (spec.F64,))]
    assert len(m.types) == 2  # ModuleInfo.types stays the module's own
    got1 = [t for _, t in disassemble_code(prog["bodies"][1]["code"])]
    assert got1[1:4] == ["block type=1", "block type=1", "end"]
    assert "block type=2" in got1


def test_frame_cost_and_max_stack_bytes() -> None:
    src = wat("(func (param i64) (local f32 f64) (drop (i64.add (local.get 0) (i64.const 1))))")
    b = body(src)
    assert b["locals"] == [(1, spec.F32), (1, spec.F64)]
    assert b["max_stack"] == 2
    assert b["frame_cost"] == 64 + 8 + 4 + 8 + 16


def test_gas_bulk_and_custom_weights() -> None:
    sched = GasSchedule.uniform(2).with_weights({"i32.add": 10, "memory.fill": 7})
    src = wat("(memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.add (i32.const 1) (i32.const 2))))")
    assert ops(src, Config(gas=sched))[1] == f"gas {2 * 4 + 10 + 7}"


def test_if_without_else_and_br_if_leaders() -> None:
    src = wat("(func (param i32) (if (local.get 0) (then (nop))) (br_if 0 (local.get 0)) (drop (i32.const 1)))")
    got = ops(src, Config(gas=GasSchedule.uniform(1)))
    assert got == ["stack 72", "gas 2", "local.get 0", "if type=1", "gas 1", "end", "gas 2", "local.get 0",
                   "br_if depth=0 arity=0 height=0", "gas 2", "i32.const 1", "drop", "end"]


def test_disassemble_smoke() -> None:
    text = disassemble(translate(wat(WORKED), Config.near()).program)
    assert "frame_cost=80" in text
