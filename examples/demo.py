"""nearvm demo: compile a small contract, run it with gas metering, and watch it trap safely.

Run with `make demo` (sets everything up), or `python examples/demo.py` inside the venv.
"""

from __future__ import annotations

import subprocess
import sys

import nearvm
from nearvm.errors import ToolNotFoundError
from nearvm.toolpath import find_tool

CONTRACT_WAT = r"""
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1 2)
  ;; sum 1..n with a loop: gas grows linearly with n
  (func (export "sum_to") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (block $done
      (loop $top
        (br_if $done (i32.gt_u (local.get $i) (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (call $log (local.get $n))
    (local.get $acc))
  ;; reads past the end of linear memory: a guard-page fault that becomes nearvm.Trap
  (func (export "read_far") (result i32)
    (i32.load (i32.const 0x7fff0000)))
  ;; unbounded recursion: stopped by the deterministic stack budget, not the native stack
  (func $forever (export "forever") (param i32) (result i32)
    (call $forever (i32.add (local.get 0) (i32.const 1))))
)
"""


def assemble(text: str) -> bytes:
    try:
        exe = find_tool("wasm-tools")
    except ToolNotFoundError as e:
        sys.exit(f"the demo needs wasm-tools: {e}")
    return subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True, check=True).stdout


def main() -> int:
    print(f"nearvm {nearvm.__version__}")
    wasm = assemble(CONTRACT_WAT)
    engine = nearvm.Engine(nearvm.Config(gas=nearvm.GasSchedule.uniform(1)))
    module = nearvm.Module(engine, wasm)
    print("imports:", [(m, n, str(t)) for m, n, t in module.imports])
    print("exports:", [name for name, _ in module.exports])

    logged: list[int] = []
    store = nearvm.Store(engine, gas_limit=10_000_000)
    log = nearvm.Func(store, nearvm.FuncType([nearvm.ValType.I32], []), logged.append)
    instance = nearvm.Instance(store, module, {"env": {"log": log}})

    sum_to = instance.exports["sum_to"]
    for n in (10, 1000):
        before = store.gas_used
        print(f"sum_to({n}) = {sum_to(n)}   gas: {store.gas_used - before}")
    print("host log received:", logged)

    for name, args in (("read_far", ()), ("forever", (0,))):
        try:
            instance.exports[name](*args)
        except nearvm.Trap as trap:
            print(f"{name}: trapped with {trap.code.name}: {trap}")

    poor = nearvm.Store(engine, gas_limit=500)
    poor_instance = nearvm.Instance(poor, module, {"env": {"log": nearvm.Func(poor, log.type, logged.append)}})
    try:
        poor_instance.exports["sum_to"](1000)
    except nearvm.OutOfGas:
        print(f"sum_to(1000) with 500 gas: OutOfGas, gas_used = {poor.gas_used} (the whole budget is burnt)")

    try:
        nearvm.Module(engine, wasm[:-3])
    except nearvm.CompileError as err:
        print(f"truncated module rejected: {type(err).__name__}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
