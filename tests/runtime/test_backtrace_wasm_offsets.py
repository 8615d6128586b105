"""Backtraces carry wasm binary offsets: for a module written in WAT, every frame's offset equals
the one wasmtime reports for the same module and trap (several trap kinds, outer call frames,
with and without metering, and after an artifact round trip)."""

from __future__ import annotations

import pytest
import wasmtime
from rt_helpers import wat

import nearvm
from nearvm import Config, Engine, GasSchedule, Instance, Module, Store, Trap

TRAPS = r"""(module
  (type $ii (func (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $id)
  (func $id (param i32) (result i32) (local.get 0))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.add (i32.const 1) (i32.div_s (local.get 0) (local.get 1))))
  (func $overflow (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func $unreachable (export "unreachable") (nop) (unreachable))
  (func $load (export "load") (param i32) (result i64)
    (i64.load offset=8 (local.get 0)))
  (func $store_loop (export "store_loop") (param i32)
    (local $i i32)
    (loop $l
      (i32.store8 (local.get $i) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (local.get 0)))
      (br $l)))
  (func $conv (export "conv") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func $indirect (export "indirect") (param i32) (result i32)
    (call_indirect (type $ii) (i32.const 5) (local.get 0)))
  (func $sig (export "sig") (result i64)
    (call_indirect (result i64) (i32.const 0)))
  (func $middle (param i32 i32) (result i32)
    (drop (i32.const 0))
    (call $div (local.get 0) (local.get 1)))
  (func (export "outer") (param i32) (result i32)
    (i32.add (i32.const 2) (call $middle (local.get 0) (i32.const 0)))))"""

CASES = [
    ("div", (7, 0)),
    ("overflow", ()),
    ("unreachable", ()),
    ("load", (65530,)),
    ("store_loop", (4096,)),
    ("conv", (1e30,)),
    ("indirect", (1,)),
    ("sig", ()),
    ("outer", (3,)),
]


def _wasmtime_offsets(wasm: bytes, name: str, args: tuple[object, ...]) -> list[int]:
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), [])
    with pytest.raises(wasmtime.Trap) as info:
        inst.exports(store)[name](store, *args)
    return [f.module_offset for f in info.value.frames]


def _nearvm_trap(module: Module, name: str, args: tuple[object, ...]) -> Trap:
    store = Store(module.engine)
    with pytest.raises(Trap) as info:
        Instance(store, module).exports[name](*args)
    return info.value


@pytest.mark.parametrize("config", [Config(), Config(gas=GasSchedule.uniform(1))], ids=["plain", "metered"])
def test_trap_offsets_match_wasmtime(config: Config) -> None:
    wasm = wat(TRAPS)
    engine = Engine(config, artifact_key=b"k" * 32)
    compiled = Module(engine, wasm)
    loaded = Module.deserialize(engine, compiled.serialize(), trusted_unauthenticated=True)
    for name, args in CASES:
        expected = _wasmtime_offsets(wasm, name, args)
        for module in (compiled, loaded):
            trap = _nearvm_trap(module, name, args)
            assert [f.offset for f in trap.backtrace] == expected, (name, trap.backtrace)
    outer = _nearvm_trap(compiled, "outer", (3,))
    assert [f.func_name for f in outer.backtrace] == ["div", "middle", "outer"]  # no name: the export name
    first = outer.backtrace[0]
    assert first.func_offset is not None and first.offset is not None
    assert first.offset - first.func_offset == compiled.info.body_offsets[first.func_index]


def test_str_of_trap_includes_the_backtrace() -> None:
    module = Module(Engine(), TRAPS)
    text = str(_nearvm_trap(module, "outer", (3,)))
    lines = text.splitlines()
    assert lines[0] == "integer divide by zero"
    assert lines[1] == "wasm backtrace:"
    off = _wasmtime_offsets(wat(TRAPS), "outer", (3,))
    assert lines[2:] == [f"    0: {off[0]:#8x} - div", f"    1: {off[1]:#8x} - middle",
                         f"    2: {off[2]:#8x} - outer"]
    assert nearvm.Trap(nearvm.TrapCode.UNREACHABLE).message == str(nearvm.Trap(nearvm.TrapCode.UNREACHABLE))


def test_str_of_a_deep_backtrace_elides_the_middle() -> None:
    module = Module(Engine(), '(module (func $f (export "f") (param i32) (call $f (local.get 0))))')
    trap = _nearvm_trap(module, "f", (0,))
    lines = str(trap).splitlines()
    assert len(trap.backtrace) > 1000 and len(lines) == 2 + 20 + 1 + 4
    assert lines[22] == f"       ... {len(trap.backtrace) - 24} more frames ..."
    assert lines[-1].startswith(f"  {len(trap.backtrace) - 1}: ")
