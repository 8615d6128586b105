"""The cffi build script's helpers: one header is the cdef, asmjit missing fails clearly."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

# The build script is loaded from the source tree next to these tests, not from the installed
# package: the suite also runs against installed wheels, where paths derived from the module's
# own location do not lead to csrc/ or third_party/.
_BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "python" / "nearvm" / "_build" / "ffibuilder.py"


def _load_build_script():  # type: ignore[no-untyped-def]
    # Without creating the FFI object; the variable must not leak into the environment of later
    # tests (the sdist test's `python -m build` then saw ffibuilder = None).
    os.environ["NEARVM_FFIBUILDER_NO_INIT"] = "1"
    try:
        spec = importlib.util.spec_from_file_location("nearvm_tree_ffibuilder", _BUILD_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        del os.environ["NEARVM_FFIBUILDER_NO_INIT"]


ffibuilder = _load_build_script()


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
        # MSVC's /fp:precise does not contract; GCC and clang must be told not to.
        assert "/fp:precise" in flags or "-ffp-contract=off" in flags
        assert "c++17" in flags


def test_header_change_rebuilds_project_objects_regression(tmp_path: Path) -> None:
    """A changed csrc header must recompile csrc objects even when setuptools passes relative
    source paths (it does); a stale runtime.o once survived a struct change and crashed."""
    obj = tmp_path / "runtime.o"
    obj.write_bytes(b"")
    ffibuilder.record_command(str(obj), "g++ -O2")
    src_rel = "csrc/api_version.cpp"  # relative, as setuptools passes it
    src_time = (ffibuilder.ROOT / src_rel).stat().st_mtime
    os.utime(obj, (src_time + 10, src_time + 10))
    assert not ffibuilder.object_is_stale(str(obj), src_rel, src_time, "g++ -O2")
    assert ffibuilder.object_is_stale(str(obj), src_rel, src_time + 20, "g++ -O2")
    asmjit_src = str(ffibuilder.asmjit_sources()[0])
    asm_time = os.path.getmtime(asmjit_src)
    os.utime(obj, (asm_time + 10, asm_time + 10))
    assert not ffibuilder.object_is_stale(str(obj), asmjit_src, asm_time + 20, "g++ -O2")


def test_changed_compile_flags_rebuild_objects_regression(tmp_path: Path) -> None:
    """Objects compiled with other flags (a new -f option, a define) are recompiled, as are
    objects whose command was never recorded: a flag change once left stale objects in place."""
    obj = tmp_path / "a64assembler.o"
    obj.write_bytes(b"")
    asmjit_src = str(ffibuilder.asmjit_sources()[0])
    asm_time = os.path.getmtime(asmjit_src)
    os.utime(obj, (asm_time + 10, asm_time + 10))
    assert ffibuilder.object_is_stale(str(obj), asmjit_src, 0.0, "g++ -O2")
    ffibuilder.record_command(str(obj), "g++ -O2")
    assert not ffibuilder.object_is_stale(str(obj), asmjit_src, 0.0, "g++ -O2")
    assert ffibuilder.object_is_stale(str(obj), asmjit_src, 0.0, "g++ -O2 -ffp-contract=off")


def test_header_only_change_rebuilds_the_extension_regression() -> None:
    """setuptools skips an extension newer than its sources and ``depends``: every project header
    and the build script (the flags) must be among them, or a header-only change left the
    extension as it was."""
    depends = {ffibuilder.ROOT / d for d in ffibuilder.build_depends()}
    headers = set(ffibuilder.CSRC.rglob("*.h"))
    assert headers and headers <= depends
    assert ffibuilder.ROOT / "python" / "nearvm" / "_build" / "ffibuilder.py" in depends
    assert all(d.exists() for d in depends)
