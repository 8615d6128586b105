"""Frontend speed: decode + validate + gas + lowering (``nearvm.wasm.translate``) in ms per MiB.

Usage: ``PYTHONPATH=python python benchmarks/bench_frontend.py [--max-size 10000000] [--repeat 3]``

1. A realistic multi-hundred-kB module: C generated here (loops, switches, hashing, sorting,
   float math) compiled with ``clang --target=wasm32 -O2`` (cached under benchmarks/.work/);
   without clang, the test contract is used.
2. Adversarial shapes from 10 kB up to ``--max-size`` bytes: deep nesting, one huge br_table,
   50,000 locals per function, one huge function, many types, long names. For each: ms/MiB per
   size and the fitted slope (a least-squares fit of time against size; linear = constant ms/MiB).
3. If ``wasmtime`` is importable: Wasmtime Winch's single-threaded compile time on the same bytes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from nearvm.config import Config  # noqa: E402
from nearvm.wasm import translate  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
MiB = 1 << 20


def uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


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
    n = max(1, size // 2)
    body = b"\x00\x02\x40\x02\x40\x41\x00\x0e" + uleb(n) + b"\x00\x01" * (n // 2) + b"\x01" * (n % 2) + b"\x00"
    body += b"\x0b\x0b\x0b"
    return module([VOID], [0], [body])


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


SHAPES: dict[str, Callable[[int], bytes]] = {
    "deep_nesting": deep_nesting,
    "br_table": br_table,
    "many_locals": many_locals,
    "huge_function": huge_function,
    "many_types": many_types,
    "long_names": long_names,
}


# ---- timing ---------------------------------------------------------------------------------------

def time_nearvm(data: bytes, config: Config, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        translate(data, config)
        best = min(best, time.perf_counter() - t)
    return best


def winch_compile_time(data: bytes, repeat: int) -> float | None:
    try:
        import wasmtime
    except ImportError:
        return None
    cfg = wasmtime.Config()
    try:
        wasmtime._ffi.wasmtime_config_strategy_set(cfg.ptr(), 2)  # Winch
    except Exception:
        return None
    if hasattr(cfg, "parallel_compilation"):
        cfg.parallel_compilation = False
    engine = wasmtime.Engine(cfg)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            wasmtime.Module(engine, data)
        except Exception:
            return None
        best = min(best, time.perf_counter() - t)
    return best


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of seconds against bytes, in ms per MiB."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    num = sum((x - mx) * (y - my) for x, y in points)
    den = sum((x - mx) ** 2 for x, _ in points) or 1.0
    return num / den * MiB * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-size", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-winch", action="store_true")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    name, data = realistic_module()
    for label, cfg in (("Config()", Config()), ("Config.near() (gas on)", Config.near(max_function_body_size=None,
                                                                                          max_module_size=None))):
        t = time_nearvm(data, cfg, args.repeat)
        print(f"realistic [{name}] {len(data) / 1000:.0f} kB, {label}: {t * 1000:.1f} ms = "
              f"{t / (len(data) / MiB) * 1000:.1f} ms/MiB ({len(data) / t / 1e6:.2f} MB/s)")
    w = None if args.no_winch else winch_compile_time(data, args.repeat)
    if w is not None:
        t = time_nearvm(data, Config(), args.repeat)
        print(f"  wasmtime Winch (1 thread): {w * 1000:.1f} ms = {w / (len(data) / MiB) * 1000:.1f} ms/MiB; "
              f"nearvm/Winch = {t / w:.2f}")
    sizes = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s <= args.max_size]
    for shape in args.shapes.split(","):
        gen = SHAPES[shape]
        pts = []
        row = []
        for size in sizes:
            d = gen(size)
            t = time_nearvm(d, Config(), args.repeat if size < 5_000_000 else 1)
            pts.append((len(d), t))
            row.append(f"{len(d) / 1000:.0f}kB {t / (len(d) / MiB) * 1000:.0f}")
            if not args.no_winch and size == min(sizes[-1], 1_000_000):
                wt = winch_compile_time(d, 1)
                if wt is not None:
                    row.append(f"(Winch {wt / (len(d) / MiB) * 1000:.0f} ms/MiB, ratio {t / wt:.2f})")
        print(f"{shape:14s} ms/MiB: " + "  ".join(row) + f"  | fitted slope {slope(pts):.0f} ms/MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
