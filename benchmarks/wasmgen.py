"""A small binary wasm encoder and the synthetic module shapes for the compile-time scaling runs.

Modules are written straight in the binary format (no text round trip), deterministically, so the
same (shape, size) always gives the same bytes. Sizes are approximate (within a few percent).

Shapes:
  ordinary     many ~2 kB functions of mixed i32/i64/f64 arithmetic, loads/stores, if/block/loop, calls
  deep_nesting functions of up to 2000 nested blocks, each with a br_if to an outer label
  br_table     functions with 32 nested blocks and one br_table of up to 60k targets (Winch limit: 65520)
  many_locals  functions with 2000 i64 locals (all loaded from memory, so all live) and 1000 values
               live on the operand stack at once
  huge_func    the whole module is one function of ordinary code
"""

from __future__ import annotations

import random
from pathlib import Path

SHAPES: tuple[str, ...] = ("ordinary", "deep_nesting", "br_table", "many_locals", "huge_func")

I32, I64, F64 = 0x7F, 0x7E, 0x7C
EMPTY = 0x40


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def func_type(params: list[int], results: list[int]) -> bytes:
    return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])


def encode_module(types: list[bytes], func_types: list[int], bodies: list[bytes], memory_pages: int = 1,
                  exports: list[tuple[str, int]] | None = None) -> bytes:
    """bodies are complete function bodies (locals + code + end), without the size prefix."""
    out = bytearray(b"\x00asm\x01\x00\x00\x00")
    out += section(1, vec(types))
    out += section(3, vec([uleb(t) for t in func_types]))
    if memory_pages:
        out += section(5, vec([b"\x00" + uleb(memory_pages)]))
    if exports:
        out += section(7, vec([uleb(len(n)) + n.encode() + b"\x00" + uleb(i) for n, i in exports]))
    code = bytearray(uleb(len(bodies)))
    for b in bodies:
        code += uleb(len(b))
        code += b
    out += section(10, bytes(code))
    return bytes(out)


def locals_decl(groups: list[tuple[int, int]]) -> bytes:
    return vec([uleb(n) + bytes([t]) for n, t in groups])


# ---------------------------------------------------------------------------------------------
# statement generator for "ordinary" code: every statement leaves the operand stack unchanged.
# function type (i32, i32) -> i32; locals: 0-1 params, 2-7 i32, 8-9 i64, 10-11 f64

ORD_LOCALS = locals_decl([(6, I32), (2, I64), (2, F64)])
_I32_LOCALS = list(range(8))
_BINOPS_I32 = [0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x76]


def _lg(i: int) -> bytes:
    return b"\x20" + uleb(i)


def _ls(i: int) -> bytes:
    return b"\x21" + uleb(i)


def _stmt(rng: random.Random, nfuncs: int, depth: int) -> bytes:
    k = rng.randrange(10)
    a, b, c = rng.choice(_I32_LOCALS), rng.choice(_I32_LOCALS), rng.randrange(2, 8)
    if k <= 2:
        return _lg(a) + _lg(b) + bytes([rng.choice(_BINOPS_I32)]) + _ls(c)
    if k == 3:
        return _lg(a) + b"\x41" + sleb(rng.randrange(-5000, 5000)) + bytes([rng.choice(_BINOPS_I32)]) + _ls(c)
    if k == 4:  # i64
        x = rng.choice((8, 9))
        return _lg(x) + _lg(a) + b"\xad" + b"\x7e" + _ls(17 - x)
    if k == 5:  # f64
        x = rng.choice((10, 11))
        return _lg(x) + _lg(a) + b"\xb7" + b"\xa2" + _ls(21 - x)
    if k == 6:  # memory
        off = uleb(rng.randrange(0, 4096) & ~3)
        return (_lg(a) + b"\x41\xff\x1f\x71" + b"\x28\x02" + off + _ls(c)
                + _lg(b) + b"\x41\xff\x1f\x71" + _lg(a) + b"\x36\x02" + off)
    if k == 7 and depth < 4:  # if/else
        return (_lg(a) + b"\x04\x40" + _stmt(rng, nfuncs, depth + 1) + b"\x05" + _stmt(rng, nfuncs, depth + 1)
                + b"\x0b")
    if k == 8 and depth < 4:  # block with br_if / loop
        if rng.random() < 0.5:
            return b"\x02\x40" + _lg(a) + b"\x45\x0d\x00" + _stmt(rng, nfuncs, depth + 1) + b"\x0b"
        return b"\x03\x40" + _lg(c) + b"\x41\x01\x6b\x22" + uleb(c) + b"\x0d\x00\x0b"
    if nfuncs:  # call
        return _lg(a) + _lg(b) + b"\x10" + uleb(rng.randrange(nfuncs)) + _ls(c)
    return _lg(a) + _lg(b) + b"\x6a" + _ls(c)


def _ordinary_code(rng: random.Random, nbytes: int, nfuncs: int) -> bytes:
    parts: list[bytes] = []
    n = 0
    while n < nbytes:
        s = _stmt(rng, nfuncs, 0)
        parts.append(s)
        n += len(s)
    return b"".join(parts)


def _ordinary_body(rng: random.Random, nbytes: int, nfuncs: int) -> bytes:
    return ORD_LOCALS + _ordinary_code(rng, nbytes, nfuncs) + _lg(2) + b"\x0b"


# ---------------------------------------------------------------------------------------------
# shapes

def _pool_module(make_body, target: int, per_func: int, pool: int = 16) -> bytes:
    nfuncs = max(1, round(target / per_func))
    bodies = [make_body(i, nfuncs) for i in range(min(pool, nfuncs))]
    all_bodies = [bodies[i % len(bodies)] for i in range(nfuncs)]
    types = [func_type([I32, I32], [I32])]
    return encode_module(types, [0] * nfuncs, all_bodies, exports=[("f0", 0)])


def gen_ordinary(target: int) -> bytes:
    per = min(2000, target)

    def body(i: int, nfuncs: int) -> bytes:
        return _ordinary_body(random.Random(1000 + i), per, nfuncs)

    return _pool_module(body, target, per)


def gen_deep_nesting(target: int) -> bytes:
    depth = max(10, min(2000, target // 7))

    def body(i: int, nfuncs: int) -> bytes:
        rng = random.Random(2000 + i)
        code = bytearray(locals_decl([]))
        for lvl in range(depth):
            code += b"\x02\x40" + _lg(rng.randrange(2)) + b"\x0d" + uleb(rng.randrange(lvl + 1))
        code += b"\x0b" * depth
        code += _lg(0) + b"\x0b"
        return bytes(code)

    return _pool_module(body, target, depth * 7)


def gen_br_table(target: int) -> bytes:
    labels = 32
    ntargets = max(16, min(60_000, target - 80))  # Winch: at most 65520 targets

    def body(i: int, nfuncs: int) -> bytes:
        rng = random.Random(3000 + i)
        targets = bytes(rng.randrange(labels) for _ in range(ntargets))
        code = bytearray(locals_decl([]))
        code += b"\x02\x40" * labels
        code += _lg(0) + b"\x0e" + uleb(ntargets) + targets + uleb(labels - 1)
        code += b"\x0b" * labels
        code += _lg(1) + b"\x0b"
        return bytes(code)

    return _pool_module(body, target, ntargets + 80)


def gen_many_locals(target: int) -> bytes:
    nlocals = 2000
    live = 1000
    # prologue: every local loaded from memory (so nothing constant-folds); then groups that push
    # 1000 locals (3 bytes each: index >= 128) and fold them with 999 i64 ops into one local
    prologue = nlocals * 8
    group = live * 3 + live + 3
    groups = max(1, min(12, (target - prologue) // group))

    def body(i: int, nfuncs: int) -> bytes:
        rng = random.Random(4000 + i)
        code = bytearray(locals_decl([(nlocals, I64)]))
        for j in range(2, nlocals + 2):
            code += _lg(rng.randrange(2)) + b"\x29\x03" + uleb((j * 8) % 65000) + _ls(j)
        for _ in range(groups):
            idx = rng.sample(range(2, nlocals + 2), live)
            for j in idx:
                code += _lg(j)
            code += bytes(rng.choice((0x7C, 0x85, 0x7E)) for _ in range(live - 1))
            code += _ls(rng.randrange(2, nlocals + 2))
        code += _lg(0) + b"\x0b"
        return bytes(code)

    return _pool_module(body, target, prologue + groups * group)


def gen_huge_func(target: int) -> bytes:
    rng = random.Random(5000)
    chunk_size = min(target, 64 * 1024)
    chunk = _ordinary_code(rng, chunk_size, 1)
    reps = max(1, round(target / len(chunk)))
    body = ORD_LOCALS + chunk * reps + _lg(2) + b"\x0b"
    return encode_module([func_type([I32, I32], [I32])], [0], [body], exports=[("f0", 0)])


GENERATORS = {
    "ordinary": gen_ordinary,
    "deep_nesting": gen_deep_nesting,
    "br_table": gen_br_table,
    "many_locals": gen_many_locals,
    "huge_func": gen_huge_func,
}


def generate(shape: str, target: int) -> bytes:
    return GENERATORS[shape](target)


def generated_path(shape: str, target: int, out_dir: Path) -> Path:
    """Generates (once; cached by shape and size) and returns the module's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    p = out_dir / f"{shape}_{target}.wasm"
    if not p.exists():
        tmp = p.with_suffix(".tmp")
        tmp.write_bytes(generate(shape, target))
        tmp.replace(p)
    return p
