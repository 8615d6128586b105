"""The checked-in C header must equal what spec.py generates (docs/bytecode.md)."""

from __future__ import annotations

from pathlib import Path

from nearvm.bytecode import gen_header, spec

# The checked-in header, found from this test file: the suite also runs against an installed
# nearvm (wheel, emulated aarch64), whose gen_header.HEADER_PATH points into site-packages.
CHECKED_IN_HEADER = Path(__file__).resolve().parents[1] / "csrc" / "bytecode" / "nvm_opcodes.h"


def test_header_up_to_date() -> None:
    assert CHECKED_IN_HEADER.read_text() == gen_header.render()


def test_check_mode_passes() -> None:
    assert gen_header.main(["--check", "--output", str(CHECKED_IN_HEADER)]) == 0


def test_check_mode_detects_stale_header(tmp_path: Path) -> None:
    stale = tmp_path / "nvm_opcodes.h"
    stale.write_text(gen_header.render().replace("NVM_FC_", "NVM_FX_", 1))
    assert gen_header.main(["--check", "--output", str(stale)]) == 1


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
