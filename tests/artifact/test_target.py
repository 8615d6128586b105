"""The target an artifact records is the JIT's own (C jit/target.h), and code for another ISA
never loads: the Python header checks name the mismatch, and the C loader refuses it on its own
when the Python side is bypassed."""

from __future__ import annotations

import pytest
from artifact_helpers import wat2wasm

import nearvm.runtime as rt  # noqa: E402
from nearvm import ArtifactError
from nearvm import artifact as A
from nearvm.config import Config

WAT = "(module (func (export \"f\") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"


def _other(target: A.Target) -> A.Target:
    isa = "aarch64" if target.isa == "x86_64" else "x86_64"
    return A.Target(isa, target.os_abi, A.DEFAULT_BASELINE[isa])


# Signed artifacts: the target checks behind the authentication are what these tests exercise.
KEY = b"target test artifact key, 32 by."


def _compiled_blob() -> tuple[object, bytes]:
    engine = rt.Engine(Config(), artifact_key=KEY)
    module = rt.Module(engine, wat2wasm(WAT))
    return engine, module.serialize()


def test_host_target_comes_from_the_library() -> None:
    from nearvm._native import ffi, lib

    t = A.host_target()
    assert t.isa == ffi.string(lib.nvm_host_isa()).decode()
    assert t.os_abi == ffi.string(lib.nvm_host_os_abi()).decode()
    assert t.isa in A.ISAS and t.os_abi in A.OS_ABIS


def test_serialized_module_records_the_jit_target() -> None:
    _, blob = _compiled_blob()
    h = A.read_header(blob)
    assert h.format_version == A.FORMAT_VERSION
    assert (h.target.isa, h.target.os_abi) == (A.host_target().isa, A.host_target().os_abi)


def test_artifact_for_another_isa_is_an_artifact_error() -> None:
    engine, blob = _compiled_blob()
    h = A.read_header(blob)
    foreign = A._assemble(A.sections_of(blob), target=_other(h.target), config_hash=h.config_hash,
                          code_hash=h.code_hash, key=KEY)
    with pytest.raises(ArtifactError, match="artifact for"):
        rt.Module.deserialize(engine, foreign)
    with pytest.raises(ArtifactError, match="artifact for"):
        A.load_artifact(foreign, config_hash=h.config_hash)


def test_c_loader_rejects_another_isa_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Python header checks are made to expect the other ISA, so only the C loader stands
    # between the foreign code and a code mapping.
    engine, blob = _compiled_blob()
    h = A.read_header(blob)
    other = _other(h.target)
    foreign = A._assemble(A.sections_of(blob), target=other, config_hash=h.config_hash,
                          code_hash=h.code_hash, key=KEY)
    monkeypatch.setattr(A, "host_target", lambda config=None: other)
    monkeypatch.setattr(A, "host_cpu_features", lambda: frozenset(A.CPU_FEATURES))
    fresh = rt.Engine(Config(), artifact_key=KEY)
    with pytest.raises(ArtifactError, match="compiled for another target"):
        rt.Module.deserialize(fresh, foreign)
    del engine
