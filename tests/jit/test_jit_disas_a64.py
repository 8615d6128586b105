"""Golden aarch64 disassembly, generated on any host (asmjit emits a64 code on x86_64 too).

The expected text in tests/jit/disas/a64/<case>.txt is GNU objdump's decoding of the final code
bytes (after frame-size patching and label resolution), so an encoding asmjit got wrong for the
intended instruction shows up as a different mnemonic. Regenerate with NEARVM_BLESS=1.
The cases are the x64 golden cases (test_jit_disas.CASES). Compile-only: nothing is executed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jit_hooks import compile_for, lower, stubs_disassembly_for
from test_jit_disas import CASES

from wasm_text import wat2wasm

GOLDEN = Path(__file__).parent / "disas" / "a64"
OBJDUMP = "aarch64-linux-gnu-objdump"  # Debian binutils-aarch64-linux-gnu (scripts/install-system-deps.sh)


def objdump(code: bytes, tmp: Path) -> str:
    exe = shutil.which(OBJDUMP)
    assert exe is not None, f"{OBJDUMP} is required (Debian: binutils-aarch64-linux-gnu)"
    blob = tmp / "code.bin"
    blob.write_bytes(code)
    out = subprocess.run([exe, "-D", "-b", "binary", "-m", "aarch64", str(blob)], capture_output=True, text=True,
                         check=True).stdout
    # Keep the instruction lines only (the header names the temporary file).
    return "\n".join(line for line in out.splitlines() if re.match(r"^\s+[0-9a-f]+:|^\s+\.\.\.$", line)) + "\n"


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEARVM_BLESS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} missing: run with NEARVM_BLESS=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_a64(name: str, tmp_path: Path) -> None:
    program = lower(wat2wasm(f"(module {CASES[name]})"))
    result, code = compile_for(program, "aarch64")
    assert result.ok, result.text
    assert len(code) == result.code_bytes
    _check(name, objdump(code, tmp_path))


def test_stubs_golden_a64() -> None:
    sysv = stubs_disassembly_for("aarch64", "sysv")
    # AAPCS64 is the host ABI of Linux and Apple alike for the stubs' signatures.
    assert stubs_disassembly_for("aarch64", "darwin") == sysv
    _check("stubs", sysv)


def test_no_undefined_encodings(tmp_path: Path) -> None:
    # Every word objdump cannot decode is an entry-prefix word (udf #0 / the slot count) or a
    # jump-table delta; a case without br_table has only the prefix.
    for name, wat in CASES.items():
        if "br_table" in wat:
            continue
        result, code = compile_for(lower(wat2wasm(f"(module {wat})")), "aarch64")
        text = objdump(code, tmp_path)
        bad = [line for line in text.splitlines() if ".inst" in line or "undefined" in line]
        assert not bad, (name, bad)
