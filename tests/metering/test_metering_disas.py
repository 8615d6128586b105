"""Golden x64 disassembly of the per-block gas charge (and the stack-budget prologue).

Metered code keeps the gas left (gas_limit - gas_used) in r13 for the whole execution (the entry
trampoline loads it from the Store and writes it back; docs/runtime-abi.md "Gas"), so a metered
block costs two instructions and no memory access:

    sub r13, imm32                    ; the block's cost   (or: mov r11, imm64 / sub r13, r11)
    jb  out_of_gas                    ; borrow: the cost exceeds the gas left

The golden files (tests/metering/disas/x64/<case>.txt, regenerate with NEARVM_BLESS=1) hold only the
metering-related sequences, in code order: the stack-budget check of each prologue (the caller's
budget slot minus the frame cost into this frame's), every gas charge, and the out-of-gas trap
exit's "nothing left". The rest of the code is the JIT's business (its own goldens are under
tests/jit/disas/), so unrelated codegen changes do not touch these files. Compile-only (the JIT's
test hooks): nothing is executed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from metering_helpers import wat

from nearvm.bytecode.disasm import disassemble
from nearvm.config import Config, GasSchedule
from nearvm.wasm import translate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jit"))
from jit_hooks import compile_for  # noqa: E402

GOLDEN = Path(__file__).parent / "disas" / "x64"

COUNT = """(module (func (param $n i32) (result i32) (local $i i32)
  (block $done (loop $top
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top)))
  (local.get $i)))"""

CASES: dict[str, tuple[str, Config]] = {
    # four blocks: entry 1, br_if block 4, loop body 5, after end 1
    "gas_loop_uniform1": (COUNT, Config(gas=GasSchedule.uniform(1))),
    # NEAR: the entry block also pays frame init, (1 + 9) × 822,756 = 8,227,560 (imm32)
    "gas_loop_near": (COUNT, Config.near()),
    # 3 × (2**32 - 1) = 12,884,901,885 does not fit an imm32: through a register
    "gas_large_cost": ("(module (func (result i32) (i32.add (i32.const 1) (i32.const 2))))",
                       Config(gas=GasSchedule.uniform(2**32 - 1))),
    # exactly 2**31: must not be encoded as a sign-extended imm32 (NEAR's "9393" bug)
    "gas_cost_2_31": ("(module (func (drop (i32.const 0))))",
                      Config(gas=GasSchedule.uniform(1).with_weights({"i32.const": 2**31 - 1}))),
    # no schedule: no gas code at all, only the stack budget
    "gas_none": (COUNT, Config()),
}

_SMALL = re.compile(r"sub r13, (\d+)\s+;[^\n]*\njb L\d+\s+;[^\n]*")
_LARGE = re.compile(
    r"mov r11, (\d+)\s+;[^\n]*\n"
    r"sub r13, r11\s+;[^\n]*\n"
    r"jb L\d+\s+;[^\n]*")


def _disas(name: str) -> tuple[str, list[int]]:
    text, cfg = CASES[name]
    program = translate(wat(text), cfg).program
    costs = [int(ln.split()[-1]) for ln in disassemble(program).splitlines() if ": gas " in ln]
    res, _ = compile_for(bytes(program), "x86_64")  # x64 goldens on any host
    assert res.ok, res.text
    return res.text, costs


_STACK = re.compile(
    r"mov r11, qword ptr \[rbp\]\s+;[^\n]*\n"
    r"mov r10, qword ptr \[r11-16\]\s+;[^\n]*\n"
    r"sub r10, \d+\s+;[^\n]*\n"
    r"jl L\d+\s+;[^\n]*\n"
    r"mov qword ptr \[rbp-16\], r10\s+;[^\n]*")
_BURN = re.compile(r"xor r13d, r13d\s+;[^\n]*")


def _metering_view(text: str) -> str:
    """The metering sequences of ``text`` in code order, labels normalised, one blank line between."""
    found: list[tuple[int, str]] = []
    for rx in (_STACK, _SMALL, _LARGE, _BURN):
        found += [(m.start(), m.group(0)) for m in rx.finditer(text)]
    chunks = [re.sub(r"\bL\d+\b", "L*", chunk) for _, chunk in sorted(found)]
    return "\n\n".join(chunks) + "\n"


def _charged(text: str) -> list[int]:
    """Costs of the gas sequences in code order, each matched as the exact template."""
    found = [(m.start(), int(m.group(1))) for m in _SMALL.finditer(text)]
    found += [(m.start(), int(m.group(1))) for m in _LARGE.finditer(text)]
    return [c for _, c in sorted(found)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gas_golden(name: str) -> None:
    text = _metering_view(_disas(name)[0])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEARVM_BLESS"):
        path.write_text(text)
        return
    assert path.exists(), f"{path} missing: run with NEARVM_BLESS=1"
    assert text == path.read_text()


@pytest.mark.parametrize(("name", "costs"), [
    ("gas_loop_uniform1", [1, 4, 5, 1]),
    ("gas_loop_near", [10 * 822_756, 4 * 822_756, 5 * 822_756, 822_756]),
    ("gas_large_cost", [3 * (2**32 - 1)]),
    ("gas_cost_2_31", [2**31]),
    ("gas_none", []),
])
def test_every_block_is_the_register_template(name: str, costs: list[int]) -> None:
    text, bytecode_costs = _disas(name)
    assert bytecode_costs == costs
    assert _charged(text) == costs
    # r13 holds the gas left in metered code and nothing else: never a local home there, and only
    # the charges and the out-of-gas exit touch it. Unmetered code may home a local in it.
    r13 = [ln.split(";")[0].strip() for ln in text.splitlines() if "r13" in ln]
    if costs:
        assert all(ln.startswith("sub r13, ") or ln == "xor r13d, r13d" for ln in r13), r13
        assert sum(ln.startswith("sub r13, ") for ln in r13) == len(costs)
    else:
        assert "xor r13d, r13d" not in r13
