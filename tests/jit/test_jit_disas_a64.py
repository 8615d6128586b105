"""Golden aarch64 disassembly, generated on any host (asmjit emits a64 code on x86_64 too).

The expected text in tests/jit/disas/a64/<case>.txt is GNU objdump's decoding of the final code
bytes (after frame-size patching and label resolution), so an encoding asmjit got wrong for the
intended instruction shows up as a different mnemonic. Regenerate with NEARVM_BLESS=1.
The cases are the x64 golden cases (test_jit_disas.CASES). Compile-only: nothing is executed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from jit_hooks import compile_for, lower, stubs_disassembly_for
from test_jit_disas import CASES

from nearvm.toolpath import find_tool
from wasm_text import wat2wasm

GOLDEN = Path(__file__).parent / "disas" / "a64"


def objdump(code: bytes, tmp: Path) -> str:
    exe = find_tool("aarch64-linux-gnu-objdump")  # Debian binutils-aarch64-linux-gnu (install-system-deps.sh)
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


GAS_CASES = {
    # Gas left in x22: `subs x22, x22, #cost; b.lo out_of_gas` per metered block.
    "gas_loop_uniform1": ("(module (func (param $n i32) (result i32) (local $i i32) (block $done (loop $top "
                          "(br_if $done (i32.ge_u (local.get $i) (local.get $n))) "
                          "(local.set $i (i32.add (local.get $i) (i32.const 1))) (br $top))) (local.get $i)))", 1),
    # 3 x (2**32 - 1) has no add/sub immediate form: materialised in x14, then `subs x22, x22, x14`.
    "gas_large_cost": ("(module (func (result i32) (i32.add (i32.const 1) (i32.const 2))))", 2**32 - 1),
}


@pytest.mark.parametrize("name", sorted(GAS_CASES))
def test_gas_golden_a64(name: str, tmp_path: Path) -> None:
    from nearvm.config import GasSchedule

    wat, weight = GAS_CASES[name]
    program = lower(wat2wasm(wat), gas=GasSchedule.uniform(weight))
    result, code = compile_for(program, "aarch64")
    assert result.ok, result.text
    text = objdump(code, tmp_path)
    assert "subs\tx22, x22" in text and "b.cc" in text  # objdump spells b.lo as b.cc
    _check(name, text)
