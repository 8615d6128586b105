"""LEB128 edge cases (spec §5.2.2): non-minimal encodings up to ceil(N/7) bytes are valid."""

from __future__ import annotations

import pytest

from nearvm.errors import DecodeError
from nearvm.wasm.decode import Reader


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\x80\x80\x80\x80\x00", 0),  # 5 bytes, non-minimal: valid
        (b"\xff\xff\xff\xff\x0f", 0xFFFF_FFFF),
    ],
)
def test_u32_ok(raw: bytes, value: int) -> None:
    r = Reader(raw)
    assert r.u32() == value
    assert r.pos == len(raw)


@pytest.mark.parametrize(
    ("raw", "msg"),
    [
        (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
        (b"\xff\xff\xff\xff\x1f", "integer too large"),
        (b"\xff\xff\xff\xff\x4f", "integer too large"),
        (b"\x80\x80", "unexpected end"),
    ],
)
def test_u32_bad(raw: bytes, msg: str) -> None:
    with pytest.raises(DecodeError) as ei:
        Reader(raw).u32()
    assert ei.value.message.startswith(msg)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x7f", -1),
        (b"\x3f", 63),
        (b"\x40", -64),
        (b"\xff\xff\xff\xff\x07", 0x7FFF_FFFF),
        (b"\x80\x80\x80\x80\x78", -(2**31)),
        (b"\xff\xff\xff\xff\x7f", -1),
    ],
)
def test_s32_ok(raw: bytes, value: int) -> None:
    assert Reader(raw).s32() == value


@pytest.mark.parametrize(
    ("raw", "msg"),
    [
        (b"\xff\xff\xff\xff\x0f", "integer too large"),  # bit 31 clear but bits above set
        (b"\x80\x80\x80\x80\x70", "integer too large"),
        (b"\xff\xff\xff\xff\xff\x7f", "integer representation too long"),
    ],
)
def test_s32_bad(raw: bytes, msg: str) -> None:
    with pytest.raises(DecodeError) as ei:
        Reader(raw).s32()
    assert ei.value.message == msg


def test_s64_limits() -> None:
    assert Reader(b"\xff" * 9 + b"\x00").s64() == 2**63 - 1
    assert Reader(b"\x80" * 9 + b"\x7f").s64() == -(2**63)
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff" * 9 + b"\x01").s64()
    with pytest.raises(DecodeError, match="too long"):
        Reader(b"\x80" * 10 + b"\x00").s64()


def test_u64_limits() -> None:
    assert Reader(b"\xff" * 9 + b"\x01").u64() == 2**64 - 1
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff" * 9 + b"\x02").u64()


def test_s33_block_type_limits() -> None:
    assert Reader(b"\xff\xff\xff\xff\x0f").s33() == 2**32 - 1
    assert Reader(b"\x80\x80\x80\x80\x70").s33() == -(2**32)
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x1f").s33()
