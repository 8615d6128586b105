"""Artifact latency benchmark: deserialize -> instantiate -> call, nearvm vs wasmtime-py.

For a tiny, a ~100 kB and a ~1 MB module (the same wasm for both runtimes): median time of
``Module.deserialize`` (from a serialized blob in memory), of instantiation, and of a first call to
a trivial export; plus the per-call overhead of calling an export from Python and of calling a
host (Python) function from wasm. Medians over repeated runs; ratios are nearvm / wasmtime
(< 1: nearvm is faster).

"deserialize" drops each module (outside the timed window) before the next load (a validator's steady state: a module
leaves its cache, another comes in; nearvm then reuses the freed code pages), "deserialize, all
kept" keeps every loaded module alive until the step ends (fresh code pages each time).

Times are process CPU time by default (``--clock cpu``): on a shared machine wall-clock medians
mostly measure the neighbours; ``--clock wall`` uses ``time.perf_counter``.

    PYTHONPATH=python python3 benchmarks/bench_latency.py [--quick] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from nearvm.errors import ToolNotFoundError
from nearvm.toolpath import find_tool

_FILLER = "local.get 0 i32.const {k} i32.add i32.const 7 i32.mul local.get 0 i32.xor i32.const 3 i32.shr_u "


def _module_wat(target_bytes: int) -> str:
    """A module of ~target_bytes: N arithmetic functions, a host import, and trivial exports."""
    per_func = 120  # bytes of binary per filler function (measured roughly)
    n = max(0, target_bytes // per_func)
    funcs = []
    for i in range(n):
        body = "".join(_FILLER.format(k=(i * 31 + j) % 1000) + ("i32.add " if j else "") for j in range(5))
        funcs.append(f"(func (param i32) (result i32) {body})")
    return ("(module (import \"env\" \"h\" (func $h (param i32) (result i32))) (memory 1)"
            " (func (export \"run\") (result i32) i32.const 1)"
            " (func (export \"id\") (param i32) (result i32) local.get 0)"
            " (func (export \"hostloop\") (param i32) (result i32) (local i32)"
            "  (block $d (loop $l (br_if $d (i32.eqz (local.get 0)))"
            "   (local.set 1 (call $h (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))"
            "  local.get 1) " + " ".join(funcs) + ")")


def _wat2wasm(text: str) -> bytes:
    try:
        exe = find_tool("wasm-tools")
    except ToolNotFoundError as e:
        raise SystemExit(f"bench_latency: {e}") from None
    return subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True, check=True).stdout


_CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = time.process_time


def _median(fn: Callable[[], Any], reps: int) -> float:
    return _medians({"": fn}, reps)[""]


def _medians(fns: dict[str, Callable[[], Any]], reps: int, keep: bool = False) -> dict[str, float]:
    """Median time of each function, the peers interleaved rep by rep (alternating which goes
    first) so that both see the same machine. A result is dropped outside the timed window, or,
    with ``keep``, only after all reps."""
    clock = _clock
    names = list(fns)
    times: dict[str, list[float]] = {k: [] for k in names}
    kept: list[Any] = []
    for i in range(reps):
        for name in names if i % 2 == 0 else names[::-1]:
            fn = fns[name]
            t = clock()
            result = fn()
            times[name].append(clock() - t)
            if keep:
                kept.append(result)
            del result
    kept.clear()
    return {k: statistics.median(v) for k, v in times.items()}


class _Nearvm:
    name = "nearvm"

    def __init__(self) -> None:
        from nearvm.runtime import Engine, Func, Instance, Module, Store
        from nearvm.wasm.types import FuncType, ValType

        self.Engine, self.Func, self.Instance, self.Module, self.Store = Engine, Func, Instance, Module, Store
        self.ftype = FuncType([ValType.I32], [ValType.I32])
        # Signed artifacts, as a validator loads them (the HMAC check is part of the latency).
        self.engine = Engine(artifact_key=os.urandom(32))

    def serialize(self, wasm: bytes) -> bytes:
        return bytes(self.Module(self.engine, wasm).serialize())

    def deserialize(self, blob: bytes) -> Any:
        return self.Module.deserialize(self.engine, blob)

    def instantiate(self, module: Any) -> Any:
        store = self.Store(self.engine)
        h = self.Func(store, self.ftype, lambda x: x)
        return self.Instance(store, module, {"env": {"h": h}})

    def export(self, inst: Any, name: str) -> Callable[..., Any]:
        f = inst.exports[name]
        return f  # type: ignore[no-any-return]


class _Wasmtime:
    name = "wasmtime"

    def __init__(self) -> None:
        import wasmtime

        self.w = wasmtime
        self.engine = wasmtime.Engine()
        self.ftype = wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()])

    def serialize(self, wasm: bytes) -> bytes:
        return bytes(self.w.Module(self.engine, wasm).serialize())

    def deserialize(self, blob: bytes) -> Any:
        return self.w.Module.deserialize(self.engine, blob)

    def instantiate(self, module: Any) -> Any:
        store = self.w.Store(self.engine)
        h = self.w.Func(store, self.ftype, lambda x: x)
        inst = self.w.Instance(store, module, [h])
        return store, inst

    def export(self, inst: Any, name: str) -> Callable[..., Any]:
        store, i = inst
        f = i.exports(store)[name]
        return lambda *a: f(store, *a)


def _instantiate_and_call(p: Any, module: Any) -> None:
    p.export(p.instantiate(module), "run")()


def _load_and_call(p: Any, blob: bytes) -> None:
    p.export(p.instantiate(p.deserialize(blob)), "run")()


def _record(res: dict[str, float], step: str, medians: dict[str, float]) -> dict[str, float]:
    for peer, v in medians.items():
        res[f"{peer} {step}"] = v
    return medians


def run(quick: bool = False, clock: str = "cpu") -> str:
    global _clock
    _clock = _CLOCKS[clock]
    sizes = [("tiny", 0), ("~100 kB", 100_000), ("~1 MB", 1_000_000)]
    reps = {0: 300, 100_000: 60, 1_000_000: 20}
    if quick:
        reps = {k: max(3, v // 10) for k, v in reps.items()}
    peers: list[Any] = [_Nearvm()]
    try:
        peers.append(_Wasmtime())
    except ImportError:
        print("bench_latency: wasmtime not installed; nearvm only", file=sys.stderr)
    rows: list[tuple[str, dict[str, float]]] = []
    for label, target in sizes:
        wasm = _wat2wasm(_module_wat(target))
        label = f"{label} ({len(wasm) / 1000:.0f} kB wasm)"
        n = reps[target]
        res: dict[str, float] = {}
        blobs = {p.name: p.serialize(wasm) for p in peers}
        for p in peers:
            res[f"{p.name} blob kB"] = len(blobs[p.name]) / 1000
        modules = {p.name: p.deserialize(blobs[p.name]) for p in peers}
        deser = {p.name: functools.partial(p.deserialize, blobs[p.name]) for p in peers}
        inst = {p.name: functools.partial(p.instantiate, modules[p.name]) for p in peers}
        call = {p.name: functools.partial(_instantiate_and_call, p, modules[p.name]) for p in peers}
        total = {p.name: functools.partial(_load_and_call, p, blobs[p.name]) for p in peers}
        _record(res, "deserialize", _medians(deser, n))
        _record(res, "deserialize, all kept", _medians(deser, n, keep=True))
        t_inst = _record(res, "instantiate", _medians(inst, n))
        t_call = _medians(call, n)
        _record(res, "first call", {k: max(0.0, v - t_inst[k]) for k, v in t_call.items()})
        _record(res, "total", _medians(total, n))
        rows.append((label, res))
    # Call overheads (tiny module): export from Python, host function from wasm.
    calls: dict[str, float] = {}
    wasm = _wat2wasm(_module_wat(0))
    iters = 2_000 if quick else 20_000
    for p in peers:
        instance = p.instantiate(p.deserialize(p.serialize(wasm)))
        f = p.export(instance, "id")
        t = _median(lambda f=f: [f(1) for _ in range(iters)], 5)
        calls[f"{p.name} export call"] = t / iters
        loop = p.export(instance, "hostloop")
        t = _median(lambda loop=loop: loop(iters), 5)
        calls[f"{p.name} host call"] = t / iters
    return _format(rows, calls, [p.name for p in peers], clock)


def _us(s: float) -> str:
    return f"{s * 1e6:,.1f} µs"


def _format(rows: list[tuple[str, dict[str, float]]], calls: dict[str, float], names: list[str],
            clock: str = "cpu") -> str:
    both = len(names) == 2
    what = "process CPU time" if clock == "cpu" else "wall clock"
    out = [f"## Artifact latency: deserialize → instantiate → call (medians, {what})", ""]
    hdr = "| module | step | " + " | ".join(names) + (" | ratio nearvm/wasmtime |" if both else " |")
    out += [hdr, "|" + "---|" * (hdr.count("|") - 1)]
    for label, res in rows:
        for step in ("deserialize", "deserialize, all kept", "instantiate", "first call", "total"):
            vals = [res[f"{n} {step}"] for n in names]
            ratio = f" | {vals[0] / vals[1]:.2f}" if both and vals[1] > 0 else (" | n/a" if both else "")
            out.append(f"| {label} | {step} | " + " | ".join(_us(v) for v in vals) + ratio + " |")
        sizes = [res[f"{n} blob kB"] for n in names]
        out.append(f"| {label} | artifact size | " + " | ".join(f"{s:,.0f} kB" for s in sizes)
                   + (f" | {sizes[0] / sizes[1]:.2f}" if both else "") + " |")
    out += ["", f"## Call overhead (per call, medians, {what})", "",
            "| call | " + " | ".join(names) + (" | ratio |" if both else " |"),
            "|---|" + "---|" * (len(names) + (1 if both else 0))]
    for what in ("export call", "host call"):
        vals = [calls[f"{n} {what}"] for n in names]
        label = "export from Python" if what == "export call" else "host function from wasm"
        out.append(f"| {label} | " + " | ".join(_us(v) for v in vals)
                   + (f" | {vals[0] / vals[1]:.2f}" if both else "") + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--clock", choices=sorted(_CLOCKS), default="cpu",
                    help="process CPU time (default) or wall clock")
    args = ap.parse_args(argv)
    print(run(quick=args.quick, clock=args.clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
