"""The artifact's bytecode-to-wasm offset maps (end of the module section) are checked on load."""

from __future__ import annotations

import struct

import pytest
from artifact_helpers import reseal

from nearvm import ArtifactError, Engine, Module
from nearvm import artifact as A

TEXT = """(module (func $f (export "f") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "g") (result i32) (call $f (i32.const 0))))"""


def test_offset_maps_round_trip_and_corruptions_are_artifact_errors() -> None:
    engine = Engine()
    module = Module(engine, TEXT)
    blob = module.serialize()
    assert Module.deserialize(engine, blob).info.wasm_offsets == module.info.wasm_offsets
    secs = A.sections_of(blob)
    mod = secs[A.SEC_MODULE]
    maps = module.info.wasm_offsets
    tail = 4 + sum(4 + 4 * len(m) for m in maps)  # the maps are the section's last bytes
    head = mod[:-tail]
    first = maps[0]
    swapped = [first[3], first[4], first[5], first[0], first[1], first[2]] if len(first) >= 6 else None

    def encode(ms: list[list[int]], count: int | None = None) -> bytes:
        out = struct.pack("<I", len(ms) if count is None else count)
        for m in ms:
            out += struct.pack(f"<I{len(m)}I", len(m), *m)
        return out

    bad = [
        head + encode(maps, count=len(maps) + 1),                  # one map too many
        head + encode([first[:-1], *maps[1:]]),                    # not a multiple of 3
        head + encode(maps)[:-4],                                  # truncated
        head + encode([[first[0], 10, 5], *maps[1:]]),             # start after end
    ]
    if swapped is not None:
        bad.append(head + encode([swapped, *maps[1:]]))            # out of order
    for payload in bad:
        with pytest.raises(ArtifactError):
            Module.deserialize(engine, reseal(blob, {**secs, A.SEC_MODULE: payload}))
