"""Loading an artifact is running its code: the safe default authenticates it.

An artifact's checksum only detects accidents; anyone can recompute it. So a stored artifact is
loaded only if it carries an HMAC made with the Engine's key, or if the caller explicitly vouches
for the bytes (``trusted_unauthenticated=True`` / ``Engine(allow_unauthenticated_artifacts=True)``).
"""

from __future__ import annotations

import platform

import pytest
from artifact_sec import KEY, patched_code_artifact

from nearvm import Config, Engine, Instance, Module, Store
from nearvm import artifact as A
from nearvm.errors import ArtifactError
from wasm_text import wat2wasm

X64 = platform.machine().lower() in ("x86_64", "amd64")
SEVEN = wat2wasm('(module (func (export "f") (result i32) i32.const 7))')


def _call_f(module: Module) -> int:
    store = Store(module.engine)
    return int(Instance(store, module).exports["f"]())


@pytest.mark.skipif(not X64, reason="platform: the patched machine code is x86-64")
def test_unkeyed_deserialize_of_patched_code_is_rejected() -> None:
    # An unsigned artifact whose code was replaced (checksum recomputed) must not load by default.
    engine = Engine(Config())
    blob = Module(engine, SEVEN).serialize()
    evil = patched_code_artifact(blob)
    with pytest.raises(ArtifactError, match="unauthenticated"):
        Module.deserialize(engine, evil)
    # The explicit opt-in loads it, and it really is the patched code that runs: this is why it
    # must be an opt-in.
    assert _call_f(Module.deserialize(engine, evil, trusted_unauthenticated=True)) == 42
    trusting = Engine(Config(), allow_unauthenticated_artifacts=True)
    assert _call_f(Module.deserialize(trusting, evil)) == 42


@pytest.mark.skipif(not X64, reason="platform: the patched machine code is x86-64")
def test_keyed_deserialize_of_patched_code_is_rejected() -> None:
    engine = Engine(Config(), artifact_key=KEY)
    blob = Module(engine, SEVEN).serialize()
    assert _call_f(Module.deserialize(engine, blob)) == 7
    for evil in (patched_code_artifact(blob), patched_code_artifact(blob, key=b"another key, 32 bytes long......")):
        with pytest.raises(ArtifactError, match="HMAC"):
            Module.deserialize(engine, evil)
    # The opt-in never overrides a key's verdict on a signed artifact.
    with pytest.raises(ArtifactError, match="HMAC"):
        Module.deserialize(engine, patched_code_artifact(blob, key=b"x" * 32), trusted_unauthenticated=True)


@pytest.mark.parametrize("key", [b"", b"short", b"15 bytes long.."])
def test_short_artifact_key_is_rejected(key: bytes) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Engine(Config(), artifact_key=key)


def test_artifact_key_type_and_opt_in_type() -> None:
    with pytest.raises(TypeError):
        Engine(Config(), artifact_key="a string key, 16+ chars")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Engine(Config(), allow_unauthenticated_artifacts="yes")  # type: ignore[arg-type]
    engine = Engine(Config())
    blob = Module(engine, SEVEN).serialize()
    with pytest.raises(TypeError):
        Module.deserialize(engine, blob, trusted_unauthenticated=1)  # type: ignore[arg-type]


def test_unsigned_artifact_needs_the_opt_in_even_unmodified() -> None:
    engine = Engine(Config())
    blob = Module(engine, SEVEN).serialize()
    assert not A.read_header(blob).has_hmac
    with pytest.raises(ArtifactError, match="unauthenticated"):
        Module.deserialize(engine, blob)
    assert _call_f(Module.deserialize(engine, blob, trusted_unauthenticated=True)) == 7


def test_keyed_engine_rejects_unsigned_artifact() -> None:
    unsigned = Module(Engine(Config()), SEVEN).serialize()
    engine = Engine(Config(), artifact_key=KEY)
    with pytest.raises(ArtifactError):
        Module.deserialize(engine, unsigned)
    # Vouching for it explicitly loads it (e.g. an artifact built by this process a moment ago).
    assert _call_f(Module.deserialize(engine, unsigned, trusted_unauthenticated=True)) == 7
