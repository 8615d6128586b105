"""Module.serialize / Module.deserialize through the runtime ."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from artifact_helpers import wat2wasm

import nearvm.runtime as rt  # noqa: E402
from nearvm import ArtifactError, LinkError, Trap, TrapCode, ValidationError
from nearvm import artifact as A
from nearvm.config import Config, GasSchedule

Engine, Module, Store, Instance, Func = rt.Engine, rt.Module, rt.Store, rt.Instance, rt.Func

WAT = """
(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory (export "mem") 1 2)
  (global $g (export "g") (mut i32) (i32.const 40))
  (table 2 funcref)
  (elem (i32.const 0) $inc $callhost)
  (type $t (func (param i32) (result i32)))
  (data (i32.const 16) "\\2a\\00\\00\\00")
  (func $inc (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $callhost (export "callhost") (param i32) (result i32) local.get 0 call $host)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "indirect") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $t))
  (func (export "getg") (result i32) global.get $g)
  (func $loop (export "loop") (param i32) (result i32) (local i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br $top)))
    local.get 1)
  (func $rec (export "rec") (param i32) (result i32) local.get 0 call $rec))
"""


@pytest.fixture(scope="module")
def wasm() -> bytes:
    return wat2wasm(WAT)


def _engine(config: Config | None = None, key: bytes | None = None) -> object:
    # Key-less engines here vouch for the artifacts they load: these tests exercise the format and
    # the structural checks (tests/security covers authentication).
    e = Engine(config or Config(), artifact_key=key, allow_unauthenticated_artifacts=key is None)
    if not e.can_execute:
        pytest.fail(f"this build cannot execute wasm: {e._execution_error()}")
    return e


def _instance(engine: object, module: object) -> tuple[object, object]:
    store = Store(engine)
    host = Func(store, rt.Module(engine, wat2wasm(WAT)).imports[0][2], lambda x: x * 2)
    return store, Instance(store, module, {"env": {"host": host}})


def _exercise(engine: object, module: object) -> list[object]:
    store, inst = _instance(engine, module)
    ex = inst.exports
    out: list[object] = [ex["inc"](41), ex["callhost"](21), ex["load"](16), ex["indirect"](0, 5),
                         ex["indirect"](1, 5), ex["getg"](), ex["loop"](1000)]
    for name, args, code in (("div", (1, 0), TrapCode.INTEGER_DIVIDE_BY_ZERO),
                             ("div", (-2**31, -1), TrapCode.INTEGER_OVERFLOW),
                             ("load", (70_000,), TrapCode.MEMORY_OUT_OF_BOUNDS),   # guard-page fault
                             ("indirect", (5, 1), TrapCode.TABLE_OUT_OF_BOUNDS),
                             ("rec", (0,), TrapCode.STACK_OVERFLOW)):
        with pytest.raises(Trap) as ei:
            ex[name](*args)
        assert ei.value.code == code
        out.append(int(ei.value.code))
    out.append(ex["inc"](1))  # still usable after traps
    return out


def test_round_trip_runs_identically(wasm: bytes) -> None:
    e = _engine()
    m = Module(e, wasm)
    blob = m.serialize()
    m2 = Module.deserialize(e, blob)
    assert m2.imports == m.imports and m2.exports == m.exports
    expected = _exercise(e, m)
    assert expected[:7] == [42, 42, 42, 6, 10, 40, 1000]
    assert _exercise(e, m2) == expected
    # Re-serializing a deserialized module gives the same bytes.
    assert m2.serialize() == blob
    assert A.read_header(blob).code_hash == A.code_hash_of(wasm)


def test_byte_for_byte_reproducible(wasm: bytes) -> None:
    e1, e2 = _engine(), _engine()
    assert Module(e1, wasm).serialize() == Module(e2, wasm).serialize() == Module(e1, wasm).serialize()


def test_gas_metering_survives(wasm: bytes) -> None:
    cfg = Config(gas=GasSchedule.uniform(1))
    e = _engine(cfg)
    m = Module(e, wasm)
    m2 = Module.deserialize(e, m.serialize())
    used = []
    for mod in (m, m2):
        store, inst = _instance(e, mod)
        inst.exports["loop"](100)
        used.append(store.gas_used)
    assert used[0] == used[1] > 0


def test_config_and_key_mismatch(wasm: bytes) -> None:
    blob = Module(_engine(), wasm).serialize()
    with pytest.raises(ArtifactError, match="Config"):
        Module.deserialize(_engine(Config(gas=GasSchedule.uniform(1))), blob)
    keyed = _engine(key=b"secret key of the roundtrip test")
    with pytest.raises(ArtifactError, match="HMAC"):
        Module.deserialize(keyed, blob)
    signed = Module(keyed, wasm).serialize()
    assert A.read_header(signed).has_hmac
    assert Module.deserialize(keyed, signed).exports
    with pytest.raises(ArtifactError, match="HMAC"):
        Module.deserialize(_engine(key=b"another key of the roundtrip test"), signed)
    with pytest.raises(TypeError):
        Module.deserialize(keyed, "not bytes")  # type: ignore[arg-type]


def test_corrupted_artifacts_never_load(wasm: bytes) -> None:
    e = _engine()
    blob = Module(e, wat2wasm("(module (func (export \"f\") (result i32) i32.const 7))")).serialize()
    for n in range(len(blob)):
        with pytest.raises(ArtifactError):
            Module.deserialize(e, blob[:n])
    rng = random.Random(1)
    big = Module(e, wasm).serialize()
    for _ in range(300):
        bad = bytearray(big)
        for _ in range(rng.randrange(1, 4)):
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        with pytest.raises(ArtifactError):
            Module.deserialize(e, bytes(bad))


def test_link_errors_after_deserialize(wasm: bytes) -> None:
    e = _engine()
    m2 = Module.deserialize(e, Module(e, wasm).serialize())
    with pytest.raises(LinkError):
        Instance(Store(e), m2, {})


def test_files(tmp_path: Path, wasm: bytes) -> None:
    e = _engine()
    path = tmp_path / "m.nvm"
    Module(e, wasm).serialize_file(path)
    m2 = Module.deserialize_file(e, path)
    assert _exercise(e, m2)[0] == 42
    assert [p.name for p in tmp_path.iterdir()] == ["m.nvm"]  # no temp files left


def test_contract_cache_end_to_end(tmp_path: Path, wasm: bytes) -> None:
    from nearvm.cache import ContractCache

    e = _engine(key=b"contract cache key of the test..")  # a persistent store needs a key
    cache = ContractCache.for_engine(e, tmp_path / "contracts.db", lru_capacity=4)
    m = cache.get(wasm)
    assert cache.get(wasm) is m and cache.stats.compiles == 1
    fresh = ContractCache.for_engine(e, tmp_path / "contracts.db")
    m2 = fresh.get(wasm)
    assert fresh.stats.compiles == 0 and fresh.stats.store_hits == 1
    assert _exercise(e, m2)[0] == 42
    bad = wat2wasm("(module (func (result i32) i64.const 1))")
    for c in (cache, fresh, cache):
        with pytest.raises(ValidationError):
            c.get(bad)
    assert cache.stats.compiles == 2 and fresh.stats.compiles == 0
