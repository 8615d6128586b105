"""Byte-level mutations (deterministic in the Random they are given)."""

from __future__ import annotations

import random

from nearvm.near.prepare import uleb

_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x40, 0x3F, 0xC0]
_INTERESTING32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000, 0xFFFF, 16, 64]


def mutate(data: bytes, rng: random.Random, max_ops: int = 4, corpus: list[bytes] | None = None) -> bytes:
    """1..max_ops random edits: bit flips, byte sets, interesting values (bytes, LEB128, u32),
    insertions, deletions, duplications and splices from another corpus entry."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, max_ops)):
        n = len(buf)
        op = rng.randrange(9)
        pos = rng.randrange(n) if n else 0
        if op == 0 and n:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[pos] = rng.randrange(256)
        elif op == 2 and n:
            buf[pos] = rng.choice(_INTERESTING)
        elif op == 3:
            buf[pos:pos + rng.randint(0, 5)] = uleb(rng.choice(_INTERESTING32))
        elif op == 4 and n >= 4:
            buf[pos:pos + 4] = rng.choice(_INTERESTING32).to_bytes(4, "little")
        elif op == 5:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 6 and n:
            del buf[pos:pos + rng.randint(1, 16)]
        elif op == 7 and n:
            ln = rng.randint(1, 32)
            buf[pos:pos] = buf[pos:pos + ln]
        elif op == 8 and corpus:
            other = rng.choice(corpus)
            if other:
                a = rng.randrange(len(other))
                buf[pos:pos + rng.randint(0, 32)] = other[a:a + rng.randint(1, 64)]
    return bytes(buf)
