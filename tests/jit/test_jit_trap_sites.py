"""Trap sites: each trap reports the right code and a backtrace whose bytecode offset is the
trapping op in the function's code[] (jit.h TrapSite), executed through the public runtime API."""

from __future__ import annotations

import pytest

import nearvm
from nearvm import Config, Engine, GasSchedule, Instance, Module, Store, TrapCode
from nearvm.bytecode.disasm import disassemble_code, parse_program
from nearvm.wasm import translate
from wasm_text import wat2wasm as wat

MODULE = """(module
  (memory 1)
  (table 2 funcref)
  (elem declare func $f0)
  (type $t (func (result i32)))
  (func $f0 (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.add (i32.const 1) (i32.load offset=4 (local.get 0))))
  (func (export "unreachable") (nop) (unreachable))
  (func (export "call_indirect") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "memory_fill") (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.const 5)))
  (func (export "memory_copy") (param i32) (memory.copy (i32.const 0) (local.get 0) (i32.const 5)))
  (func (export "table_fill") (param i32) (table.fill (local.get 0) (ref.null func) (i32.const 5)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "recurse") (call 8))
)"""

# export -> (function index, args, trap code, op text at the reported offset)
CASES = {
    "div": (0, (0,), TrapCode.INTEGER_DIVIDE_BY_ZERO, "i32.div_s"),
    "load": (1, (65535,), TrapCode.MEMORY_OUT_OF_BOUNDS, "i32.load"),
    "unreachable": (2, (), TrapCode.UNREACHABLE, "unreachable"),
    "call_indirect": (3, (1,), TrapCode.UNINITIALIZED_ELEMENT, "call_indirect"),
    "memory_fill": (4, (65534,), TrapCode.MEMORY_OUT_OF_BOUNDS, "memory.fill"),
    "memory_copy": (5, (65534,), TrapCode.MEMORY_OUT_OF_BOUNDS, "memory.copy"),
    "table_fill": (6, (1,), TrapCode.TABLE_OUT_OF_BOUNDS, "table.fill"),
    "trunc": (7, (1e300,), TrapCode.INTEGER_OVERFLOW, "i32.trunc_f64_s"),
    "recurse": (8, (), TrapCode.STACK_OVERFLOW, "stack"),
}


@pytest.fixture(scope="module")
def setup():
    wasm = wat(MODULE)
    config = Config()
    engine = Engine(config)
    inst = Instance(Store(engine), Module(engine, wasm), {})
    bodies = parse_program(bytes(translate(wasm, config).program))["bodies"]
    return inst, bodies


@pytest.mark.parametrize("export", sorted(CASES))
def test_trap_site_code_and_bytecode_offset(setup, export: str) -> None:
    inst, bodies = setup
    func, args, code, op = CASES[export]
    with pytest.raises(nearvm.Trap) as info:
        inst.exports[export](*args)
    trap = info.value
    assert trap.code == code
    # Runtime (trap backtraces): every wasm frame, innermost first. Exports called from the host
    # have one frame; "recurse" has one per recursion level, all in the same function.
    if export == "recurse":
        assert len(trap.backtrace) > 1 and {f.func_index for f in trap.backtrace} == {func}
    else:
        assert len(trap.backtrace) == 1
    frame = trap.backtrace[0]
    assert frame.func_index == func
    ops = dict(disassemble_code(bodies[func]["code"]))
    assert frame.bytecode_offset in ops, f"offset {frame.bytecode_offset} is not an op boundary: {ops}"
    assert ops[frame.bytecode_offset].split()[0] == op


def test_out_of_gas_site_is_the_gas_op() -> None:
    wasm = wat('(module (func (export "spin") (loop $l (br $l))))')
    config = Config(gas=GasSchedule.uniform(1))
    engine = Engine(config)
    inst = Instance(Store(engine, gas_limit=1000), Module(engine, wasm), {})
    with pytest.raises(nearvm.Trap) as info:
        inst.exports["spin"]()
    assert info.value.code == TrapCode.OUT_OF_GAS
    code = parse_program(bytes(translate(wasm, config).program))["bodies"][0]["code"]
    (frame,) = info.value.backtrace
    assert dict(disassemble_code(code))[frame.bytecode_offset].split()[0] == "gas"
