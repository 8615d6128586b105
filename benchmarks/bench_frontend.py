"""Frontend speed: decode + validate + gas + lowering (``nearvm.wasm.translate``) against Wasmtime Winch.

Usage: ``PYTHONPATH=python python benchmarks/bench_frontend.py [--max-size 10000000] [--repeat 3]``

1. A realistic multi-hundred-kB module: C generated here (loops, switches, hashing, sorting,
   float math) compiled with ``clang --target=wasm32 -O2`` (cached under benchmarks/.work/);
   without clang, the test contract is used. Reported: frontend time (``Config()`` and
   ``Config.near()``), Winch's compile time, and the split of ``nearvm.Module(engine, bytes)``
   into frontend and C compile (JIT).
2. Adversarial shapes from 10 kB up to ``--max-size`` bytes (10 kB, 100 kB, 1 MB, 10 MB): deep
   nesting, br_tables, 50,000 locals per function, one huge function, many types, long names,
   many tiny functions. Per point: ms/MiB, MB/s, Winch's ms/MiB on the same bytes and the ratio;
   per shape: the fitted log-log slope of time against size (1.00 = linear).

Times are CPU time (``time.process_time``), the median of ``--repeat`` runs (points of 5 MB and
more run once), because the benchmark machines are shared. Winch runs single-threaded in a child
process with a time cap (``--winch-timeout``): once a shape's Winch point hits the cap, its larger
points are not tried. The figures are for comparing nearvm and Winch *in the same run*.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT))

from benchmarks.wasmgen import section, uleb, vec  # noqa: E402
from nearvm.config import Config  # noqa: E402
from nearvm.wasm import translate  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
MiB = 1 << 20


def module(types: list[bytes], func_types: list[int], bodies: list[bytes], extra: bytes = b"") -> bytes:
    out = b"\x00asm\x01\x00\x00\x00" + section(1, vec(types)) + section(3, vec([uleb(t) for t in func_types]))
    out += section(5, b"\x01\x00\x01")  # one memory, so loads validate
    out += extra
    out += section(10, vec([uleb(len(b)) + b for b in bodies]))
    return out


VOID = b"\x60\x00\x00"
I32_TO_I32 = b"\x60\x01\x7f\x01\x7f"


# ---- realistic module ---------------------------------------------------------------------------

def _c_source(n_funcs: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    parts = ["typedef unsigned int u32; typedef unsigned long long u64; extern unsigned char mem[1<<20];\n"
             "static u32 g_state = 1;\n"]
    for i in range(n_funcs):
        k = rnd.randrange(6)
        a, b, c = rnd.randrange(1, 1000), rnd.randrange(1, 1000), rnd.randrange(1, 97)
        if k == 0:
            parts.append(f"u32 f{i}(u32 n, u32 x) {{ u32 s = {a}; for (u32 j = 0; j < n; j++) {{ s = s * {b} + "
                         f"(x ^ j); if (s & {c}) s ^= s >> 3; else s += mem[(j*{c}) & 0xffff]; }} return s; }}\n")
        elif k == 1:
            parts.append(f"u64 f{i}(u64 x, u32 n) {{ u64 h = {a}ull; while (n--) {{ h ^= x + {b}; "
                         f"h *= 0x100000001b3ull; x = (x << 7) | (x >> 57); if (h % {c} == 3) break; }} return h; }}\n")
        elif k == 2:
            cases = "".join(f"case {j}: r = r * {rnd.randrange(2, 99)} + {rnd.randrange(100)}; break; "
                            for j in range(rnd.randrange(4, 20)))
            parts.append(f"u32 f{i}(u32 op, u32 r) {{ switch (op) {{ {cases} default: r = {a}; }} "
                         f"return r ^ g_state; }}\n")
        elif k == 3:
            parts.append(f"double f{i}(double x, double y, int n) {{ double s = {a}.5; for (int j = 0; j < n; j++) "
                         f"{{ s += x * y / (j + {b}.0); if (s > {c}e3) s = s - x; y = y * 0.5 + s; }} return s; }}\n")
        elif k == 4:
            parts.append(f"void f{i}(u32 *p, u32 n) {{ for (u32 j = 1; j < n; j++) {{ u32 v = p[j]; u32 k = j; "
                         f"while (k > 0 && p[k-1] > v) {{ p[k] = p[k-1]; k--; }} p[k] = v + {a}; }} "
                         f"g_state += n * {b}; }}\n")
        else:
            parts.append(f"u32 f{i}(const unsigned char *s, u32 n) {{ u32 h = {a}; for (u32 j = 0; j < n; j++) "
                         f"{{ unsigned char ch = s[j]; if (ch >= 'a' && ch <= 'z') h = h * 31 + ch - {c}; "
                         f"else if (ch == ' ') h ^= {b}; else h += ch << (j & 7); }} return h; }}\n")
    return "".join(parts)


def realistic_module(n_funcs: int = 2500) -> tuple[str, bytes]:
    clang = shutil.which("clang")
    if clang is None:
        p = Path("/work/shared/near/contracts/test_contract_ts.wasm")
        return p.name, p.read_bytes()
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / f"realistic_{n_funcs}.wasm"
    if not out.exists():
        src = WORK / f"realistic_{n_funcs}.c"
        src.write_text(_c_source(n_funcs))
        subprocess.run([clang, "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-all",
                        "-Wl,--allow-undefined", "-o", str(out), str(src)], check=True)
    return f"clang -O2 C ({n_funcs} functions)", out.read_bytes()


# ---- adversarial shapes (each returns a module of about `size` bytes) ----------------------------

def deep_nesting(size: int) -> bytes:
    n = max(1, size // 3)
    body = b"\x00" + b"\x02\x40" * n + b"\x0b" * n + b"\x0b"
    return module([VOID], [0], [body])


def br_table(size: int) -> bytes:
    # br_tables of 60,000 targets each (Winch rejects more than 65,520 per br_table), each in its
    # own two blocks so that all of them are live code: ~1 byte per target.
    chunk = 60_000
    n_total = max(1, size)
    parts = [b"\x00"]
    while n_total > 0:
        n = min(chunk, n_total)
        n_total -= n
        parts.append(b"\x02\x40\x02\x40\x41\x00\x0e" + uleb(n) + b"\x00\x01" * (n // 2) + b"\x01" * (n % 2)
                     + b"\x00\x0b\x0b")
    parts.append(b"\x0b")
    return module([VOID], [0], [b"".join(parts)])


def many_locals(size: int) -> bytes:
    # 50,000 i64 locals per function, each function touches its last local.
    unit = b"\x01" + uleb(50_000) + b"\x7e" + b"\x20" + uleb(49_999) + b"\x1a\x0b"
    n = max(1, size // (len(unit) + 2))
    return module([VOID], [0] * n, [unit] * n)


def huge_function(size: int) -> bytes:
    unit = b"\x20\x00\x41\x07\x6a\x20\x00\x28\x02\x00\x6c\x21\x00"  # x = (x + 7) * load(x)
    n = max(1, size // len(unit))
    body = b"\x00" + unit * n + b"\x20\x00\x0b"
    return module([I32_TO_I32], [0], [body])


def many_types(size: int) -> bytes:
    n = max(1, size // 8)
    types = [b"\x60\x03" + bytes([0x7F, 0x7E, 0x7D][:3]) + b"\x01" + bytes([0x7F - (i % 4)]) for i in range(n)]
    return module(types + [VOID], [n], [b"\x00\x0b"])


def long_names(size: int) -> bytes:
    name = ("x" * 1000).encode()
    n = max(1, size // 1010)
    exports = vec([uleb(len(name) + 8) + name + f"{i:08d}".encode() + b"\x00\x00" for i in range(n)])
    return module([VOID], [0], [b"\x00\x0b"], section(7, exports))


def tiny_functions(size: int) -> bytes:
    # The fixed cost per function: ~4 bytes each (a type index and an empty body).
    n = max(1, size // 4)
    return module([VOID], [0] * n, [b"\x00\x0b"] * n)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "deep_nesting": deep_nesting,
    "br_table": br_table,
    "many_locals": many_locals,
    "huge_function": huge_function,
    "many_types": many_types,
    "long_names": long_names,
    "tiny_functions": tiny_functions,
}


# ---- timing ---------------------------------------------------------------------------------------

def cpu_median(fn: Callable[[], object], repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        ts.append(time.process_time() - t)
    return statistics.median(ts)


def time_nearvm(data: bytes, config: Config, repeat: int) -> float:
    return cpu_median(lambda: translate(data, config), repeat)


_WINCH_CHILD = r"""
import statistics, sys, time, wasmtime
cfg = wasmtime.Config()
wasmtime._ffi.wasmtime_config_strategy_set(cfg.ptr(), 2)  # Winch
cfg.parallel_compilation = False
engine = wasmtime.Engine(cfg)
data = open(sys.argv[1], "rb").read()
ts = []
for _ in range(int(sys.argv[2])):
    t = time.process_time()
    wasmtime.Module(engine, data)
    ts.append(time.process_time() - t)
    if sum(ts) > float(sys.argv[3]):  # a slow point runs fewer times rather than hit the cap
        break
print(statistics.median(ts))
"""


def winch_available() -> bool:
    try:
        import wasmtime
    except ImportError:
        return False
    return hasattr(wasmtime, "_ffi") and hasattr(wasmtime._ffi, "wasmtime_config_strategy_set")


def winch_compile_time(data: bytes, repeat: int, timeout: float) -> float | str:
    """Winch's single-threaded compile CPU time (median), or why there is none ("timeout", an error)."""
    with tempfile.NamedTemporaryFile(suffix=".wasm", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        res = subprocess.run([sys.executable, "-c", _WINCH_CHILD, path, str(repeat), str(timeout / 3)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        os.unlink(path)
    if res.returncode != 0:
        err = res.stderr
        if "exceeds limit" in err or "implementation limit" in err:
            return "over limit"  # Wasmtime's own limits (e.g. 7,654,321 body bytes, 1,000,000 types)
        return "error"
    return float(res.stdout.strip())


def loglog_slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(size): 1.0 = linear, 2.0 = quadratic."""
    pts = [(math.log(x), math.log(y)) for x, y in points if y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts) or 1.0
    return sum((x - mx) * (y - my) for x, y in pts) / den


def ms_per_mib(t: float, n: int) -> float:
    return t / (n / MiB) * 1000


def module_split(data: bytes, repeat: int) -> tuple[float, float, float] | None:
    """CPU time of ``nearvm.Module(engine, data)`` and of its two halves: frontend, then C compile."""
    try:
        from nearvm.runtime import Engine, Module
    except Exception:  # the native library is not built
        return None
    engine = Engine(Config())
    total = cpu_median(lambda: Module(engine, data), repeat)
    fe = cpu_median(lambda: translate(data, engine.config), repeat)
    info = translate(data, engine.config)
    jit = cpu_median(lambda: Module.from_info(engine, info), repeat)
    return total, fe, jit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-size", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-winch", action="store_true")
    ap.add_argument("--winch-timeout", type=float, default=30.0, help="seconds per Winch point (child process)")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args(argv)
    winch = not args.no_winch and winch_available()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}; CPU times, "
          f"median of {args.repeat}; Winch {'single-threaded, same run' if winch else 'not available'}")
    name, data = realistic_module()
    n = len(data)
    print(f"\nrealistic module: {name}, {n / 1000:.0f} kB")
    t_fe = time_nearvm(data, Config(), args.repeat)
    print(f"  nearvm frontend, Config():        {ms_per_mib(t_fe, n):7.0f} ms/MiB  {n / t_fe / 1e6:6.2f} MB/s")
    cfg_near = Config.near(max_function_body_size=None, max_module_size=None)
    t = time_nearvm(data, cfg_near, args.repeat)
    print(f"  nearvm frontend, Config.near():   {ms_per_mib(t, n):7.0f} ms/MiB  {n / t / 1e6:6.2f} MB/s  (gas on)")
    w = winch_compile_time(data, args.repeat, args.winch_timeout * 4) if winch else None
    if isinstance(w, float):
        print(f"  Winch compile (1 thread):         {ms_per_mib(w, n):7.0f} ms/MiB  {n / w / 1e6:6.2f} MB/s")
        print(f"  frontend / Winch = {t_fe / w:.2f}")
    split = module_split(data, args.repeat)
    if split is not None:
        total, fe, jit = split
        print(f"  nearvm.Module(): {ms_per_mib(total, n):.0f} ms/MiB = frontend {ms_per_mib(fe, n):.0f} "
              f"({fe / (fe + jit):.0%}) + C compile and setup {ms_per_mib(jit, n):.0f} ({jit / (fe + jit):.0%})"
              + (f"; Module()/Winch = {total / w:.2f}" if isinstance(w, float) else ""))
    sizes = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s <= args.max_size]
    print(f"\n{'shape':15s} {'size':>8s} {'ms/MiB':>8s} {'MB/s':>7s} {'Winch ms/MiB':>13s} {'ratio':>6s}")
    for shape in args.shapes.split(","):
        gen = SHAPES[shape]
        pts: list[tuple[int, float]] = []
        wpts: list[tuple[int, float]] = []
        winch_on = winch
        for size in sizes:
            d = gen(size)
            rep = args.repeat if size < 5_000_000 else 1
            t = time_nearvm(d, Config(), rep)
            pts.append((len(d), t))
            wcol, rcol = "-", "-"
            if winch_on:
                wt = winch_compile_time(d, rep, args.winch_timeout)
                if isinstance(wt, float):
                    wpts.append((len(d), wt))
                    wcol, rcol = f"{ms_per_mib(wt, len(d)):.0f}", f"{t / wt:.2f}"
                else:
                    wcol = wt
                    winch_on = False
            print(f"{shape:15s} {len(d) / 1000:7.0f}k {ms_per_mib(t, len(d)):8.0f} {len(d) / t / 1e6:7.2f} "
                  f"{wcol:>13s} {rcol:>6s}", flush=True)
        wslope = f", Winch {loglog_slope(wpts):.2f}" if len(wpts) >= 2 else ""
        print(f"{shape:15s} log-log slope {loglog_slope(pts):.2f}{wslope}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
