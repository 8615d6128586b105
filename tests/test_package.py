"""Package hygiene: version, CLI, typing marker, native module, ABI enum sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nearvm
from nearvm import TrapCode


def test_version_everywhere_agrees() -> None:
    from nearvm._native import ffi, lib

    assert ffi.string(lib.nvm_version()).decode() == nearvm.__version__
    out = subprocess.run([sys.executable, "-m", "nearvm", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"nearvm {nearvm.__version__}"


def test_native_host_isa() -> None:
    import platform

    from nearvm._native import ffi, lib

    machine = platform.machine().lower()
    expected = "aarch64" if machine in ("aarch64", "arm64") else "x86_64"
    assert ffi.string(lib.nvm_host_isa()).decode() == expected


def test_trap_codes_match_c() -> None:
    from nearvm._native import lib

    for code in TrapCode:
        assert getattr(lib, f"NVM_TRAP_{code.name}") == code.value


def test_py_typed_marker_is_shipped() -> None:
    assert (Path(nearvm.__file__).parent / "py.typed").exists()


def test_cli_without_arguments_prints_help() -> None:
    out = subprocess.run([sys.executable, "-m", "nearvm"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage: nearvm" in out.stdout
