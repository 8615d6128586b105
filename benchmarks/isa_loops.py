"""Generated instruction counts of the benchmark kernels' innermost loops, aarch64 next to x86_64.

``PYTHONPATH=python python -m benchmarks.isa_loops`` compiles every built workload (benchmarks/
.work/build/*.wasm, see build.py) for both ISAs on this host (compile-only: code for another ISA is
generated, never run) and prints, per workload, the innermost loops found in both listings in code
order: a loop is a label some later branch jumps back to; innermost = containing no other loop.
Both backends come from the same ISA-neutral codegen, so the loops correspond one to one. Counts
are instructions (asmjit listing lines), unmetered and metered (GAS) builds.
"""

from __future__ import annotations

import ctypes
import re
import sys
from pathlib import Path

import nearvm._native as _native_mod

from nearvm.config import Config, GasSchedule
from nearvm.wasm import translate

from .build import BUILD_DIR

_ISA = {"x86_64": 1, "aarch64": 2}
_LABEL = re.compile(r"^(L\d+):$")
_NAN_CHECK = re.compile(r"^(jp|b\.vs)\s")
_BRANCH = re.compile(r"^(?:short\s+)?(?:j\w*|b(?:\.\w+)?|cbn?z|tbn?z)\s+(?:\w+,\s*)*(L\d+)\b")


def _listing(program: bytes, isa: str) -> str:
    lib = ctypes.CDLL(str(Path(_native_mod.__file__)))
    fn = lib.nvm_jit_test_compile_for
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint64),
                   ctypes.c_char_p, ctypes.c_size_t]
    size = 1 << 24
    buf = ctypes.create_string_buffer(size)
    need = ctypes.c_size_t(0)
    stats = (ctypes.c_uint64 * 4)()
    if not fn(_ISA[isa], 1, program, len(program), 1, buf, size, ctypes.byref(need), stats, None, 0):
        raise RuntimeError(f"{isa}: {buf.value.decode()}")
    return buf.value.decode()


def innermost_loops(listing: str) -> list[int]:
    """Instruction counts of the innermost loops, in code order."""
    lines = [ln.split(";")[0].strip() for ln in listing.splitlines()]
    insns: list[str] = []
    label_at: dict[str, int] = {}
    for ln in lines:
        if not ln or ln.startswith((".", "align")):
            continue
        m = _LABEL.match(ln)
        if m:
            label_at[m.group(1)] = len(insns)
        else:
            insns.append(ln)
    spans = []
    for i, ins in enumerate(insns):
        m = _BRANCH.match(ins)
        if not (m and m.group(1) in label_at and label_at[m.group(1)] <= i):
            continue
        start = label_at[m.group(1)]
        # Not loops: the return point of an out-of-line NaN fix-up (bound right after the
        # `jp`/`b.vs` to the fix-up) and aarch64's zero-fill loop of a large frame (x64: rep stos).
        if start > 0 and _NAN_CHECK.match(insns[start - 1]):
            continue
        if insns[start].startswith("stp xzr, xzr"):
            continue
        spans.append((start, i))
    inner = [s for s in spans if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in spans)]
    return [b - a + 1 for a, b in sorted(set(inner))]


def _each(counts: list[int]) -> str:
    return ", ".join(map(str, counts[:6])) + (", ..." if len(counts) > 6 else "")


def main() -> int:
    wasms = sorted(BUILD_DIR.glob("*.wasm"))
    if not wasms:
        print("no workloads built: run `python -m benchmarks --quick` (or build.build_all()) first", file=sys.stderr)
        return 1
    print("| workload | build | innermost loops | x86_64 insns (each) | aarch64 insns (each) | a64/x64 |")
    print("|---|---|---|---|---|---|")
    for w in wasms:
        for label, cfg in (("plain", Config()), ("metered", Config(gas=GasSchedule.uniform(1)))):
            program = bytes(translate(w.read_bytes(), cfg).program)
            x = innermost_loops(_listing(program, "x86_64"))
            a = innermost_loops(_listing(program, "aarch64"))
            ratio = f"{sum(a) / sum(x):.2f}" if x and len(x) == len(a) else "n/a"
            note = "" if len(x) == len(a) else " (loop counts differ)"
            print(f"| {w.stem} | {label} | {len(x)}{note} | {sum(x)} ({_each(x)}) | {sum(a)} ({_each(a)}) | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
