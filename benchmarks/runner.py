"""The orchestrator: builds the workloads, probes the peers and runs every cell in a worker
subprocess with a timeout. Produces the raw results dict that report.py renders and saves."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import build, peers, wasmgen
from .workloads import WORKLOADS

REPO = Path(__file__).resolve().parent.parent
GEN_DIR = build.WORK_DIR / "gen"
SCHEMA = 1


@dataclass
class Plan:
    quick: bool
    peers: tuple[str, ...] = peers.PEERS
    workloads: tuple[str, ...] = tuple(w.name for w in WORKLOADS)
    shapes: tuple[str, ...] = wasmgen.SHAPES
    scaling: bool = True
    reps: int = 5
    warmup: int = 1
    exec_budget_s: float = 30.0
    sizes: tuple[int, ...] = ()
    load_reps: int = 20
    fit_min_size: int = 100_000
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(quick=True, reps=3, warmup=1, exec_budget_s=8.0, sizes=(10_000, 100_000, 1_000_000),
                       load_reps=10)
        return cls(quick=False, reps=7, warmup=2, exec_budget_s=40.0,
                   sizes=(10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000), load_reps=30)

    def compile_reps(self, size: int) -> int:
        if size >= 3_000_000:
            return 1
        if size >= 1_000_000:
            return 1 if self.quick else 2
        return 3 if self.quick else 5


# Shapes known to blow a peer up: recorded as SKIPPED with the reason instead of being run.
# Measured on the 2-core dev box with wasmtime 50 (parallel compilation off): Cranelift compiles one
# ordinary-code function superlinearly (0.48 s at 130 kB, 8.8 s at 1 MB; a 4 MiB function takes
# minutes).
BLOWUPS: list[tuple[str, str, int, str]] = [
    ("wasmtime-cranelift", "huge_func", 2_000_000,
     "known blow-up: Cranelift is superlinear on one huge function (8.8 s at 1 MB; minutes at 4 MiB)"),
]


# --quick only: cells that would take most of the 3-minute budget on their own.
QUICK_SKIPS: list[tuple[str, str, int, str]] = [
    ("wasmtime-cranelift", "huge_func", 500_000, "--quick: Cranelift needs ~10 s for a 1 MB single function"),
]


def blowup_reason(peer: str, shape: str, size: int, quick: bool = False) -> str | None:
    for p, s, limit, why in BLOWUPS + (QUICK_SKIPS if quick else []):
        if p == peer and s == shape and size >= limit:
            return why
    return None


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    parts = [str(REPO / "python"), str(REPO)]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_worker(task: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Runs one task in a fresh interpreter. Never raises: every outcome is a status."""
    cmd = [sys.executable, "-m", "benchmarks.worker"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, input=json.dumps(task), capture_output=True, text=True, timeout=timeout,
                           env=_env(), cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"status": "TIMEOUT", "reason": f"no result within {timeout:.0f} s", "wall_s": timeout}
    wall = time.perf_counter() - t0
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    how = f"signal {-r.returncode}" if r.returncode < 0 else f"exit code {r.returncode}"
    res: dict[str, Any] | None = None
    if lines:
        try:
            res = json.loads(lines[-1])
        except json.JSONDecodeError:
            res = None
    if res is None or "status" not in res:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        return {"status": "FAILED", "reason": f"worker died ({how}): {' | '.join(tail)[:400]}", "wall_s": wall}
    if r.returncode != 0:
        # the measurement finished and was reported, then the process crashed while exiting (e.g. a
        # runtime's finalizers at interpreter shutdown): keep the data, flag the crash loudly
        res["teardown_crash"] = f"worker {how} after reporting its result"
    res["wall_s"] = wall
    return res


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=str(REPO),
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "loadavg_at_start": list(load) if load else None,
        "toolchain": build.toolchain_versions(),
        "git_commit": _git_commit(),
    }


class Run:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.t_start = time.perf_counter()
        self.cells: list[dict[str, Any]] = []
        self.cells_by_key: dict[str, dict[str, Any]] = {}
        self.peer_info: dict[str, dict[str, Any]] = {}
        self.workload_info: dict[str, dict[str, Any]] = {}

    def _log_cell(self, cell: dict[str, Any]) -> None:
        el = time.perf_counter() - self.t_start
        extra = ""
        if cell["status"] == "ok" and cell.get("samples"):
            s = sorted(cell["samples"])
            extra = f"median {s[len(s) // 2] * 1e3:.2f} ms"
        else:
            extra = cell.get("reason", "")
        if cell.get("teardown_crash"):
            extra += f"  [!! {cell['teardown_crash']}]"
        log(f"[{el:6.1f}s] {cell['key']:<48} {cell['status']:<8} {extra}")

    def add(self, key: str, kind: str, meta: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
        cell = {"key": key, "kind": kind, **meta, **res}
        if cell.get("status") == "ok":
            cell.pop("traceback", None)
        self.cells.append(cell)
        self.cells_by_key[key] = cell
        self._log_cell(cell)
        return cell

    # ------------------------------------------------------------------ phases

    def probe(self) -> None:
        wanted = list(self.plan.peers)
        if "nearvm" in wanted:
            wanted.append(peers.FRONTEND)
        for p in wanted:
            res = run_worker({"kind": "probe", "peer": p}, timeout=60)
            self.peer_info[p] = res
            log(f"peer {p:<20} {res['status']:<8} {res.get('version') or res.get('reason', '')}")

    def peer_ok(self, p: str) -> bool:
        return self.peer_info.get(p, {}).get("status") == "ok"

    def _unavailable(self, p: str) -> dict[str, Any]:
        info = self.peer_info.get(p, {"status": "MISSING", "reason": "not probed"})
        return {"status": info["status"], "reason": info.get("reason", "")}

    def build(self) -> dict[str, build.BuiltWorkload]:
        ws = tuple(w for w in WORKLOADS if w.name in self.plan.workloads)
        built = build.build_all(ws)
        for name, bw in built.items():
            self.workload_info[name] = {
                "what": bw.workload.what,
                "n": bw.workload.n(self.plan.quick),
                "wasm_size": bw.wasm.stat().st_size if bw.wasm else None,
                "errors": bw.errors,
                "exec_table": bw.workload.exec_table,
            }
            if bw.errors:
                log(f"build {name}: {'; '.join(bw.errors)}")
        return built

    def exec_cells(self, built: dict[str, build.BuiltWorkload]) -> None:
        plan = self.plan
        timeout = plan.exec_budget_s * 2 + (10 if plan.quick else 30)
        for name, bw in built.items():
            w = bw.workload
            variants: list[tuple[str, bool]] = [(p, False) for p in plan.peers]
            if w.exec_table and (w.metered_in_quick or not plan.quick):
                variants += [(p, True) for p in plan.peers if p in peers.METERED_PEERS]
            kind = "exec" if w.exec_table else "hostcall"
            for p, metering in variants:
                key = f"{kind}{'-metered' if metering else ''}/{name}/{p}"
                meta = {"workload": name, "peer": p, "metering": metering, "n": w.n(plan.quick)}
                if kind == "hostcall" and p == "native":
                    self.add(key, kind, meta, {"status": "N/A", "reason": "native code has no host boundary"})
                    continue
                if not self.peer_ok(p):
                    self.add(key, kind, meta, self._unavailable(p))
                    continue
                art = bw.native if p == "native" else bw.wasm
                if art is None:
                    self.add(key, kind, meta, {"status": "FAILED", "reason": "build failed: " + "; ".join(bw.errors)})
                    continue
                plain = self.cells_by_key.get(f"{kind}/{name}/{p}") if metering else None
                if plain is not None and plain["status"] == "TIMEOUT":
                    self.add(key, kind, meta, {"status": "SKIPPED", "reason": "the unmetered run timed out"})
                    continue
                task = {"kind": "exec", "peer": p, "metering": metering, "n": w.n(plan.quick),
                        "warmup": plan.warmup, "reps": plan.reps, "budget_s": plan.exec_budget_s,
                        "host": kind == "hostcall", "wasm": str(bw.wasm), "native": str(bw.native)}
                self.add(key, kind, meta, run_worker(task, timeout))
            self._check_checksums(name)

    def _check_checksums(self, workload: str) -> None:
        """Every runtime must agree; a disagreeing cell is FAILED, not a data point."""
        cells = [c for c in self.cells if c.get("workload") == workload and c["kind"] in ("exec", "hostcall")
                 and c["status"] == "ok"]
        if not cells:
            return
        ref = None
        for p in ("native", "wasmtime-cranelift", "wasmtime-winch"):
            ref = next((c for c in cells if c["peer"] == p and not c["metering"]), None)
            if ref:
                break
        ref = ref or cells[0]
        self.workload_info[workload]["checksum"] = ref["checksum"]
        self.workload_info[workload]["checksum_reference"] = ref["peer"]
        for c in cells:
            if c["checksum"] != ref["checksum"]:
                c["status"] = "FAILED"
                c["reason"] = f"checksum mismatch: {c['checksum']} != {ref['checksum']} ({ref['peer']})"
                log(f"  !! {c['key']}: {c['reason']}")

    def compile_workloads(self, built: dict[str, build.BuiltWorkload]) -> None:
        paths = [str(bw.wasm) for bw in built.values() if bw.wasm]
        names = [n for n, bw in built.items() if bw.wasm]
        comp_peers = [p for p in self.plan.peers if p != "native"]
        if "nearvm" in comp_peers:
            comp_peers.insert(comp_peers.index("nearvm"), peers.FRONTEND)
        for p in comp_peers:
            meta = {"peer": p}
            if not self.peer_ok(p):
                for n in names:
                    self.add(f"compile/{n}/{p}", "compile", {**meta, "workload": n}, self._unavailable(p))
                continue
            res = run_worker({"kind": "compile", "peer": p, "wasms": paths, "reps": 5 if self.plan.quick else 10,
                              "budget_s": 30}, timeout=120)
            if res["status"] != "ok":
                for n in names:
                    self.add(f"compile/{n}/{p}", "compile", {**meta, "workload": n}, res)
                continue
            for n, f in zip(names, res["files"], strict=True):
                self.add(f"compile/{n}/{p}", "compile", {**meta, "workload": n},
                         {"status": "ok", "samples": f["samples"], "size": f["size"],
                          "lazy": p == "wasm3"})

    def scaling(self) -> None:
        if not self.plan.scaling:
            return
        sc_peers = [p for p in ("wasmtime-cranelift", "wasmtime-winch") if p in self.plan.peers]
        if "nearvm" in self.plan.peers:
            sc_peers += [peers.FRONTEND, "nearvm"]
        gave_up: dict[tuple[str, str], str] = {}  # (shape, peer) -> status; larger sizes are not tried
        for shape in self.plan.shapes:
            for target in self.plan.sizes:
                path = wasmgen.generated_path(shape, target, GEN_DIR)
                size = path.stat().st_size
                for p in sc_peers:
                    key = f"scale/{shape}/{target}/{p}"
                    meta = {"shape": shape, "target": target, "size": size, "peer": p}
                    if not self.peer_ok(p):
                        self.add(key, "scale", meta, self._unavailable(p))
                        continue
                    why = blowup_reason(p, shape, size, self.plan.quick)
                    if why is None and (shape, p) in gave_up:
                        why = f"a smaller {shape} module already ended {gave_up[(shape, p)]}"
                    if why:
                        self.add(key, "scale", meta, {"status": "SKIPPED", "reason": why})
                        continue
                    reps = self.plan.compile_reps(size)
                    budget = 30.0 if self.plan.quick else 120.0
                    res = run_worker({"kind": "compile", "peer": p, "wasm": str(path), "reps": reps,
                                      "budget_s": budget}, timeout=budget * 1.5 + 30)
                    res.pop("files", None)
                    if res["status"] in ("TIMEOUT", "FAILED"):
                        gave_up[(shape, p)] = res["status"]
                    self.add(key, "scale", meta, res)

    def load_latency(self, built: dict[str, build.BuiltWorkload]) -> None:
        bw = built.get("fib")
        if bw is None or bw.wasm is None:
            return
        for p in self.plan.peers:
            key = f"load/fib/{p}"
            meta = {"peer": p, "workload": "fib", "n": 10}
            if p == "native":
                self.add(key, "load", meta, {"status": "N/A", "reason": "a shared library is loaded once per process"})
                continue
            if not self.peer_ok(p):
                self.add(key, "load", meta, self._unavailable(p))
                continue
            res = run_worker({"kind": "load", "peer": p, "wasm": str(bw.wasm), "n": 10, "reps": self.plan.load_reps},
                             timeout=120)
            if res["status"] == "ok":
                res["samples"] = res["total_s"]
            self.add(key, "load", meta, res)

    def execute(self) -> dict[str, Any]:
        started = _dt.datetime.now(_dt.timezone.utc)
        info = machine()
        log(f"nearvm benchmarks ({'quick' if self.plan.quick else 'full'}) on {info['cpu']} x{info['cores']}")
        built = self.build()
        self.probe()
        self.exec_cells(built)
        self.compile_workloads(built)
        self.load_latency(built)
        self.scaling()
        info["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        return {
            "schema": SCHEMA,
            "started": started.isoformat(timespec="seconds"),
            "duration_s": time.perf_counter() - self.t_start,
            "mode": "quick" if self.plan.quick else "full",
            "plan": {"reps": self.plan.reps, "warmup": self.plan.warmup, "sizes": list(self.plan.sizes),
                     "shapes": list(self.plan.shapes), "exec_budget_s": self.plan.exec_budget_s,
                     "fit_min_size": self.plan.fit_min_size},
            "machine": info,
            "peers": self.peer_info,
            "workloads": self.workload_info,
            "skip_rules": [{"peer": p, "shape": s, "min_size": m, "reason": r} for p, s, m, r in BLOWUPS],
            "cells": self.cells,
        }
