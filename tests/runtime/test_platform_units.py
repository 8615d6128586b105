"""C++ unit tests of the platform layer's W^X state machine (tests/runtime/cpp/*.cpp), built with
g++ against the platform sources alone and run: Apple silicon's MAP_JIT write protocol with a
simulated per-thread switch, and the Linux code/linear-memory protections read from
/proc/self/maps (docs/portability.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nearvm.toolpath import find_tool

ROOT = Path(__file__).resolve().parents[2]
CPP = Path(__file__).parent / "cpp"
CHECK_HARNESS = ROOT / "tests" / "cpp"  # unit_check.h, shared with tests/jit/cpp
PLATFORM_SOURCES = ["runtime/platform_posix.cpp", "runtime/code_registry.cpp", "runtime/trap_state.cpp"]


@pytest.mark.parametrize("source", sorted(p.name for p in CPP.glob("unit_*.cpp")))
def test_platform_unit(source: str, tmp_path: Path) -> None:
    exe = tmp_path / "unit"
    build = subprocess.run(
        [find_tool("g++"), "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'csrc'}",
         f"-I{CHECK_HARNESS}", str(CPP / source), *[str(ROOT / "csrc" / s) for s in PLATFORM_SOURCES],
         "-o", str(exe), "-pthread"],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
