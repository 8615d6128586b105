"""A ContractCache trusts nobody who can write its store: every entry is bound to its key.

An artifact entry is served only if its header's code hash and config hash are the key's (and
its HMAC verifies); an error entry only if its HMAC under the cache's key verifies. Anything
else is a miss: recompiled, overwritten, logged, never served.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from artifact_sec import KEY

from nearvm import Config, Engine, Instance, Store
from nearvm.cache import CachedArtifact, CachedCompileError, ContractCache, SQLiteArtifactStore
from nearvm.errors import ValidationError
from wasm_text import wat2wasm

X = wat2wasm('(module (func (export "f") (result i32) i32.const 1))')
Y = wat2wasm('(module (func (export "f") (result i32) i32.const 2))')


def _f(module: object) -> int:
    store = Store(module.engine)  # type: ignore[attr-defined]
    return int(Instance(store, module).exports["f"]())  # type: ignore[arg-type]


@pytest.fixture
def engine() -> Engine:
    return Engine(Config(), artifact_key=KEY)


def test_cache_entry_of_another_contract_is_not_served(engine: Engine, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "c.db"
    cache = ContractCache.for_engine(engine, db)
    assert _f(cache.get(X)) == 1
    store = SQLiteArtifactStore(db)
    x_entry = store.get(cache.key(X))
    assert isinstance(x_entry, CachedArtifact)
    store.put(cache.key(Y), x_entry)  # X's validly signed artifact under Y's key
    fresh = ContractCache.for_engine(engine, db)
    with caplog.at_level(logging.WARNING, logger="nearvm.cache"):
        assert _f(fresh.get(Y)) == 2  # recompiled, never X's code
    assert fresh.stats.bad_artifacts == 1 and fresh.stats.compiles == 1
    assert any("code hash" in r.getMessage() for r in caplog.records)
    # ... and overwritten: the next process gets Y's own artifact from the store.
    again = ContractCache.for_engine(engine, db)
    assert _f(again.get(Y)) == 2
    assert again.stats.store_hits == 1 and again.stats.compiles == 0


def test_cache_entry_under_another_config_is_not_served(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    metered = Engine(Config(gas=None, stack_budget=65_536), artifact_key=KEY)
    plain = Engine(Config(), artifact_key=KEY)
    a = ContractCache.for_engine(metered, db)
    a.get(X)
    b = ContractCache.for_engine(plain, db)
    # Y's key in b's configuration gets an artifact compiled under another Config.
    SQLiteArtifactStore(db).put(b.key(Y), SQLiteArtifactStore(db).get(a.key(X)))  # type: ignore[arg-type]
    assert _f(b.get(Y)) == 2
    assert b.stats.bad_artifacts == 1


def test_forged_cache_error_entry_is_not_served(engine: Engine, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "c.db"
    cache = ContractCache.for_engine(engine, db)
    forged = CachedCompileError("ValidationError", "forged: this contract never compiles")
    SQLiteArtifactStore(db).put(cache.key(Y), forged)
    with caplog.at_level(logging.WARNING, logger="nearvm.cache"):
        assert _f(cache.get(Y)) == 2  # a valid contract compiles despite the forged entry
    assert cache.stats.bad_errors == 1 and cache.stats.compiles == 1
    assert any("error entry" in r.getMessage() for r in caplog.records)
    assert isinstance(SQLiteArtifactStore(db).get(cache.key(Y)), CachedArtifact)  # overwritten


def test_authentic_cache_error_entry_is_served(engine: Engine, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    bad = wat2wasm("(module (func (result i32)))")[:-3] + b"\x0b\x0b\x0b"  # mangled body
    cache = ContractCache.for_engine(engine, db)
    with pytest.raises(Exception) as first:
        cache.get(bad)
    fresh = ContractCache.for_engine(engine, db)
    with pytest.raises(type(first.value)):
        fresh.get(bad)
    assert fresh.stats.error_hits == 1 and fresh.stats.compiles == 0
    # The same error entry moved under another contract's key does not verify there.
    store = SQLiteArtifactStore(db)
    store.put(fresh.key(Y), store.get(fresh.key(bad)))  # type: ignore[arg-type]
    assert _f(ContractCache.for_engine(engine, db).get(Y)) == 2
    # An error entry signed with another key does not verify either.
    other = ContractCache.for_engine(Engine(Config(), artifact_key=b"another key, 32 bytes long......"), db)
    with pytest.raises(type(first.value)):
        other.get(bad)
    assert other.stats.bad_errors == 1 and other.stats.compiles == 1
    assert isinstance(first.value, ValidationError) or first.value is not None


def test_persistent_cache_needs_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="artifact_key"):
        ContractCache.for_engine(Engine(Config()), tmp_path / "c.db")
    # A process-local memory store needs none: nothing outside this process writes it.
    assert _f(ContractCache.for_engine(Engine(Config())).get(X)) == 1
