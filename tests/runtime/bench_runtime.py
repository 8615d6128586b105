"""Runtime micro-benchmark (not a test): per-call overhead from Python and instantiation latency.

    PYTHONPATH=python python3 tests/runtime/bench_runtime.py [--quick]

Medians of repeated batches, in microseconds of process CPU time (user + system, so the
mmap/madvise work counts, other processes' load does not). Used for the numbers in docs/runtime.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rt_helpers import wat  # noqa: E402

from nearvm.runtime import Engine, Func, Instance, Module, Store  # noqa: E402
from nearvm.wasm.types import FuncType, ValType  # noqa: E402

I32 = ValType.I32

CALLS = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "nop"))
  (func (export "id") (param i32) (result i32) local.get 0)
  (func (export "add3") (param i64 i64 i64) (result i64) local.get 0 local.get 1 i64.add local.get 2 i64.add)
  (func (export "hostloop") (param i32) (result i32) (local i32)
    (block $d (loop $l (br_if $d (i32.eqz (local.get 0)))
      (local.set 1 (call $h (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))
    local.get 1))"""


def _mem_module(pages: int, n_segments: int, seg_bytes: int) -> str:
    datas = " ".join(f'(data (i32.const {i * (seg_bytes + 16)}) "{"ab" * (seg_bytes // 2)}")'
                     for i in range(n_segments))
    return f'(module (memory {pages}) (func (export "run") (result i32) i32.const 1) {datas})'


def _per_call(fn: Callable[[], Any], iters: int, reps: int = 7) -> float:
    times = []
    for _ in range(reps):
        t = time.process_time()  # CPU time: robust against other load on the machine
        for _ in range(iters):
            fn()
        times.append((time.process_time() - t) / iters)
    return statistics.median(times) * 1e6


def run(quick: bool) -> dict[str, float]:
    n = 20_000 if quick else 200_000
    engine = Engine()
    store = Store(engine)
    calls = Module(engine, wat(CALLS))
    h = Func(store, FuncType([I32], [I32]), lambda x: x)
    inst = Instance(store, calls, {"env": {"h": h}})
    e = inst.exports
    nop, ident, add3, hostloop = e["nop"], e["id"], e["add3"], e["hostloop"]
    res: dict[str, float] = {}
    res["call nop()"] = _per_call(nop, n)
    res["call id(i32)"] = _per_call(lambda: ident(5), n)
    res["call add3(i64 x3)"] = _per_call(lambda: add3(1, 2, 3), n)
    res["call_raw id([i32])"] = _per_call(lambda: ident.call_raw([5]), n)
    k = 1000
    res["host call from wasm"] = _per_call(lambda: hostloop(k), max(10, n // k // 4)) / k

    m = 300 if quick else 2000
    for label, text in (("1 page, no data", _mem_module(1, 0, 0)),
                        ("16 pages, 64 x 1 KiB data", _mem_module(16, 64, 1024)),
                        ("256 pages, 4 x 64 KiB data", _mem_module(256, 4, 65536))):
        mod = Module(engine, wat(text))
        gc.collect()

        def fresh(mod: Module = mod) -> None:
            s = Store(engine)
            Instance(s, mod, {})

        res[f"instantiate (new Store) {label}"] = _per_call(fresh, m, reps=5)
        # After touching memory (what a contract call does): instantiate, write every page, drop.

        def dirty(mod: Module = mod) -> None:
            s = Store(engine)
            i = Instance(s, mod, {})
            mem = i._memories[0]
            base = 0
            while base < mem.data_size:
                mem.write(base, b"x")
                base += 65536

        res[f"instantiate+touch+drop {label}"] = _per_call(dirty, m, reps=5)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    for name, us in run(args.quick).items():
        print(f"{name:55s} {us:9.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
