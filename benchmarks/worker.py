"""Worker subprocess: ``python -m benchmarks.worker`` reads one JSON task on stdin and prints one
JSON result line on stdout. The parent enforces the timeout and turns crashes into FAILED rows.

Task kinds:
  probe     {peer}                                   -> {version}
  exec      {peer, metering, wasm|native, n, warmup, reps, budget_s, host}
            -> {compile_s, instantiate_s, first_call_s, samples, checksum}
  compile   {peer, wasm|wasms, reps, budget_s}       -> {files: [{path, size, samples}], samples, size}
  load      {peer, wasm, n, reps}                    -> {deserialize_s, instantiate_s, call_s, total_s, blob_size}
"""

from __future__ import annotations

import gc
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import peers


def _now() -> float:
    return time.perf_counter()


def task_probe(t: dict[str, Any]) -> dict[str, Any]:
    a = peers.make(t["peer"], bool(t.get("metering")))
    return {"version": a.version()}


def task_exec(t: dict[str, Any]) -> dict[str, Any]:
    a = peers.make(t["peer"], bool(t.get("metering")))
    host = peers.host_inc if t.get("host") else None
    n = int(t["n"])
    res: dict[str, Any] = {}
    if isinstance(a, peers.NativeAdapter):
        t0 = _now()
        run = a.load(t["native"])
        res["compile_s"] = None
        res["instantiate_s"] = _now() - t0
    else:
        wasm = Path(t["wasm"]).read_bytes()
        t0 = _now()
        module = a.compile(wasm)
        t1 = _now()
        run = a.instantiate(module, host)
        t2 = _now()
        res["compile_s"] = t1 - t0
        res["instantiate_s"] = t2 - t1
    t0 = _now()
    first = run(n)
    first_s = _now() - t0
    res["first_call_s"] = first_s
    checks = {first}
    budget = float(t.get("budget_s", 60.0))
    warmup = int(t.get("warmup", 1))
    reps = int(t.get("reps", 5))
    # keep the whole cell inside the budget: fewer repetitions for slow peers, at least one
    per = max(first_s, 1e-6)
    if (warmup + reps) * per > budget:
        warmup = 0
        reps = max(1, min(reps, int(budget / per)))
    for _ in range(warmup):
        checks.add(run(n))
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(reps):
            t0 = _now()
            checks.add(run(n))
            samples.append(_now() - t0)
    finally:
        gc.enable()
    if len(checks) != 1:
        raise RuntimeError(f"checksum differs between calls: {sorted(hex(c) for c in checks)}")
    res["samples"] = samples
    res["warmup"] = warmup
    res["checksum"] = f"{first:#018x}"
    return res


def task_compile(t: dict[str, Any]) -> dict[str, Any]:
    """Compiles each file of ``wasms`` (or the single ``wasm``) ``reps`` times, fresh each time."""
    a = peers.make(t["peer"])
    paths = t.get("wasms") or [t["wasm"]]
    reps = int(t.get("reps", 3))
    budget = float(t.get("budget_s", 60.0)) / len(paths)
    files: list[dict[str, Any]] = []
    for path in paths:
        wasm = Path(path).read_bytes()
        samples: list[float] = []
        spent = 0.0
        want = reps
        i = 0
        while i < want:
            t0 = _now()
            m = a.compile(wasm)
            dt = _now() - t0
            del m
            samples.append(dt)
            spent += dt
            if i == 0 and dt * want > budget:
                want = max(1, int(budget / max(dt, 1e-9)))
            if spent > budget:
                break
            i += 1
        files.append({"path": path, "size": len(wasm), "samples": samples})
    return {"files": files, "samples": files[0]["samples"], "size": files[0]["size"]}


def task_load(t: dict[str, Any]) -> dict[str, Any]:
    a = peers.make(t["peer"])
    wasm = Path(t["wasm"]).read_bytes()
    n = int(t.get("n", 10))
    reps = int(t.get("reps", 10))
    out: dict[str, list[float]] = {"deserialize_s": [], "instantiate_s": [], "call_s": [], "total_s": []}
    blob: bytes | None = None
    if a.has_artifacts:
        blob = a.serialize(a.compile(wasm))
    for _ in range(reps + 1):  # the first round is a warm-up
        t0 = _now()
        module = a.deserialize(blob) if blob is not None else a.compile(wasm)
        t1 = _now()
        run = a.instantiate(module, None)
        t2 = _now()
        run(n)
        t3 = _now()
        for k, v in (("deserialize_s", t1 - t0), ("instantiate_s", t2 - t1), ("call_s", t3 - t2),
                     ("total_s", t3 - t0)):
            out[k].append(v)
    res: dict[str, Any] = {k: v[1:] for k, v in out.items()}
    res["blob_size"] = len(blob) if blob is not None else None
    res["note"] = None if blob is not None else "no artifact format: parse + load from .wasm (lazy compile)"
    return res


TASKS = {"probe": task_probe, "exec": task_exec, "compile": task_compile, "load": task_load}


def main() -> int:
    task = json.loads(sys.stdin.read())
    try:
        result = TASKS[task["kind"]](task)
        result["status"] = "ok"
    except peers.PeerMissing as exc:
        result = {"status": "MISSING", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - every failure becomes a row, never a crash of the harness
        tb = traceback.format_exc(limit=3)
        result = {"status": "FAILED", "reason": f"{type(exc).__name__}: {exc}"[:500], "traceback": tb[-2000:]}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
