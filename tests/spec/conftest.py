"""Fixtures for the spec-suite tests: the suite location, its manifest, converted scripts.

The suite must exist (``../shared/spec-testsuite`` or ``$NEARVM_SPEC_DIR``): a missing suite makes
the tests fail, never skip. Conversions (``wasm-tools json-from-wast``) are cached on disk by the
script's sha256 (see ``nearvm.wast.cache_dir``), and done once per session here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import SESSION_RESULTS

from nearvm import wast


@pytest.fixture(scope="session")
def spec_root() -> Path:
    try:
        return wast.spec_dir()
    except wast.SpecSuiteError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def spec_manifest(spec_root: Path) -> wast.Manifest:
    return wast.load_manifest(spec_root)


@pytest.fixture(scope="session")
def converted_core(spec_root: Path) -> dict[str, Path]:
    """Every core script converted once per session: name -> JSON path (modules next to it)."""
    return {p.name: wast.convert(p) for p in sorted((spec_root / "core").glob("*.wast"))}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for mode, results in SESSION_RESULTS.items():
        if results:
            terminalreporter.section(f"spec suite, {mode} mode ({len(results)} files)")
            terminalreporter.write_line(wast.format_summary(results, max_failures=20))
