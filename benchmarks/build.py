"""Builds every workload to wasm32 (Debian clang + wasm-ld) and natively (host cc, -O2, .so).

Nothing built is committed: outputs go to ``benchmarks/.work/build`` and are rebuilt when the
sources are newer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .workloads import WORKLOAD_DIR, WORKLOADS, Workload

WORK_DIR = Path(__file__).resolve().parent / ".work"
BUILD_DIR = WORK_DIR / "build"


@dataclass
class BuiltWorkload:
    workload: Workload
    wasm: Path | None
    native: Path | None
    errors: list[str] = field(default_factory=list)


def _tool(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def toolchain() -> dict[str, str | None]:
    return {
        "clang": _tool("clang", "clang-14", "clang-15", "clang-16"),
        "wasm-ld": _tool("wasm-ld", "wasm-ld-14", "wasm-ld-15", "wasm-ld-16"),
        "cc": os.environ.get("CC") or _tool("cc", "gcc", "clang"),
    }


def _version(exe: str | None) -> str:
    if not exe:
        return "missing"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"error: {exc}"
    return out.splitlines()[0].strip() if out else "?"


def toolchain_versions() -> dict[str, str]:
    return {k: _version(v) for k, v in toolchain().items()}


def _stale(out: Path, inputs: list[Path]) -> bool:
    if not out.exists():
        return True
    t = out.stat().st_mtime
    return any(p.stat().st_mtime > t for p in inputs)


def _run(cmd: list[str]) -> str | None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{cmd[0]}: {exc}"
    if r.returncode != 0:
        return f"{' '.join(cmd)} failed: {(r.stderr or r.stdout).strip()[:400]}"
    return None


def build_all(workloads: tuple[Workload, ...] = WORKLOADS, build_dir: Path = BUILD_DIR) -> dict[str, BuiltWorkload]:
    build_dir.mkdir(parents=True, exist_ok=True)
    tc = toolchain()
    header = WORKLOAD_DIR / "bench.h"
    rt_src = WORKLOAD_DIR / "rt.c"
    rt_obj = build_dir / "rt.wasm.o"
    rt_err: str | None = None
    if tc["clang"] is None or tc["wasm-ld"] is None:
        rt_err = "clang/wasm-ld not found (apt-get install -y clang lld)"
    elif _stale(rt_obj, [rt_src, header]):
        rt_err = _run([tc["clang"], "--target=wasm32", "-O2", "-nostdlib", "-fno-builtin", "-c", str(rt_src),
                       "-o", str(rt_obj)])
    out: dict[str, BuiltWorkload] = {}
    for w in workloads:
        bw = BuiltWorkload(w, None, None)
        inputs = [w.source, header, Path(__file__)]
        # wasm
        wasm = build_dir / f"{w.name}.wasm"
        if rt_err:
            bw.errors.append(f"wasm: {rt_err}")
        else:
            assert tc["clang"] and tc["wasm-ld"]
            obj = build_dir / f"{w.name}.wasm.o"
            err = None
            if _stale(wasm, inputs + [rt_obj]):
                err = _run([tc["clang"], "--target=wasm32", "-O2", "-nostdlib", *w.wasm_flags, "-c", str(w.source),
                            "-o", str(obj)])
                if err is None:
                    err = _run([tc["wasm-ld"], "--no-entry", str(obj), str(rt_obj), "-o", str(wasm)])
            if err:
                bw.errors.append(f"wasm: {err}")
            else:
                bw.wasm = wasm
        # native
        so = build_dir / f"{w.name}.native.so"
        if tc["cc"] is None:
            bw.errors.append("native: no host C compiler")
        else:
            err = None
            if _stale(so, inputs):
                err = _run([tc["cc"], "-O2", "-fno-math-errno", "-shared", "-fPIC", "-o", str(so), str(w.source),
                            "-lm"])
            if err:
                bw.errors.append(f"native: {err}")
            else:
                bw.native = so
        out[w.name] = bw
    return out
