"""Worker processes for the cache tests (spawned: importable by name)."""

from __future__ import annotations

import hashlib
import random
import sys

from nearvm.cache import CachedArtifact, CachedCompileError, CacheKey, SQLiteArtifactStore

CONFIG = hashlib.sha256(b"test config").digest()


def key_for(i: int) -> CacheKey:
    return CacheKey(hashlib.sha256(b"code %d" % i).digest(), CONFIG, "0.1.0")


def payload_for(i: int, generation: int, big: bool = False) -> bytes:
    """Deterministic payload: a header naming (i, generation) then filler derived from it."""
    rng = random.Random(i * 1_000_003 + generation)
    n = rng.randrange(1 << 20, 4 << 20) if big else rng.randrange(16, 64 << 10)
    head = b"entry %d gen %d|" % (i, generation)
    block = hashlib.sha256(head).digest() * (n // 32 + 1)
    return head + block[:n]


def check_entry(i: int, entry: object) -> None:
    """An entry for key i must be exactly one of the payloads ever written for i."""
    if entry is None:
        return
    if isinstance(entry, CachedCompileError):
        assert entry.message == f"bad contract {i}", entry
        return
    assert isinstance(entry, CachedArtifact)
    head, sep, _ = entry.blob.partition(b"|")
    assert sep and head.startswith(b"entry %d gen " % i), head[:40]
    gen = int(head.split()[-1])
    assert entry.blob in (payload_for(i, gen), payload_for(i, gen, big=True)), f"corrupt entry {i} gen {gen}"


def writer(path: str, seed: int, n_keys: int, rounds: int, big: bool = False, announce: bool = False) -> None:
    rng = random.Random(seed)
    store = SQLiteArtifactStore(path)
    for n in range(rounds):
        if announce and n == 1:  # one entry committed: tell the parent it may start shooting
            sys.stdout.write("ready\n")
            sys.stdout.flush()
        i = rng.randrange(n_keys)
        r = rng.random()
        if r < 0.1:
            store.put(key_for(i), CachedCompileError("ValidationError", f"bad contract {i}", 12, 1))
        elif r < 0.15:
            store.delete(key_for(i))
        else:
            store.put(key_for(i), CachedArtifact(payload_for(i, rng.randrange(1000), big)))
    store.close()


def reader(path: str, seed: int, n_keys: int, rounds: int) -> int:
    rng = random.Random(seed)
    store = SQLiteArtifactStore(path)
    found = 0
    for _ in range(rounds):
        i = rng.randrange(n_keys)
        e = store.get(key_for(i))
        check_entry(i, e)
        found += e is not None
    store.close()
    return found


if __name__ == "__main__":  # endless writer, killed by the test
    writer(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 1 << 30, big=sys.argv[4] == "big", announce=True)
