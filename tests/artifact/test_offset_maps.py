"""The artifact's bytecode-to-wasm offset maps (end of the module section): skipped on load,
decoded and checked on first use; a malformed map costs the backtrace its offsets, nothing else."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence

import pytest
from artifact_helpers import reseal

from nearvm import ArtifactError, Engine, Instance, Module, Store, Trap
from nearvm import artifact as A

TEXT = """(module (func $f (export "f") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "g") (result i32) (call $f (i32.const 0))))"""


def _encode(ms: list[list[int]], count: int | None = None) -> bytes:
    out = struct.pack("<I", len(ms) if count is None else count)
    for m in ms:
        out += struct.pack(f"<I{len(m)}I", len(m), *m)
    return out


def test_offset_maps_round_trip() -> None:
    engine = Engine()
    module = Module(engine, TEXT)
    loaded = Module.deserialize(engine, module.serialize(), trusted_unauthenticated=True)
    assert list(loaded.info.wasm_offsets) == list(module.info.wasm_offsets)
    assert A.decode_offset_maps(A.encode_offset_maps(list(module.info.wasm_offsets)), 2) == \
        list(module.info.wasm_offsets)


def test_malformed_offset_maps() -> None:
    engine = Engine()
    module = Module(engine, TEXT)
    blob = module.serialize()
    secs = A.sections_of(blob)
    mod = secs[A.SEC_MODULE]
    maps = list(module.info.wasm_offsets)
    stored = A.encode_offset_maps(maps)
    head = mod[:-(4 + len(stored))]
    first = maps[0]
    bad_contents = [
        _encode(maps, count=len(maps) + 1),                  # one map too many
        _encode([first[:-1], *maps[1:]]),                    # not a multiple of 3
        _encode([[first[0], 10, 5], *maps[1:]]),             # start after end
        _encode(maps) + b"\0",                               # trailing bytes
    ]
    if len(first) >= 6:
        bad_contents.append(_encode([first[3:6] + first[0:3], *maps[1:]]))  # out of order
    for payload in bad_contents:
        with pytest.raises(ArtifactError):
            A.decode_offset_maps(payload, len(maps))
        section = head + struct.pack("<I", len(payload)) + payload
        loaded = Module.deserialize(engine, reseal(blob, {**secs, A.SEC_MODULE: section}), trusted_unauthenticated=True)
        with pytest.raises(Trap) as info:  # still runs; the backtrace has no wasm offsets
            Instance(Store(engine), loaded).exports["g"]()
        assert [f.func_name for f in info.value.backtrace] == ["f", "g"]
        assert [f.offset for f in info.value.backtrace] == [None, None]
        _check_malformed_maps_read_as_empty(loaded.info.wasm_offsets, len(maps))
    # A length prefix that overruns the section is a load error.
    section = head + struct.pack("<I", len(stored) + 1) + stored
    with pytest.raises(ArtifactError):
        Module.deserialize(engine, reseal(blob, {**secs, A.SEC_MODULE: section}), trusted_unauthenticated=True)


def _check_malformed_maps_read_as_empty(offsets: object, n: int) -> None:
    assert isinstance(offsets, Sequence)
    # Bounded reads: iterating malformed maps once never ended (every index answered []).
    assert list(itertools.islice(iter(offsets), n + 1)) == [[]] * n
    assert list(itertools.islice(offsets, n + 1)) == [[]] * n
    assert len(offsets) == n and offsets[n - 1] == [] and offsets[-1] == []
    with pytest.raises(IndexError):
        offsets[n]
    with pytest.raises(ArtifactError):
        offsets.decoded()  # type: ignore[attr-defined]


def test_iterating_malformed_offset_maps_ends_regression() -> None:
    """Malformed maps read as one empty map per function, and iteration (list(), ==) ends:
    it once ran forever, so comparing a loaded module's info hung."""
    engine = Engine()
    module = Module(engine, TEXT)
    blob = module.serialize()
    secs = A.sections_of(blob)
    maps = list(module.info.wasm_offsets)
    stored = A.encode_offset_maps(maps)
    payload = _encode(maps) + b"\0"  # trailing byte: malformed
    section = secs[A.SEC_MODULE][:-(4 + len(stored))] + struct.pack("<I", len(payload)) + payload
    loaded = Module.deserialize(engine, reseal(blob, {**secs, A.SEC_MODULE: section}), trusted_unauthenticated=True)
    _check_malformed_maps_read_as_empty(loaded.info.wasm_offsets, len(maps))
    assert loaded.info.wasm_offsets != maps and loaded.info.wasm_offsets == [[]] * len(maps)
    assert loaded.info != module.info
