"""C++ unit tests of the allocator pieces (tests/jit/cpp/*.cpp), built with g++ and run.

RegAlloc, ValueStack and FrameLayout must stay free of asmjit (docs/design.md "JIT structure"), so they compile
with nothing but ``-Icsrc``; this also guards that rule.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nearvm.toolpath import find_tool

ROOT = Path(__file__).resolve().parents[2]
CPP = Path(__file__).parent / "cpp"
CHECK_HARNESS = ROOT / "tests" / "cpp"  # unit_check.h, shared with tests/runtime/cpp


@pytest.mark.parametrize("source", sorted(p.name for p in CPP.glob("unit_*.cpp")))
def test_cpp_unit(source: str, tmp_path: Path) -> None:
    exe = tmp_path / "unit"
    build = subprocess.run(
        [find_tool("g++"), "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'csrc'}",
         f"-I{CHECK_HARNESS}", str(CPP / source), "-o", str(exe)],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
