"""Hypothesis fuzz targets for the artifact loader: any bytes -> a loaded artifact or ArtifactError."""

from __future__ import annotations

import functools

from artifact_helpers import load, make, reseal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nearvm import ArtifactError
from nearvm import artifact as A

_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _valid() -> bytes:
    return make()[0]


def _try_load(blob: bytes, **kw: object) -> None:
    try:
        art = load(blob, **kw)
    except ArtifactError:
        return
    # Whatever loads is internally consistent.
    cc = art.compiled
    for off, size in zip(cc.func_offsets, cc.func_sizes):
        assert off + size <= len(cc.code)
    for s in cc.trap_sites:
        assert s.pc_offset < len(cc.code)


@_SETTINGS
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data: bytes) -> None:
    _try_load(data)
    _try_load(A.MAGIC + data)
    _try_load(data, key=b"k")


@_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzz_byte_edits(edits: list[tuple[int, int]]) -> None:
    blob = bytearray(_valid())
    for pos, val in edits:
        blob[pos % len(blob)] = val
    _try_load(bytes(blob))


@_SETTINGS
@given(section=st.sampled_from([A.SEC_MODULE, A.SEC_FUNCS, A.SEC_TRAPS, A.SEC_EXEC, A.SEC_CODE]),
       edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
       insert=st.binary(max_size=16))
def test_fuzz_resealed_sections(section: int, edits: list[tuple[int, int]], cut: int | None, insert: bytes) -> None:
    """Mutations behind a valid checksum: reaches the section decoders and cross-checks."""
    base = _valid()
    secs = A.sections_of(base)
    payload = bytearray(secs[section])
    for pos, val in edits:
        if payload:
            payload[pos % len(payload)] = val
    if cut is not None and payload:
        c = cut % len(payload)
        payload = payload[:c] + bytearray(insert) + payload[c:]
    secs[section] = bytes(payload)
    _try_load(reseal(base, secs))
