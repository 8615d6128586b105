"""The checked-in C header must equal what spec.py generates (docs/bytecode.md)."""

from __future__ import annotations

from nearvm.bytecode import gen_header, spec


def test_header_up_to_date() -> None:
    assert gen_header.HEADER_PATH.read_text() == gen_header.render()


def test_check_mode_passes() -> None:
    assert gen_header.main(["--check"]) == 0


def test_table_shape() -> None:
    assert spec.FORMAT_VERSION == 1
    assert spec.BY_NAME["i32.add"].code == 0x6A
    assert spec.BY_NAME["f64.convert_i64_u"].code == 0xBA
    assert spec.BY_NAME["memory.copy"].subop == 10
    assert spec.BY_NAME["table.fill"].subop == 17
    assert spec.BY_CODE[spec.STACK].name == "stack" and spec.BY_CODE[spec.GAS].name == "gas"
    # Every Wasm 2.0 non-SIMD single-byte opcode is present: 0x00-0x05, 0x0B-0x11, 0x1A-0x1C,
    # 0x20-0x26, 0x28-0xC4, 0xD0-0xD2.
    expected = set(range(0x00, 0x06)) | set(range(0x0B, 0x12)) | {0x1A, 0x1B, 0x1C}
    expected |= set(range(0x20, 0x27)) | set(range(0x28, 0xC5)) | {0xD0, 0xD1, 0xD2, spec.STACK, spec.GAS}
    assert set(spec.BY_CODE) == expected
    assert set(spec.BY_FC) == set(range(18))
