"""The Windows driver's corpus: modules lowered by the Python frontend plus call scripts whose
expected outcomes come from running them through nearvm's Python API on this (Linux) build.

``python tests/windows/win_corpus.py OUT_DIR`` writes one ``<case>.case`` file per module. The
text format (read by tests/windows/driver.cpp; whitespace-separated, one record per line):

    nearvm-case 1
    name <name>
    config <gas 0|1> <bulk_base> <bulk_per_unit> <stack_budget>
    type <n_params> <valtype>... <n_results> <valtype>...        (one per module type)
    funcs <n> <type index>...                                    (imports first)
    import <host function name>                                  (one per imported function)
    memory <min> <max> <declared_max>                            (at most one, defined here)
    table <min> <max>                                            (at most one funcref table)
    global <valtype> <mutable> <init bits>                       (constant initialisers)
    data <hex bytes, or - when empty>                            (every segment, in order)
    active_data <data index> <offset>
    elem <mode 0 active|1 passive|2 declarative> <offset> <n> <func index, -1 for null>...
    start <func index>                                           (the start function, if any)
    inner <func index>                                           (what host `reenter` calls)
    program <hex bytes>
    call <func index> <gas limit|-> <n args> <bits>... expect <code> <gas_used> <n results> <bits>...
    memory_hash <FNV-1a 64 of the memory after the last call, 16 hex digits>
    end

Host functions (module "env"), identical here and in the driver:
    add_one (i64) -> i64        returns x + 1
    fail () -> ()               the host reports an error: trap HOST_ERROR
    charge (i64) -> ()          charges x gas (OUT_OF_GAS when it does not fit)
    reenter (i32) -> i32        calls the instance's `inner` export with x (its trap propagates)
    mix (i32 i64 f32 f64 i32 i64 f32 f64) -> f64   many mixed arguments (host ABI stack slots)
    interrupt () -> ()          requests an interrupt of the store (nvm_store_interrupt): the wasm
                                that called it traps INTERRUPTED at its next loop header or entry
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nearvm
from nearvm import Config, Engine, Func, FuncType, GasSchedule, Instance, Module, Store, Trap, ValType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wasm_text import wat2wasm  # noqa: E402

M64 = (1 << 64) - 1
I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


def f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


@dataclass
class Case:
    name: str
    wat: str
    calls: list[tuple[str, list[int], int | None]]  # (export, raw argument bits, gas budget)
    metered: bool = False
    stack_budget: int = 262_144
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---- host functions (the driver implements the same ones) -------------------------------------

def _add_one(x: int) -> int:
    return (x + 1 + 2**63) % 2**64 - 2**63


def _fail() -> None:
    raise RuntimeError("host failure")


def _mix(a: int, b: int, c: float, d: float, e: int, f: int, g: float, h: float) -> float:
    # Summed left to right in double precision, as the driver does.
    return float(a) + float(b) * 2.0 + c * 3.0 + d * 4.0 + float(e) * 5.0 + float(f) * 6.0 + g * 7.0 + h * 8.0


HOSTS: dict[str, tuple[FuncType, bool, Callable[..., Any]]] = {
    "add_one": (FuncType([I64], [I64]), False, _add_one),
    "fail": (FuncType([], []), False, _fail),
    "charge": (FuncType([I64], []), True, lambda caller, x: caller.charge_gas(x)),
    "reenter": (FuncType([I32], [I32]), True, lambda caller, x: caller.get_export("inner")(x)),
    "mix": (FuncType([I32, I64, F32, F64, I32, I64, F32, F64], [F64]), False, _mix),
    "interrupt": (FuncType([], []), True, lambda caller: caller.store.interrupt_handle().interrupt()),
}

IMPORTS = {
    name: f'(import "env" "{name}" (func ${name} {sig}))'
    for name, sig in {
        "add_one": "(param i64) (result i64)",
        "fail": "",
        "charge": "(param i64)",
        "reenter": "(param i32) (result i32)",
        "mix": "(param i32 i64 f32 f64 i32 i64 f32 f64) (result f64)",
        "interrupt": "",
    }.items()
}

NAN32 = 0x7FC00000
IMAX32, IMIN32 = 0x7FFFFFFF, 0x80000000
IMIN64 = 0x8000000000000000
NEG1_32, NEG1_64 = 0xFFFFFFFF, M64

CASES: list[Case] = [
    # Frames larger than a page, on a fresh thread stack (this case runs first in each pass):
    # Windows commits a thread's stack one guard page at a time, so code that moves the stack
    # pointer by more than a page must touch the pages in between in order.
    Case("big_frames_fresh_stack", """
      (module
        (func $big (export "big") (param i32) (result i64)
          (local $LOCALS)
          (local.set 2999 (i64.extend_i32_u (local.get 0)))
          (if (result i64) (i32.eqz (local.get 0))
            (then (local.get 2999))
            (else (i64.add (local.get 2999) (call $big (i32.sub (local.get 0) (i32.const 1)))))))
      )""".replace("$LOCALS", " ".join(["i64"] * 3000)), [("big", [3], None), ("big", [0], None)]),
    Case("trap_kinds", """
      (module
        (type $ii (func (param i32) (result i32)))
        (type $v (func))
        (memory 1 2)
        (table 4 funcref)
        (elem (i32.const 0) $id $nothing)
        (func $id (type $ii) local.get 0)
        (func $nothing (type $v))
        (func (export "unreachable") unreachable)
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "load_off") (param i32) (result i64) (i64.load offset=0xFFFFFFF0 (local.get 0)))
        (func (export "store8") (param i32) (i32.store8 (local.get 0) (i32.const 7)))
        (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
        (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
        (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
        (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
        (func (export "div_s64") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
        (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
        (func (export "trunc_u64") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
        (func (export "trunc_sat") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
        (func (export "indirect") (param i32 i32) (result i32)
          (call_indirect (type $ii) (local.get 0) (local.get 1)))
      )""", [
        ("unreachable", [], None),
        ("load", [65532], None), ("load", [65533], None), ("load", [NEG1_32], None),
        ("load_off", [0], None), ("load_off", [0x20], None),
        ("store8", [65535], None), ("store8", [65536], None), ("load", [65532], None),
        ("div_s", [7, 0], None), ("div_s", [IMIN32, NEG1_32], None), ("div_s", [NEG1_32 - 6, 2], None),
        ("div_u64", [5, 0], None), ("div_s64", [IMIN64, NEG1_64], None),
        ("rem_s", [IMIN32, NEG1_32], None), ("rem_s", [5, 0], None), ("rem_s64", [IMIN64, NEG1_64], None),
        ("trunc", [NAN32], None), ("trunc", [f32(2147483648.0)], None), ("trunc", [f32(-2147483648.0)], None),
        ("trunc_u64", [f64(-1.0)], None), ("trunc_u64", [f64(1.8446744073709552e19)], None),
        ("trunc_u64", [f64(-0.75)], None),
        ("trunc_sat", [f64(1e10)], None), ("trunc_sat", [f64(float("nan"))], None),
        ("indirect", [41, 0], None), ("indirect", [1, 1], None), ("indirect", [1, 2], None),
        ("indirect", [1, 4], None), ("indirect", [1, NEG1_32], None),
      ]),
    Case("out_of_gas", """
      (module
        (import "env" "charge" (func $charge (param i64)))
        (func (export "spin") (param i32) (result i32) (local i32)
          (loop $l
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
          (local.get 1))
        (func (export "host_charge") (param i64) (call $charge (local.get 0)))
      )""", [
        ("spin", [10], None), ("spin", [1000], 100_000), ("spin", [1_000_000], 5000),
        ("spin", [5], 100), ("spin", [5], 20), ("host_charge", [1000], 5000),
        ("host_charge", [1000], 500), ("host_charge", [2**40], None), ("host_charge", [2**62], 10**6),
        ("spin", [1], 1000),
      ], metered=True),
    Case("stack_exhaustion", """
      (module
        (global $depth (mut i32) (i32.const 0))
        (func $rec (export "rec") (global.set $depth (i32.add (global.get $depth) (i32.const 1))) (call $rec))
        (func $wide (export "wide") (param f64 f64 f64 f64) (result f64)
          (local f64 f64 f64 f64 f64 f64 f64 f64)
          (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
          (f64.add (local.get 0) (call $wide (local.get 1) (local.get 2) (local.get 3) (local.get 0))))
        (func (export "depth") (result i32) (global.get $depth))
        (func (export "reset") (global.set $depth (i32.const 0)))
      )""", [
        ("rec", [], None), ("depth", [], None), ("reset", [], None),
        ("wide", [f64(1.0), f64(2.0), f64(3.0), f64(4.0)], None), ("depth", [], None),
        ("reset", [], None), ("rec", [], None), ("depth", [], None),
      ]),
    Case("stack_exhaustion_metered", """
      (module
        (global $depth (mut i32) (i32.const 0))
        (func $rec (export "rec") (global.set $depth (i32.add (global.get $depth) (i32.const 1))) (call $rec))
        (func (export "depth") (result i32) (global.get $depth))
      )""", [("rec", [], None), ("depth", [], None)], metered=True, stack_budget=65_536),
    Case("host_calls", IMPORTS["add_one"] and f"""
      (module
        {IMPORTS['add_one']} {IMPORTS['fail']} {IMPORTS['reenter']} {IMPORTS['mix']}
        (memory 1)
        (func $inner (export "inner") (param i32) (result i32)
          (if (i32.eqz (local.get 0)) (then unreachable))
          (if (i32.eq (local.get 0) (i32.const 99)) (then (drop (i32.load (i32.const 70000)))))
          (if (i32.gt_u (local.get 0) (i32.const 1000))
            (then (return (call $reenter (i32.sub (local.get 0) (i32.const 1000))))))
          (i32.mul (local.get 0) (i32.const 3)))
        (func (export "add") (param i64) (result i64) (call $add_one (call $add_one (local.get 0))))
        (func (export "fail") (call $fail))
        (func (export "reenter") (param i32) (result i32) (i32.add (call $reenter (local.get 0)) (i32.const 1)))
        (func (export "mix") (result f64)
          (call $mix (i32.const -3) (i64.const 1099511627776) (f32.const 0.5) (f64.const -2.25)
                     (i32.const 7) (i64.const -9) (f32.const 1.5) (f64.const 1e300)))
        (func (export "homes") (param i64) (result i64)
          (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64) (local $x f64) (local $y f64)
          (local.set $a (i64.add (local.get 0) (i64.const 1)))
          (local.set $b (i64.mul (local.get 0) (i64.const 3)))
          (local.set $c (i64.xor (local.get 0) (i64.const 0x5555)))
          (local.set $d (i64.sub (local.get 0) (i64.const 7)))
          (local.set $e (i64.rotl (local.get 0) (i64.const 13)))
          (local.set $x (f64.convert_i64_s (local.get 0)))
          (local.set $y (f64.sqrt (local.get $x)))
          (drop (call $add_one (local.get 0)))
          (drop (call $mix (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4)
                           (i32.const 5) (i64.const 6) (f32.const 7) (f64.const 8)))
          (i64.add (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
                   (i64.add (local.get $e) (i64.trunc_f64_s (f64.add (local.get $x) (local.get $y))))))
      )""", [
        ("add", [40], None), ("add", [M64 >> 1], None), ("fail", [], None),
        ("reenter", [5], None), ("reenter", [0], None), ("reenter", [99], None), ("reenter", [1007], None),
        ("reenter", [3000], None), ("reenter", [2000], None), ("mix", [], None), ("homes", [123456789], None),
        ("reenter", [6], None),
      ]),
    Case("host_calls_metered", f"""
      (module
        {IMPORTS['add_one']} {IMPORTS['charge']} {IMPORTS['reenter']}
        (func $inner (export "inner") (param i32) (result i32)
          (if (i32.gt_u (local.get 0) (i32.const 100))
            (then (call $charge (i64.extend_i32_u (local.get 0)))))
          (i32.add (local.get 0) (i32.const 1)))
        (func (export "reenter") (param i32) (result i32) (call $reenter (local.get 0)))
        (func (export "add") (param i64) (result i64) (call $add_one (local.get 0)))
      )""", [
        ("add", [1], None), ("reenter", [5], 1000), ("reenter", [500], 2000),
        ("reenter", [500], 300), ("reenter", [5], 12), ("add", [2], 1000),
      ], metered=True),
    # An interrupt requested from a host function: the unmetered loop that follows traps at its
    # next header; the request is consumed, so the next call runs to its end.
    Case("interrupt_from_host", f"""
      (module
        {IMPORTS['interrupt']}
        (func (export "spin") (result i32) (local i32)
          (call $interrupt)
          (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))
          (local.get 0))
        (func (export "count") (param i32) (result i32) (local i32)
          (block $d (loop $l (br_if $d (i32.ge_u (local.get 1) (local.get 0)))
            (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br $l)))
          (local.get 1))
      )""", [("spin", [], None), ("count", [1000], None), ("spin", [], None)]),
    # Re-entrancy 50 levels deep (wasm -> host -> wasm ...), a fault in the innermost activation.
    # (Unbounded re-entrancy is not in the corpus: its depth is limited by the native stack each
    # nested entry must find free, which differs between hosts, not by the stack budget.)
    Case("reentrant_fault", f"""
      (module
        {IMPORTS['reenter']}
        (global $depth (mut i32) (i32.const 0))
        (memory 1)
        (func $inner (export "inner") (param i32) (result i32)
          (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
          (if (i32.eq (local.get 0) (i32.const 50)) (then (return (i32.load (i32.const 65536)))))
          (if (i32.eq (local.get 0) (i32.const 60)) (then (return (i32.const 60))))
          (i32.add (call $reenter (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
        (func (export "depth") (result i32) (global.get $depth))
        (func (export "reset") (global.set $depth (i32.const 0)))
      )""", [
        ("inner", [52], None), ("depth", [], None), ("reset", [], None),
        ("inner", [1], None), ("depth", [], None), ("reset", [], None), ("inner", [55], None),
      ]),
    Case("memory_grow", """
      (module
        (memory $m 1 4)
        (data (i32.const 16) "nearvm")
        (data $p "passive-bytes")
        (func (export "size") (result i32) memory.size)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
        (func (export "load") (param i32) (result i64) (i64.load (local.get 0)))
        (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
        (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
        (func (export "init") (param i32 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
        (func (export "drop") (data.drop $p))
      )""", [
        ("size", [], None), ("load", [65536], None), ("grow", [1], None), ("size", [], None),
        ("store", [131064, 0x0102030405060708], None), ("load", [131064], None), ("load", [131065], None),
        ("grow", [3], None), ("grow", [2], None), ("size", [], None), ("grow", [0], None),
        ("store", [262136, M64], None), ("load", [262137], None),
        ("fill", [100, 0xAB, 50], None), ("fill", [262100, 1, 100], None),
        ("copy", [200, 16, 6], None), ("copy", [262140, 0, 8], None),
        ("init", [300, 2, 5], None), ("init", [300, 10, 10], None), ("drop", [], None), ("init", [300, 0, 1], None),
        ("load", [300], None), ("load", [16], None),
      ]),
    Case("memory_grow_metered", """
      (module
        (memory 0)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 5) (local.get 1)))
        (func (export "sum") (param i32) (result i32) (local i32 i32)
          (loop $l
            (local.set 2 (i32.add (local.get 2) (i32.load8_u (local.get 1))))
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
          (local.get 2))
      )""", [
        ("sum", [1], None), ("grow", [2], None), ("fill", [10, 60000], None), ("sum", [70000], None),
        ("fill", [0, 131072], 200_000), ("fill", [0, 131072], 100_000), ("fill", [0, 131073], 200_000),
      ], metered=True),
    Case("tables_and_elems", """
      (module
        (type $i (func (result i32)))
        (table $t 3 6 funcref)
        (elem (i32.const 0) $one $two)
        (elem $pass func $three $one)
        (elem declare func $two)
        (func $one (result i32) (i32.const 1))
        (func $two (result i32) (i32.const 2))
        (func $three (result i32) (i32.const 3))
        (func (export "call") (param i32) (result i32) (call_indirect (type $i) (local.get 0)))
        (func (export "init") (param i32 i32 i32) (table.init $pass (local.get 0) (local.get 1) (local.get 2)))
        (func (export "copy") (param i32 i32 i32) (table.copy (local.get 0) (local.get 1) (local.get 2)))
        (func (export "grow") (param i32) (result i32) (table.grow (ref.func $two) (local.get 0)))
        (func (export "size") (result i32) table.size)
        (func (export "fill") (param i32 i32) (table.fill (local.get 0) (ref.null func) (local.get 1)))
      )""", [
        ("call", [0], None), ("call", [1], None), ("call", [2], None), ("init", [2, 0, 1], None),
        ("call", [2], None), ("init", [2, 1, 2], None), ("copy", [0, 1, 2], None), ("call", [0], None),
        ("grow", [2], None), ("size", [], None), ("call", [4], None), ("grow", [5], None),
        ("fill", [0, 1], None), ("call", [0], None), ("fill", [4, 2], None), ("copy", [3, 4, 3], None),
      ]),
    Case("floats_and_params", """
      (module
        (func (export "many") (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64) (result f64)
          (f64.add
            (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
            (f64.add
              (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))
              (f64.add
                (f64.add (f64.convert_i32_u (local.get 4)) (f64.convert_i64_u (local.get 5)))
                (f64.add (f64.add (f64.promote_f32 (local.get 6)) (local.get 7))
                         (f64.add (f64.convert_i32_s (local.get 8)) (f64.convert_i64_s (local.get 9))))))))
        (func (export "multi") (param i32 f64) (result f64 i32 i64)
          (local.get 1) (local.get 0) (i64.extend_i32_s (local.get 0)))
        (func (export "minmax") (param f32 f32 f64 f64) (result f32 f32 f64 f64)
          (f32.min (local.get 0) (local.get 1)) (f32.max (local.get 0) (local.get 1))
          (f64.min (local.get 2) (local.get 3)) (f64.max (local.get 2) (local.get 3)))
        (func (export "round") (param f64) (result f64 f64 f64 f64 f64)
          (f64.nearest (local.get 0)) (f64.floor (local.get 0)) (f64.ceil (local.get 0))
          (f64.trunc (local.get 0)) (f64.sqrt (local.get 0)))
        (func (export "nan_arith") (param f32 f64) (result f32 f64)
          (f32.add (local.get 0) (f32.const 1)) (f64.div (local.get 1) (f64.const 0)))
        (func (export "float_homes") (param f64) (result f64)
          (local $a f64) (local $b f64) (local $c f64) (local $d f64) (local $e f64) (local $f f64)
          (local $g f64) (local $h f64) (local $i i32)
          (loop $l
            (local.set $a (f64.add (local.get $a) (local.get 0)))
            (local.set $b (f64.mul (f64.add (local.get $b) (f64.const 1)) (f64.const 0.5)))
            (local.set $c (f64.sub (local.get $c) (local.get $a)))
            (local.set $d (f64.add (local.get $d) (f64.sqrt (local.get $a))))
            (local.set $e (f64.max (local.get $e) (local.get $c)))
            (local.set $f (f64.min (local.get $f) (local.get $c)))
            (local.set $g (f64.add (local.get $g) (local.get $b)))
            (local.set $h (f64.add (local.get $h) (f64.nearest (local.get $d))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
          (f64.add (f64.add (f64.add (local.get $a) (local.get $b)) (f64.add (local.get $c) (local.get $d)))
                   (f64.add (f64.add (local.get $e) (local.get $f)) (f64.add (local.get $g) (local.get $h)))))
      )""", [
        ("many", [NEG1_32, 2**40, f32(0.25), f64(1e-3), NEG1_32, M64, f32(-3.5), f64(2.5), 7, 9], None),
        ("multi", [NEG1_32 - 4, f64(-0.0)], None),
        ("minmax", [f32(-0.0), f32(0.0), f64(float("nan")), f64(1.0)], None),
        ("minmax", [NAN32 | 1, f32(1.0), f64(-0.0), f64(0.0)], None),
        ("round", [f64(2.5)], None), ("round", [f64(-3.5)], None), ("round", [f64(-0.0)], None),
        ("nan_arith", [0x7FA00000, f64(0.0)], None), ("nan_arith", [0xFFC00001, f64(-1.0)], None),
        ("float_homes", [f64(1.25)], None),
      ]),
    Case("globals_and_start", """
      (module
        (global $g (mut i64) (i64.const -5))
        (global $f (mut f32) (f32.const 1.5))
        (global $k f64 (f64.const 2.75))
        (memory 1)
        (start $init)
        (func $init (i32.store (i32.const 8) (i32.const 0xDEAD)) (global.set $g (i64.const 77)))
        (func (export "get") (result i64 f32 f64 i32)
          (global.get $g) (global.get $f) (global.get $k) (i32.load (i32.const 8)))
        (func (export "set") (param i64 f32) (global.set $g (local.get 0)) (global.set $f (local.get 1)))
      )""", [("get", [], None), ("set", [M64, f32(-0.0)], None), ("get", [], None)]),
]


# ---- expected outcomes through the Python API -------------------------------------------------

def _flatten_init(op_arg: tuple[str, Any]) -> int:
    op, arg = op_arg
    if op in ("i32.const", "f32.const"):
        return int(arg) & 0xFFFF_FFFF
    if op in ("i64.const", "f64.const"):
        return int(arg) & M64
    raise ValueError(f"the driver supports constant initialisers only, got {op}")


def render(case: Case) -> str:
    schedule = GasSchedule.uniform(1, bulk_base=10, bulk_per_unit=1, frame_init_per_word=1)
    config = Config(gas=schedule if case.metered else None, stack_budget=case.stack_budget)
    engine = Engine(config)
    wasm = wat2wasm(case.wat)
    module = Module(engine, wasm)
    info = module.info
    store = Store(engine)
    imports: dict[str, dict[str, Func]] = {"env": {}}
    lines = ["nearvm-case 1", f"name {case.name}"]
    gas = config.gas
    lines.append(f"config {int(gas is not None)} {gas.bulk_base if gas else 0} "
                 f"{gas.bulk_per_unit if gas else 0} {case.stack_budget}")
    for ty in info.types:
        lines.append(f"type {len(ty.params)} {' '.join(str(int(t)) for t in ty.params)} "
                     f"{len(ty.results)} {' '.join(str(int(t)) for t in ty.results)}".replace("  ", " "))
    lines.append(f"funcs {len(info.func_types)} {' '.join(map(str, info.func_types))}".rstrip())
    for imp in info.imports:
        if imp.module != "env" or imp.name not in HOSTS or imp.kind != "func":
            raise ValueError(f"{case.name}: unsupported import {imp.module}.{imp.name}")
        ty, caller, fn = HOSTS[imp.name]
        if imp.type != ty:
            raise ValueError(f"{case.name}: import {imp.name} must have type {ty}")
        imports["env"][imp.name] = Func(store, ty, fn, access_caller=caller)
        lines.append(f"import {imp.name}")
    if info.num_imported_memories or info.num_imported_tables or info.num_imported_globals:
        raise ValueError(f"{case.name}: the driver supports function imports only")
    for mt in info.memories:
        cap = 65536 if mt.maximum is None else mt.maximum
        lines.append(f"memory {mt.minimum} {cap} {0xFFFF_FFFF if mt.maximum is None else mt.maximum}")
    for tt in info.tables:
        if tt.element != ValType.FUNCREF:
            raise ValueError(f"{case.name}: funcref tables only")
        lines.append(f"table {tt.minimum} {0xFFFF_FFFF if tt.maximum is None else tt.maximum}")
    for gt, init in zip(info.globals, info.global_inits, strict=True):
        lines.append(f"global {int(gt.content)} {int(gt.mutable)} {_flatten_init(init)}")
    for d in info.datas:
        lines.append(f"data {bytes(d.data).hex() or '-'}")
    for i, d in enumerate(info.datas):
        if d.mode == "active":
            assert d.offset is not None
            lines.append(f"active_data {i} {_flatten_init(d.offset)}")
    for seg in info.elems:
        items = []
        for op, arg in seg.items:
            items.append(str(int(arg)) if op == "ref.func" else "-1")
        mode = {"active": 0, "passive": 1, "declarative": 2}[seg.mode]
        offset = _flatten_init(seg.offset) if seg.offset is not None else 0
        lines.append(f"elem {mode} {offset} {len(items)} {' '.join(items)}".rstrip())
    if info.start is not None:
        lines.append(f"start {info.start}")
    exports = {e.name: e.index for e in info.exports if e.kind == "func"}
    if "inner" in exports:
        lines.append(f"inner {exports['inner']}")
    lines.append(f"program {bytes(info.program).hex()}")

    instance = Instance(store, module, imports)
    for name, args, gas_limit in case.calls:
        func = instance.exports[name]
        assert isinstance(func, Func)
        limit: int | None = None
        if case.metered:
            # A budget is relative to what was used so far; none = unlimited.
            limit = None if gas_limit is None else store.gas_used + gas_limit
            store.gas_limit = limit
        try:
            results = [int(r) & M64 for r in func.call_raw(list(args))]
            code = 0
        except Trap as trap:
            results, code = [], int(trap.code)
        bits = " ".join(str(a) for a in args)
        out = " ".join(str(r) for r in results)
        lines.append(f"call {exports[name]} {'-' if limit is None else limit} {len(args)} {bits} "
                     f"expect {code} {store.gas_used} {len(results)} {out}".replace("  ", " ").rstrip())
    mems = [m for m in instance._memories]  # the instance's memory index space
    mem_bytes = bytes(mems[0].data) if mems else b""
    lines.append(f"memory_hash {fnv1a64(mem_bytes):016x}")
    lines.append("end")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: win_corpus.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.case"):
        old.unlink()
    for case in CASES:
        (out / f"{case.name}.case").write_text(render(case))
    print(f"{len(CASES)} cases in {out} (nearvm {nearvm.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
