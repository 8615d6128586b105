"""The compiled-contract cache: SQLite store, crash safety, concurrency, LRU, cached errors."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cache_workers import CONFIG, check_entry, key_for, payload_for, reader, writer

import nearvm
from nearvm import ArtifactError, CompileError, LimitError, ValidationError
from nearvm.cache import (
    LRU,
    ArtifactStore,
    CachedArtifact,
    CachedCompileError,
    CacheKey,
    ContractCache,
    MemoryArtifactStore,
    SQLiteArtifactStore,
)

HERE = Path(__file__).resolve().parent


def test_key_identity() -> None:
    k = CacheKey.for_code(b"\0asm", CONFIG, "0.1.0")
    assert k.digest() == CacheKey.for_code(b"\0asm", CONFIG, "0.1.0").digest()
    assert k.digest() != CacheKey.for_code(b"\0asm", CONFIG, "0.1.1").digest()
    assert k.digest() != CacheKey.for_code(b"\0asm", b"\1" * 32, "0.1.0").digest()
    assert k.digest() != CacheKey.for_code(b"\0asm\1", CONFIG, "0.1.0").digest()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_store_basics(kind: str, tmp_path: Path) -> None:
    store: ArtifactStore = SQLiteArtifactStore(tmp_path / "c.db") if kind == "sqlite" else MemoryArtifactStore()
    assert isinstance(store, ArtifactStore)
    k1, k2 = key_for(1), key_for(2)
    assert store.get(k1) is None
    store.put(k1, CachedArtifact(b"blob-1"))
    err = CachedCompileError("LimitError", "too many functions", 7, None, "max_functions")
    store.put(k2, err)
    assert store.get(k1) == CachedArtifact(b"blob-1")
    assert store.get(k2) == err
    store.put(k1, CachedArtifact(b"blob-1b"))
    assert store.get(k1) == CachedArtifact(b"blob-1b")
    store.delete(k1)
    assert store.get(k1) is None
    store.delete(k1)  # idempotent
    with pytest.raises(TypeError):
        store.put(k1, "nope")  # type: ignore[arg-type]


def test_sqlite_persists_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.db"
    with SQLiteArtifactStore(path) as s:
        s.put(key_for(3), CachedArtifact(b"x" * 1000))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    s2 = SQLiteArtifactStore(path)
    assert s2.get(key_for(3)) == CachedArtifact(b"x" * 1000)
    assert len(s2) == 1 and s2.keys() == [key_for(3)]


def test_damaged_rows_read_as_misses(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    s = SQLiteArtifactStore(path)
    for i in range(4):
        s.put(key_for(i), CachedArtifact(payload_for(i, 0)))
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT key FROM nearvm_cache ORDER BY key").fetchall()
    # 1: payload changed; 2: payload swapped in from another key; 3: kind changed
    by_key = {r[0]: r for r in rows}
    k = [key_for(i).digest() for i in range(4)]
    assert set(k) == set(by_key)
    conn.execute("UPDATE nearvm_cache SET payload = ? WHERE key = ?", (b"evil", k[1]))
    other = conn.execute("SELECT payload, checksum FROM nearvm_cache WHERE key = ?", (k[0],)).fetchone()
    conn.execute("UPDATE nearvm_cache SET payload = ?, checksum = ? WHERE key = ?", (other[0], other[1], k[2]))
    conn.execute("UPDATE nearvm_cache SET kind = 2 WHERE key = ?", (k[3],))
    conn.commit()
    conn.close()
    assert s.get(key_for(0)) == CachedArtifact(payload_for(0, 0))
    for i in (1, 2, 3):
        assert s.get(key_for(i)) is None
    assert len(s) == 1  # damaged rows were dropped


def test_compile_error_round_trip() -> None:
    for exc in (ValidationError("type mismatch", 0x2A, 3), LimitError("too many", "max_functions", 5),
                CompileError("jit failed")):
        c = CachedCompileError.from_exception(exc)
        c2 = CachedCompileError.decode(c.encode())
        again = c2.to_exception()
        assert type(again) is type(exc)
        assert str(again) == str(exc)
        assert again.offset == exc.offset and again.func_index == exc.func_index
    with pytest.raises(ValueError):
        CachedCompileError.decode(b'{"class": 1}')
    # An unknown class name never instantiates something arbitrary.
    assert type(CachedCompileError("Trap", "x").to_exception()) is CompileError
    assert type(CachedCompileError("os.system", "x").to_exception()) is CompileError


def test_sigkilled_writer(tmp_path: Path) -> None:
    """A writer killed (SIGKILL) mid-write, many times: only correct entries are ever read."""
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("platform: no SIGKILL on this OS")
    path = str(tmp_path / "kill.db")
    # The writers import the nearvm this process runs (the tree's, or a built/cross-built one),
    # with the rest of this interpreter's path.
    pkg_dir = str(Path(nearvm.__file__).resolve().parent.parent)
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([pkg_dir, str(HERE), *extra])}
    rng = random.Random(7)
    for round_ in range(16):
        proc = subprocess.Popen([sys.executable, str(HERE / "cache_workers.py"), path, str(round_), "40",
                                 "big" if round_ % 2 else "small"], env=env, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", "writer did not start"
        time.sleep(rng.random() * 0.3)
        assert proc.poll() is None, "writer exited early"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = SQLiteArtifactStore(path)
        for i in range(40):
            check_entry(i, store.get(key_for(i)))
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = conn.execute("SELECT COUNT(*) FROM nearvm_cache").fetchone()[0]
    conn.close()
    assert n > 0


def test_concurrent_readers_and_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "conc.db")
    SQLiteArtifactStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        ws = [pool.apply_async(writer, (path, s, 30, 150)) for s in range(4)]
        rs = [pool.apply_async(reader, (path, 100 + s, 30, 400)) for s in range(4)]
        for w in ws:
            w.get(timeout=300)
        found = sum(r.get(timeout=300) for r in rs)
    store = SQLiteArtifactStore(path)
    for i in range(30):
        check_entry(i, store.get(key_for(i)))
    assert len(store) > 0
    assert found >= 0


def test_threads_share_one_store(tmp_path: Path) -> None:
    import threading

    store = SQLiteArtifactStore(tmp_path / "t.db")
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            rng = random.Random(seed)
            for _ in range(200):
                i = rng.randrange(10)
                if rng.random() < 0.5:
                    store.put(key_for(i), CachedArtifact(payload_for(i, rng.randrange(5))))
                else:
                    check_entry(i, store.get(key_for(i)))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


# ---- LRU and ContractCache -----------------------------------------------------------------

def test_lru() -> None:
    lru: LRU[str, int] = LRU(3)
    for i, k in enumerate("abc"):
        lru.put(k, i)
    assert lru.get("a") == 0  # a is now most recent
    lru.put("d", 3)          # evicts b
    assert lru.keys() == ["c", "a", "d"]
    assert lru.get("b") is None
    lru.put("c", 9)
    assert lru.keys() == ["a", "d", "c"] and lru.get("c") == 9
    lru.pop("a")
    assert len(lru) == 2
    zero: LRU[str, int] = LRU(0)
    zero.put("x", 1)
    assert zero.get("x") is None
    with pytest.raises(ValueError):
        LRU(-1)


class _FakeModule:
    def __init__(self, wasm: bytes) -> None:
        self.wasm = wasm


def _fake_cache(store: ArtifactStore, calls: dict[str, int], lru: int = 2) -> ContractCache[_FakeModule]:
    def compile_(wasm: bytes) -> _FakeModule:
        calls["compile"] += 1
        if wasm.startswith(b"bad"):
            raise ValidationError("type mismatch", 17, 2)
        return _FakeModule(wasm)

    def deserialize(blob: bytes) -> _FakeModule:
        calls["deserialize"] += 1
        if not blob.startswith(b"ART:"):
            raise ArtifactError("bad artifact")
        return _FakeModule(blob[4:])

    def identity(blob: bytes) -> tuple[bytes, bytes]:  # what a fake artifact was compiled from
        if not blob.startswith(b"ART:"):
            raise ValueError("not a fake artifact")
        return hashlib.sha256(blob[4:]).digest(), CONFIG

    return ContractCache(store, config_hash=CONFIG, compile=compile_, serialize=lambda m: b"ART:" + m.wasm,
                         deserialize=deserialize, key=b"fake cache key, 32 bytes long...", lru_capacity=lru,
                         artifact_identity=identity)


def test_contract_cache_layers(tmp_path: Path) -> None:
    store = SQLiteArtifactStore(tmp_path / "cc.db")
    calls = {"compile": 0, "deserialize": 0}
    cache = _fake_cache(store, calls)
    m = cache.get(b"one")
    assert m.wasm == b"one" and calls == {"compile": 1, "deserialize": 0}
    assert cache.get(b"one") is m  # memory hit
    cache.get(b"two")
    cache.get(b"three")  # evicts "one" from the LRU (capacity 2)
    assert calls["compile"] == 3
    m1 = cache.get(b"one")  # from the store: deserialized, not compiled
    assert m1.wasm == b"one" and calls == {"compile": 3, "deserialize": 1}
    # A second cache (another process, say) on the same store compiles nothing.
    calls2 = {"compile": 0, "deserialize": 0}
    other = _fake_cache(SQLiteArtifactStore(tmp_path / "cc.db"), calls2)
    for w in (b"one", b"two", b"three"):
        assert other.get(w).wasm == w
    assert calls2 == {"compile": 0, "deserialize": 3}
    assert other.stats.store_hits == 3


def test_contract_cache_caches_compile_errors(tmp_path: Path) -> None:
    store = SQLiteArtifactStore(tmp_path / "ce.db")
    calls = {"compile": 0, "deserialize": 0}
    cache = _fake_cache(store, calls)
    for _ in range(3):
        with pytest.raises(ValidationError) as ei:
            cache.get(b"bad contract")
        assert ei.value.offset == 17 and ei.value.func_index == 2
    assert calls["compile"] == 1
    calls2 = {"compile": 0, "deserialize": 0}
    fresh = _fake_cache(SQLiteArtifactStore(tmp_path / "ce.db"), calls2)
    with pytest.raises(ValidationError, match="type mismatch"):
        fresh.get(b"bad contract")
    assert calls2["compile"] == 0 and fresh.stats.error_hits == 1


def test_contract_cache_replaces_bad_artifacts() -> None:
    store = MemoryArtifactStore()
    calls = {"compile": 0, "deserialize": 0}
    cache = _fake_cache(store, calls, lru=0)
    key = cache.key(b"mod")
    store.put(key, CachedArtifact(b"garbage"))
    assert cache.get(b"mod").wasm == b"mod"
    assert calls == {"compile": 1, "deserialize": 0} and cache.stats.bad_artifacts == 1
    assert store.get(key) == CachedArtifact(b"ART:mod")
    cache.evict(b"mod", persistent=True)
    assert store.get(key) is None
