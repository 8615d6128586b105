"""Trap backtraces: every wasm frame of the trapping activation, innermost first, walked along the
JIT's frame-pointer chain (csrc/runtime/runtime.cpp "backtraces")."""

from __future__ import annotations

import pytest
from rt_helpers import wat

from nearvm.bytecode.disasm import disassemble_code, parse_program
from nearvm.config import Config
from nearvm.errors import Frame, StackOverflow, Trap, TrapCode
from nearvm.runtime import Engine, Func, Instance, Module, Store
from nearvm.wasm import translate
from nearvm.wasm.types import FuncType, ValType

pytestmark = pytest.mark.usefixtures("needs_jit")

I32 = ValType.I32

NESTED = """(module
  (import "env" "host" (func $host (param i32)))
  (memory 1)
  (func $leaf (param i32) (result i32)
    local.get 0
    i32.eqz
    if unreachable end
    local.get 0 i32.const 1 i32.eq
    if (i32.load (i32.const 70000)) drop end
    local.get 0 i32.const 2 i32.eq
    if (i32.div_s (i32.const 1) (i32.const 0)) drop end
    local.get 0 i32.const 3 i32.eq
    if (call $host (local.get 0)) end
    local.get 0)
  (func $middle (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func (export "outer") (param i32) (result i32) (i32.add (call $middle (local.get 0)) (i32.const 1)))
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0
    i32.eqz
    if unreachable end
    (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (call $forever (local.get 0)) (i32.const 1))))"""


def _nested(host=None):  # noqa: ANN001, ANN202
    engine = Engine()
    store = Store(engine)
    module = Module(engine, wat(NESTED))
    host_func = Func(store, FuncType([I32], []), host or (lambda x: None))
    inst = Instance(store, module, {"env": {"host": host_func}})
    return inst, store


def _names(trap: Trap) -> list[str | None]:
    return [f.func_name for f in trap.backtrace]


@pytest.mark.parametrize("arg,code", [(0, TrapCode.UNREACHABLE), (1, TrapCode.MEMORY_OUT_OF_BOUNDS),
                                      (2, TrapCode.INTEGER_DIVIDE_BY_ZERO)])
def test_nested_calls_every_frame_innermost_first(arg: int, code: TrapCode) -> None:
    """Also the regression test for the walk reading frames after the trampoline returned: without
    the stack pad (enter_padded) invoke's own calls overwrote the outer frames ([1] only)."""
    inst, _ = _nested()
    with pytest.raises(Trap) as ei:
        inst.exports["outer"](arg)
    trap = ei.value
    assert trap.code == code
    # Import is index 0: leaf 1, middle 2, outer 3 (named by its export).
    assert [f.func_index for f in trap.backtrace] == [1, 2, 3]
    assert _names(trap) == ["leaf", "middle", "outer"]
    assert all(isinstance(f, Frame) for f in trap.backtrace)
    assert trap.backtrace[0].bytecode_offset is not None  # the trap site's bytecode offset
    # Outer frames: the offset of the call op they are in (a call site, jit.h kCallSiteCode).
    bodies = parse_program(bytes(translate(wat(NESTED), Config()).program))["bodies"]
    for frame in trap.backtrace[1:]:
        ops = dict(disassemble_code(bodies[frame.func_index - 1]["code"]))
        assert frame.bytecode_offset is not None
        assert ops[frame.bytecode_offset].split()[0] == "call", (frame, ops)
    # A normal call afterwards still works, and the next trap has its own backtrace.
    assert inst.exports["outer"](5) == 7
    with pytest.raises(Trap) as ei2:
        inst.exports["rec"](0)
    assert _names(ei2.value) == ["rec"]


def test_trap_offsets_differ_per_site() -> None:
    inst, _ = _nested()
    offsets = set()
    for arg in (0, 1, 2):
        with pytest.raises(Trap) as ei:
            inst.exports["outer"](arg)
        offsets.add(ei.value.backtrace[0].offset)
    assert len(offsets) == 3


def test_host_error_backtrace_is_the_wasm_callers() -> None:
    def host(x: int) -> None:
        raise ValueError("no")

    inst, _ = _nested(host)
    with pytest.raises(Trap) as ei:
        inst.exports["outer"](3)
    assert ei.value.code == TrapCode.HOST_ERROR
    assert _names(ei.value) == ["leaf", "middle", "outer"]
    # The innermost wasm frame is at the call op that called the host function.
    bodies = parse_program(bytes(translate(wat(NESTED), Config()).program))["bodies"]
    frame = ei.value.backtrace[0]
    assert frame.bytecode_offset is not None
    assert dict(disassemble_code(bodies[frame.func_index - 1]["code"]))[frame.bytecode_offset].split()[0] == "call"


def test_deep_recursion_backtrace_has_every_frame() -> None:
    inst, _ = _nested()
    with pytest.raises(Trap) as ei:
        inst.exports["rec"](500)
    assert len(ei.value.backtrace) == 501
    assert set(_names(ei.value)) == {"rec"}


def test_stack_overflow_backtrace_is_bounded_and_complete() -> None:
    inst, store = _nested()
    with pytest.raises(StackOverflow) as ei:
        inst.exports["forever"](1)
    bt = ei.value.backtrace
    assert len(bt) > 100 and set(f.func_name for f in bt) == {"forever"}
    assert store.stack_remaining == store.stack_budget


def test_backtrace_across_instances_and_reentry() -> None:
    engine = Engine()
    store = Store(engine)
    lib_mod = Module(engine, wat("""(module
      (func $crash (export "crash") (param i32) (result i32) unreachable))"""))
    lib_inst = Instance(store, lib_mod, {})
    main = Module(engine, wat("""(module
      (import "lib" "crash" (func $imported_crash (param i32) (result i32)))
      (import "env" "reenter" (func $reenter (param i32) (result i32)))
      (func $via (param i32) (result i32) (call $imported_crash (local.get 0)))
      (func (export "go") (param i32) (result i32) (call $via (local.get 0)))
      (func (export "go_host") (param i32) (result i32) (call $reenter (local.get 0))))"""))
    seen: list[list[str | None]] = []

    def reenter(x: int) -> int:
        try:
            lib_inst.exports["crash"](x)
        except Trap as e:
            seen.append(_names(e))
            raise
        return 0

    inst = Instance(store, main, {"lib": {"crash": lib_inst.exports["crash"]},
                                  "env": {"reenter": Func(store, FuncType([I32], [I32]), reenter)}})
    with pytest.raises(Trap) as ei:
        inst.exports["go"](1)
    assert _names(ei.value) == ["crash", "via", "go"]
    assert [f.func_index for f in ei.value.backtrace] == [0, 2, 3]
    # A trap in a nested activation (host -> wasm) has that activation's frames; propagating out
    # through the outer activation adds the outer frames.
    with pytest.raises(Trap) as ei2:
        inst.exports["go_host"](1)
    assert seen == [["crash"]]
    assert ei2.value.code == TrapCode.UNREACHABLE
    assert _names(ei2.value) == ["crash", "go_host"]


def test_backtrace_after_many_traps_is_stable() -> None:
    inst, _ = _nested()
    for i in range(200):
        with pytest.raises(Trap) as ei:
            inst.exports["outer"](i % 3)
        assert _names(ei.value) == ["leaf", "middle", "outer"]


def test_outer_frames_point_at_their_call_ops_across_instances_and_indirect_calls() -> None:
    # Direct calls, an import of another instance's function, call_indirect and a host function
    # re-entering wasm: every outer frame's offset is the call op (call / call_indirect) it is in.
    engine = Engine()
    store = Store(engine)
    lib_text = """(module (func $crash (export "crash") (param i32) (result i32) unreachable))"""
    lib_inst = Instance(store, Module(engine, wat(lib_text)), {})
    main_text = """(module
      (import "lib" "crash" (func $imported_crash (param i32) (result i32)))
      (import "env" "reenter" (func $reenter (param i32) (result i32)))
      (type $t (func (param i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $via $imported_crash)
      (func $via (param i32) (result i32) (i32.add (i32.const 1) (call $imported_crash (local.get 0))))
      (func $ind (param i32) (result i32)
        (drop (i32.const 5))
        (call_indirect (type $t) (local.get 0) (local.get 0)))
      (func (export "go") (param i32) (result i32) (nop) (call $ind (local.get 0)))
      (func (export "go_host") (param i32) (result i32) (call $reenter (local.get 0))))"""
    main = Module(engine, wat(main_text))

    def reenter(x: int) -> int:
        return int(lib_inst.exports["crash"](x))

    inst = Instance(store, main, {"lib": {"crash": lib_inst.exports["crash"]},
                                  "env": {"reenter": Func(store, FuncType([I32], [I32]), reenter)}})
    bodies = parse_program(bytes(translate(wat(main_text), Config()).program))["bodies"]

    def op_at(frame: Frame) -> str:
        return dict(disassemble_code(bodies[frame.func_index - 2]["code"]))[frame.bytecode_offset].split()[0]

    for arg, names in ((0, ["crash", "via", "ind", "go"]), (1, ["crash", "ind", "go"])):
        with pytest.raises(Trap) as ei:
            inst.exports["go"](arg)
        bt = ei.value.backtrace
        assert _names(ei.value) == names
        # go: call $ind; ind: call_indirect; via (arg 0): call $imported_crash
        assert [op_at(f) for f in bt[1:]] == (["call"] if arg == 0 else []) + ["call_indirect", "call"]
    with pytest.raises(Trap) as ei:
        inst.exports["go_host"](1)
    assert _names(ei.value) == ["crash", "go_host"]
    assert op_at(ei.value.backtrace[1]) == "call"
