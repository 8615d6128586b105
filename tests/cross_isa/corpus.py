"""The cross-ISA determinism corpus: outcomes that must be bit-identical on every ISA.

For each module: compile, instantiate and call every exported function with fixed edge-case
arguments on a metered Store with a finite gas limit; after each step the exact result bits or
the trap code, ``gas_used``, and hashes of every exported memory and the raw bits of every
exported global go into one digest. Modules: ``wasm-tools smith`` with fixed seeds (Wasm 2.0,
canonical NaNs, smith's termination fuel) plus stack-exhaustion probes whose recorded outcome is
the call depth at which STACK_OVERFLOW hits. Spec scripts: the Store's ``gas_used`` after each
core script run metered (the spec runner already checks results and trap kinds exactly).

``record.json`` holds the outcomes recorded on x86_64 (``NEARVM_BLESS=1``, x86_64 only);
test_cross_isa.py replays them on whatever ISA it runs on and requires identity.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import nearvm
from nearvm.config import Config, GasSchedule
from nearvm.toolpath import find_tool

# The repository root, for fuzz/ (not on sys.path when the suite runs against an installed wheel).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from fuzz.smith_flags import smith_flags  # noqa: E402

RECORD = Path(__file__).parent / "record.json"
N_SEEDS = 1000
GAS_LIMIT = 2_000_000
# Wasm 2.0 only, NaNs canonicalised by smith, loops and calls bounded by smith's fuel (the
# project's one smith configuration, fuzz/smith_flags.py; smaller modules than the differential
# test's). record.json was recorded with exactly these sizes: changing one means re-recording.
SMITH_FLAGS = smith_flags(fuel=2000, max_instructions=300, min_funcs=2, max_funcs=10)
EDGE_VALUES = [0, 1, 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 63, (1 << 64) - 1, 0x7FF8_0000_0000_0001]
NUMERIC = ("i32", "i64", "f32", "f64")


def wasm_tools() -> str:
    """The wasm-tools executable, found by the package's own lookup (nearvm.toolpath)."""
    return find_tool("wasm-tools")


def smith(seed: int) -> bytes | None:
    rng = random.Random(seed)
    proc = subprocess.run([wasm_tools(), "smith", *SMITH_FLAGS], input=rng.randbytes(20_000), capture_output=True,
                          check=False)
    if proc.returncode != 0 and b"unexpected argument" in proc.stderr:
        raise RuntimeError(f"this wasm-tools does not take a flag the corpus needs: {proc.stderr.decode()[:300]}")
    return proc.stdout if proc.returncode == 0 else None


def _state(h: Any, inst: Any) -> None:
    for name in sorted(inst.exports):
        obj = inst.exports[name]
        if isinstance(obj, nearvm.Memory):
            h.update(b"M" + name.encode() + hashlib.sha256(bytes(obj.read(0, obj.data_size))).digest())
        elif isinstance(obj, nearvm.Global):
            ty = obj.type.content.name.lower()
            if ty in NUMERIC:
                h.update(b"G" + name.encode() + str(obj.get_raw()).encode())


def _event(h: Any, store: Any, what: str) -> None:
    h.update(f"|{what};gas={store.gas_used}".encode())


def module_outcome(wasm: bytes, seed: int) -> str:
    """The digest of everything observable about running `wasm` (see the module docstring)."""
    h = hashlib.sha256()
    engine = nearvm.Engine(Config(gas=GasSchedule.uniform(1)))
    try:
        module = nearvm.Module(engine, wasm)
    except nearvm.CompileError as e:
        return "compile-error:" + type(e).__name__
    store = nearvm.Store(engine, gas_limit=GAS_LIMIT)
    try:
        inst = nearvm.Instance(store, module, {})
    except nearvm.Trap as e:
        _event(h, store, f"instantiate-trap={e.code.name}")
        return h.hexdigest()[:24]
    _event(h, store, "instantiated")
    _state(h, inst)
    rng = random.Random(seed * 7 + 1)
    for name, ty in module.exports:
        if not isinstance(ty, nearvm.FuncType):
            continue
        params = [p.name.lower() for p in ty.params]
        if any(p not in NUMERIC for p in params):
            continue
        for _ in range(2):
            args = [rng.choice(EDGE_VALUES) & (0xFFFF_FFFF if p in ("i32", "f32") else (1 << 64) - 1) for p in params]
            try:
                res = inst.exports[name].call_raw(args)
                what = "ret=" + ",".join(str(r) if isinstance(r, int) else "ref" for r in res)
            except nearvm.Trap as e:
                what = f"trap={e.code.name}"
            _event(h, store, f"{name}{args}:{what}")
            _state(h, inst)
            if store.gas_remaining == 0:
                store.gas_limit = store.gas_used + GAS_LIMIT  # refuel: later exports run too
    return h.hexdigest()[:24]


# Stack exhaustion: a function recursing until STACK_OVERFLOW counts its depth in a global. The
# budget is charged per frame from the bytecode (docs/runtime-abi.md "Stack budget"), so the depth
# is a property of the module, not of the machine: different frame shapes, same on every ISA.
EXHAUSTION = {
    "plain": "(global $d (export \"d\") (mut i64) (i64.const 0)) "
             "(func $f (export \"f\") (global.set $d (i64.add (global.get $d) (i64.const 1))) (call $f))",
    "locals": "(global $d (export \"d\") (mut i64) (i64.const 0)) "
              "(func $f (export \"f\") (local i64 i64 i64 i64 f64 f64 f64 f64 i32 i32 i32 i32 i32 i32 i32 i32) "
              "(global.set $d (i64.add (global.get $d) (i64.const 1))) (call $f))",
    "params": "(global $d (export \"d\") (mut i64) (i64.const 0)) "
              "(func $f (export \"f\") (param i64 f64 i32 f32 i64 i64) "
              "(global.set $d (i64.add (global.get $d) (i64.const 1))) "
              "(call $f (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)))",
    "operands": "(global $d (export \"d\") (mut i64) (i64.const 0)) "
                "(func $f (export \"f\") (result i64) "
                "(global.set $d (i64.add (global.get $d) (i64.const 1))) "
                "(i64.add (i64.add (global.get $d) (i64.const 3)) (i64.add (global.get $d) (call $f))))",
}


def exhaustion_depth(wat_body: str, metered: bool) -> str:
    from wasm_text import wat2wasm

    engine = nearvm.Engine(Config(gas=GasSchedule.uniform(1)) if metered else Config())
    store = nearvm.Store(engine, gas_limit=10**12) if metered else nearvm.Store(engine)
    inst = nearvm.Instance(store, nearvm.Module(engine, wat2wasm(f"(module {wat_body})")), {})
    f = inst.exports["f"]
    args = [0] * len(f.type.params)
    try:
        f.call_raw(args)
        trap = "none"
    except nearvm.Trap as e:
        trap = e.code.name
    return f"{trap}:depth={inst.exports['d'].get_raw()}:gas={store.gas_used}"


def spec_gas(files: list[str]) -> dict[str, int | None]:
    from nearvm import wast

    root = wast.spec_dir()
    manifest = wast.load_manifest(root)
    runner = wast.WastRunner("exec", gas=1)
    out: dict[str, int | None] = {}
    for rel in files:
        res = runner.run_file(root / rel, manifest=manifest)
        if not res.ok:
            raise AssertionError(f"{rel}: the spec script itself fails: {[r.reason for r in res.failures][:3]}")
        out[Path(rel).name] = res.gas_used
    return out


def spec_files() -> list[str]:
    from nearvm import wast

    return wast.load_manifest(wast.spec_dir()).files("core")


def recorded_spec_gas(name: str) -> int | None:
    """The x86_64 gas_used of core spec script `name` run metered (KeyError: not recorded)."""
    return load_record()["spec_gas"][name]


def record_all(seeds: range) -> dict[str, Any]:
    smith_out: dict[str, list[str]] = {}
    for seed in seeds:
        wasm = smith(seed)
        if wasm is None:
            continue
        smith_out[str(seed)] = [hashlib.sha256(wasm).hexdigest()[:16], module_outcome(wasm, seed)]
    exhaustion = {f"{k}/{'metered' if m else 'plain'}": exhaustion_depth(v, m)
                  for k, v in EXHAUSTION.items() for m in (False, True)}
    return {
        "wasm_tools": subprocess.run([wasm_tools(), "--version"], capture_output=True, text=True,
                                     check=True).stdout.strip(),
        "smith": smith_out,
        "exhaustion": exhaustion,
        "spec_gas": spec_gas(spec_files()),
    }


def load_record() -> dict[str, Any]:
    return json.loads(RECORD.read_text())
