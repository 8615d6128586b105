"""The cffi build script's helpers: one header is the cdef, asmjit missing fails clearly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Import the build script without creating the FFI object; the variable must not leak into the
# environment of later tests (the sdist test's `python -m build` then saw ffibuilder = None).
os.environ["NEARVM_FFIBUILDER_NO_INIT"] = "1"
try:
    from nearvm._build import ffibuilder
finally:
    del os.environ["NEARVM_FFIBUILDER_NO_INIT"]


def test_cdef_comes_from_the_header_with_enum_values_elided() -> None:
    cdef = ffibuilder.extract_cdef(ffibuilder.HEADER.read_text())
    assert "nvm_version" in cdef
    assert "NVM_TRAP_HOST_ERROR = ..." in cdef
    assert "#" not in cdef


def test_cdef_rejects_preprocessor_in_cffi_section() -> None:
    with pytest.raises(ffibuilder.BuildError, match="preprocessor"):
        ffibuilder.extract_cdef("/* cffi-begin */\n#define X 1\n/* cffi-end */")


def test_cdef_requires_markers() -> None:
    with pytest.raises(ffibuilder.BuildError, match="markers"):
        ffibuilder.extract_cdef("int f(void);")


def test_missing_asmjit_sources_fail_with_instructions(tmp_path: Path) -> None:
    with pytest.raises(ffibuilder.BuildError, match="fetch.py"):
        ffibuilder.asmjit_sources(tmp_path)


def test_asmjit_subset_has_both_backends_and_no_compiler() -> None:
    names = {p.name for p in ffibuilder.asmjit_sources()}
    assert {"x86assembler.cpp", "a64assembler.cpp", "logger.cpp", "errorhandler.cpp"} <= names
    assert not any("compiler" in n or "rapass" in n for n in names)


def test_compile_flags_never_relax_ieee() -> None:
    for platform in ("linux", "darwin", "win32"):
        flags = " ".join(ffibuilder.compile_args(platform))
        assert "fast-math" not in flags and "/fp:fast" not in flags
        assert "c++17" in flags


def test_header_change_rebuilds_project_objects_regression(tmp_path: Path) -> None:
    """A changed csrc header must recompile csrc objects even when setuptools passes relative
    source paths (it does); a stale runtime.o once survived a struct change and crashed."""
    obj = tmp_path / "runtime.o"
    obj.write_bytes(b"")
    src_rel = "csrc/api_version.cpp"  # relative, as setuptools passes it
    src_time = (ffibuilder.ROOT / src_rel).stat().st_mtime
    os.utime(obj, (src_time + 10, src_time + 10))
    assert not ffibuilder.object_is_stale(str(obj), src_rel, newest_project_header=src_time)
    assert ffibuilder.object_is_stale(str(obj), src_rel, newest_project_header=src_time + 20)
    asmjit_src = str(ffibuilder.asmjit_sources()[0])
    asm_time = os.path.getmtime(asmjit_src)
    os.utime(obj, (asm_time + 10, asm_time + 10))
    assert not ffibuilder.object_is_stale(str(obj), asmjit_src, newest_project_header=asm_time + 20)
