"""Persistent compiled-contract cache (docs/design.md "Pipeline").

Key: ``(code hash, config hash, nearvm version)`` — like NEAR's ``ContractCacheKey``, any Config
change or nearvm upgrade is a different key. Value: an artifact, **or the compile error** (class,
message, offset, ...) so a bad contract is not recompiled on every call.

* :class:`ArtifactStore` is the storage protocol (``get``/``put``/``delete``); implement it for
  another backend (RocksDB column, filesystem, remote).
* :class:`SQLiteArtifactStore` is the default: stdlib ``sqlite3``, WAL mode, a busy timeout,
  ``BEGIN IMMEDIATE`` writes; safe under concurrent processes and threads. Every entry is written
  in one transaction and carries a SHA-256 over its key, kind and payload, so an interrupted or
  damaged write never loads as another entry: a bad row reads as a miss (and is deleted).
* :class:`MemoryArtifactStore` is a dict-backed store (tests, ephemeral engines).
* :class:`ContractCache` puts an in-memory LRU of *loaded* modules in front of a store and does
  the compile-on-miss / cache-the-error dance.

Trust: the store's checksums only catch accidents. Whoever can write the store can put any bytes
under any key, so the ContractCache binds every entry to its key before using it (README
"Artifacts are code"): an artifact's header must name the key's code hash and config hash (and
the artifact's HMAC must verify under the engine's key when it is loaded); an error entry must
carry an HMAC, under the cache's key, over the key and the error. Anything else is treated as a
miss: the contract is recompiled, the entry overwritten and a warning logged (logger
``nearvm.cache``). A persistent store therefore needs an Engine with an ``artifact_key``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from . import errors as _errors
from ._version import __version__
from .errors import ArtifactError, CompileError

__all__ = [
    "CacheKey",
    "CachedArtifact",
    "CachedCompileError",
    "CacheEntry",
    "ArtifactStore",
    "SQLiteArtifactStore",
    "MemoryArtifactStore",
    "ContractCache",
    "CacheStats",
    "LRU",
]

KIND_ARTIFACT = 1
KIND_ERROR = 2

_log = logging.getLogger("nearvm.cache")


@dataclass(frozen=True)
class CacheKey:
    """What identifies a compiled contract: wasm code hash, Config hash, nearvm version."""

    code_hash: bytes
    config_hash: bytes
    nearvm_version: str = __version__

    @classmethod
    def for_code(cls, wasm: bytes, config_hash: bytes, nearvm_version: str = __version__) -> CacheKey:
        return cls(hashlib.sha256(wasm).digest(), config_hash, nearvm_version)

    def digest(self) -> bytes:
        """32-byte canonical identity (the store's primary key)."""
        ver = self.nearvm_version.encode()
        h = hashlib.sha256(b"nearvm-cache-key\0")
        for part in (self.code_hash, self.config_hash, ver):
            h.update(len(part).to_bytes(4, "little"))
            h.update(part)
        return h.digest()


@dataclass(frozen=True)
class CachedArtifact:
    blob: bytes


@dataclass(frozen=True)
class CachedCompileError:
    """A compile error, enough to re-raise the same exception without recompiling.

    ``mac``: HMAC-SHA256 under the ContractCache's key over the entry's key and the other fields
    (set by the ContractCache; an entry whose MAC does not verify is never served)."""

    error_class: str
    message: str
    offset: int | None = None
    func_index: int | None = None
    limit: str | None = None
    mac: bytes = b""

    @classmethod
    def from_exception(cls, e: CompileError) -> CachedCompileError:
        limit = getattr(e, "limit", None)
        message = e.message
        if isinstance(limit, str) and message.endswith(f" [limit: {limit}]"):
            message = message[: -len(f" [limit: {limit}]")]
        return cls(type(e).__name__, message, e.offset, e.func_index, limit if isinstance(limit, str) else None)

    def to_exception(self) -> CompileError:
        cls = getattr(_errors, self.error_class, None)
        if not (isinstance(cls, type) and issubclass(cls, CompileError)):
            cls = CompileError
        if issubclass(cls, _errors.LimitError):
            return cls(self.message, self.limit or "unknown", self.offset, self.func_index)
        return cls(self.message, self.offset, self.func_index)

    def encode(self) -> bytes:
        d: dict[str, object] = {"class": self.error_class, "message": self.message, "offset": self.offset,
                                "func_index": self.func_index, "limit": self.limit}
        if self.mac:
            d["mac"] = self.mac.hex()
        return json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

    def authenticator(self, key: bytes, kdigest: bytes) -> bytes:
        """The MAC of this error (its ``mac`` field aside) stored under the key with ``kdigest``."""
        body = dataclasses.replace(self, mac=b"").encode()
        return hmac.digest(key, b"nearvm-cache-error\0" + kdigest + body, "sha256")

    @classmethod
    def decode(cls, raw: bytes) -> CachedCompileError:
        d = json.loads(raw.decode())
        if not isinstance(d, dict) or not isinstance(d.get("class"), str) or not isinstance(d.get("message"), str):
            raise ValueError("bad cached error")
        for k in ("offset", "func_index"):
            if d.get(k) is not None and not isinstance(d[k], int):
                raise ValueError("bad cached error")
        if d.get("limit") is not None and not isinstance(d["limit"], str):
            raise ValueError("bad cached error")
        mac = d.get("mac", "")
        if not isinstance(mac, str):
            raise ValueError("bad cached error")
        return cls(d["class"], d["message"], d.get("offset"), d.get("func_index"), d.get("limit"),
                   bytes.fromhex(mac))


CacheEntry = CachedArtifact | CachedCompileError


@runtime_checkable
class ArtifactStore(Protocol):
    """Storage for cache entries. Implementations must be safe for concurrent use and must never
    return an entry stored under another key (return None for anything they cannot vouch for)."""

    def get(self, key: CacheKey) -> CacheEntry | None: ...

    def put(self, key: CacheKey, entry: CacheEntry) -> None: ...

    def delete(self, key: CacheKey) -> None: ...


def _entry_parts(entry: CacheEntry) -> tuple[int, bytes]:
    if isinstance(entry, CachedArtifact):
        return KIND_ARTIFACT, bytes(entry.blob)
    if isinstance(entry, CachedCompileError):
        return KIND_ERROR, entry.encode()
    raise TypeError(f"not a cache entry: {entry!r}")


def _entry_checksum(kdigest: bytes, kind: int, payload: bytes) -> bytes:
    h = hashlib.sha256(b"nearvm-cache-entry\0")
    h.update(kdigest)
    h.update(kind.to_bytes(1, "little"))
    h.update(len(payload).to_bytes(8, "little"))
    h.update(payload)
    return h.digest()


def _entry_from(kind: int, payload: bytes) -> CacheEntry | None:
    if kind == KIND_ARTIFACT:
        return CachedArtifact(payload)
    if kind == KIND_ERROR:
        try:
            return CachedCompileError.decode(payload)
        except (ValueError, UnicodeDecodeError):
            return None
    return None


class MemoryArtifactStore:
    """A dict-backed :class:`ArtifactStore` (process-local)."""

    def __init__(self) -> None:
        self._d: dict[bytes, CacheEntry] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> CacheEntry | None:
        with self._lock:
            return self._d.get(key.digest())

    def put(self, key: CacheKey, entry: CacheEntry) -> None:
        _entry_parts(entry)
        with self._lock:
            self._d[key.digest()] = entry

    def delete(self, key: CacheKey) -> None:
        with self._lock:
            self._d.pop(key.digest(), None)

    def __len__(self) -> int:
        return len(self._d)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS nearvm_cache (
    key        BLOB PRIMARY KEY,
    code_hash  BLOB NOT NULL,
    config_hash BLOB NOT NULL,
    version    TEXT NOT NULL,
    kind       INTEGER NOT NULL,
    payload    BLOB NOT NULL,
    checksum   BLOB NOT NULL
) WITHOUT ROWID
"""


class SQLiteArtifactStore:
    """The default :class:`ArtifactStore`: one SQLite database file in WAL mode.

    One connection per process (re-opened after a fork) shared by threads under a lock.
    ``synchronous=NORMAL`` with WAL: a crash of the process never corrupts or half-writes an
    entry; a power loss may lose the last commits, never produce a wrong one.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 60_000) -> None:
        self.path = os.fspath(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        parent = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            conn.close()
            raise OSError(f"cannot put the cache {self.path!r} in WAL mode")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> SQLiteArtifactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: CacheKey) -> CacheEntry | None:
        kd = key.digest()
        with self._lock:
            conn = self._connect()
            row = conn.execute(
                "SELECT code_hash, config_hash, version, kind, payload, checksum FROM nearvm_cache WHERE key = ?",
                (kd,)).fetchone()
        if row is None:
            return None
        code_hash, config_hash, version, kind, payload, checksum = row
        ok = (isinstance(payload, bytes) and isinstance(kind, int) and isinstance(checksum, bytes)
              and code_hash == key.code_hash and config_hash == key.config_hash and version == key.nearvm_version
              and checksum == _entry_checksum(kd, kind, payload))
        entry = _entry_from(kind, payload) if ok else None
        if entry is None:
            self.delete(key)  # damaged: treat as a miss and let the caller rebuild it
        return entry

    def put(self, key: CacheKey, entry: CacheEntry) -> None:
        kind, payload = _entry_parts(entry)
        kd = key.digest()
        row = (kd, key.code_hash, key.config_hash, key.nearvm_version, kind, payload,
               _entry_checksum(kd, kind, payload))
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT OR REPLACE INTO nearvm_cache VALUES (?, ?, ?, ?, ?, ?, ?)", row)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def delete(self, key: CacheKey) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute("DELETE FROM nearvm_cache WHERE key = ?", (key.digest(),))

    def keys(self) -> list[CacheKey]:
        with self._lock:
            rows = self._connect().execute(
                "SELECT code_hash, config_hash, version FROM nearvm_cache ORDER BY key").fetchall()
        return [CacheKey(bytes(c), bytes(h), str(v)) for c, h, v in rows]

    def __len__(self) -> int:
        with self._lock:
            row = self._connect().execute("SELECT COUNT(*) FROM nearvm_cache").fetchone()
        return int(row[0])


K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe LRU map."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("LRU capacity must be >= 0")
        self.capacity = capacity
        self._d: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: K, value: V) -> None:
        if self.capacity == 0:
            return
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.capacity:
                self._d.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._d.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d


@dataclass
class CacheStats:
    memory_hits: int = 0
    store_hits: int = 0
    error_hits: int = 0
    compiles: int = 0
    #: Artifact entries not served: malformed, not this key's code or Config, or not authentic.
    bad_artifacts: int = 0
    #: Error entries not served: no valid MAC under the cache's key for this key.
    bad_errors: int = 0


M = TypeVar("M")


def _nearvm_artifact_identity(blob: bytes) -> tuple[bytes, bytes]:
    """(code hash, config hash) recorded in a nearvm artifact's header (ArtifactError if none)."""
    from .artifact import read_header

    h = read_header(blob)
    return h.code_hash, h.config_hash


class ContractCache(Generic[M]):
    """Compile-once cache of loaded modules: memory LRU → :class:`ArtifactStore` → compile.

    ``compile(wasm) -> M`` may raise :class:`CompileError` (cached and re-raised next time without
    compiling); ``serialize(M) -> bytes`` and ``deserialize(bytes) -> M`` convert to and from the
    artifact (``deserialize`` raising :class:`ArtifactError` makes the entry a miss: it is replaced).

    ``key`` (at least 16 bytes) authenticates error entries; ``artifact_identity(blob)`` returns
    the (code hash, config hash) an artifact was compiled from (default: the nearvm artifact
    header). An entry that does not match its key is a miss (see the module docstring).
    """

    def __init__(self, store: ArtifactStore, *, config_hash: bytes, compile: Callable[[bytes], M],
                 serialize: Callable[[M], bytes], deserialize: Callable[[bytes], M], key: bytes,
                 lru_capacity: int = 128, nearvm_version: str = __version__,
                 artifact_identity: Callable[[bytes], tuple[bytes, bytes]] = _nearvm_artifact_identity) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise ValueError("ContractCache: key must be at least 16 bytes (it authenticates error entries)")
        self.store = store
        self.config_hash = config_hash
        self.nearvm_version = nearvm_version
        self._key = bytes(key)
        self._compile = compile
        self._serialize = serialize
        self._deserialize = deserialize
        self._identity = artifact_identity
        self.lru: LRU[CacheKey, M | CachedCompileError] = LRU(lru_capacity)
        self.stats = CacheStats()

    @classmethod
    def for_engine(cls, engine: object, store: ArtifactStore | str | os.PathLike[str] | None = None,
                   lru_capacity: int = 128) -> ContractCache[object]:
        """A cache of ``nearvm.Module`` objects for ``engine`` (store: an ArtifactStore, a SQLite path,
        or None for a process-local memory store).

        A store other than the process-local memory store can be written by others, so it needs
        an engine with an ``artifact_key`` (its artifacts are signed and verified with it, and it
        authenticates the error entries), unless the engine was made with
        ``allow_unauthenticated_artifacts=True`` (error entries are then authenticated with a key
        of this process only: other processes' error entries are recompiled). ValueError otherwise.
        """
        from .artifact import config_hash_of
        from .runtime import Engine
        from .runtime import Module as module_cls
        if not isinstance(engine, Engine):
            raise TypeError("ContractCache.for_engine: engine must be a nearvm.Engine")
        if store is None:
            store = MemoryArtifactStore()
        local = isinstance(store, MemoryArtifactStore)  # this process's memory: only it writes there
        if not local and not isinstance(store, ArtifactStore):
            store = SQLiteArtifactStore(store)
        key = engine.artifact_key
        trusted = key is None  # artifacts in a process-local store were all made by this process
        if key is None:
            if not (local or engine.allow_unauthenticated_artifacts):
                raise ValueError("a persistent ContractCache needs an Engine with an artifact_key: anyone who can "
                                 "write the store could otherwise make this process run their machine code")
            key = os.urandom(32)
        return ContractCache(
            store, config_hash=config_hash_of(engine.config),
            compile=lambda wasm: module_cls(engine, wasm),
            serialize=lambda m: m.serialize(),
            deserialize=lambda blob: module_cls.deserialize(engine, blob, trusted_unauthenticated=trusted),
            key=key, lru_capacity=lru_capacity)

    def key(self, wasm: bytes) -> CacheKey:
        return CacheKey.for_code(wasm, self.config_hash, self.nearvm_version)

    def _authentic_error(self, key: CacheKey, entry: CachedCompileError) -> bool:
        return hmac.compare_digest(entry.mac, entry.authenticator(self._key, key.digest()))

    def _load_artifact(self, key: CacheKey, blob: bytes) -> M | None:
        """The module of a stored artifact if it is this key's, else None (logged)."""
        try:
            code_hash, config_hash = self._identity(blob)
        except (ArtifactError, ValueError) as e:
            _log.warning("cache entry %s: unreadable artifact (%s); recompiling", key.digest().hex()[:16], e)
            return None
        if not hmac.compare_digest(code_hash, key.code_hash):
            _log.warning("cache entry %s: the artifact's code hash is not the key's; recompiling",
                         key.digest().hex()[:16])
            return None
        if not hmac.compare_digest(config_hash, key.config_hash):
            _log.warning("cache entry %s: the artifact's config hash is not the key's; recompiling",
                         key.digest().hex()[:16])
            return None
        try:
            return self._deserialize(blob)
        except ArtifactError as e:
            _log.warning("cache entry %s: artifact rejected (%s); recompiling", key.digest().hex()[:16], e)
            return None

    def get(self, wasm: bytes) -> M:
        """The loaded module for ``wasm``; raises its (cached) CompileError if it does not compile."""
        key = self.key(wasm)
        hit = self.lru.get(key)
        if hit is not None:
            if isinstance(hit, CachedCompileError):
                self.stats.error_hits += 1
                raise hit.to_exception()
            self.stats.memory_hits += 1
            return hit
        entry = self.store.get(key)
        if isinstance(entry, CachedCompileError):
            if self._authentic_error(key, entry):
                self.stats.error_hits += 1
                self.lru.put(key, entry)
                raise entry.to_exception()
            self.stats.bad_errors += 1
            _log.warning("cache entry %s: error entry without a valid MAC for this key; recompiling",
                         key.digest().hex()[:16])
        elif isinstance(entry, CachedArtifact):
            module = self._load_artifact(key, entry.blob)
            if module is not None:
                self.stats.store_hits += 1
                self.lru.put(key, module)
                return module
            self.stats.bad_artifacts += 1
        self.stats.compiles += 1
        try:
            module = self._compile(wasm)
        except CompileError as e:
            err = CachedCompileError.from_exception(e)
            err = dataclasses.replace(err, mac=err.authenticator(self._key, key.digest()))
            self.store.put(key, err)  # overwrites whatever was there
            self.lru.put(key, err)
            raise
        self.store.put(key, CachedArtifact(self._serialize(module)))
        self.lru.put(key, module)
        return module

    def evict(self, wasm: bytes, *, persistent: bool = False) -> None:
        key = self.key(wasm)
        self.lru.pop(key)
        if persistent:
            self.store.delete(key)
