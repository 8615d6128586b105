"""The 90 core spec scripts in decode/validate mode (frontend only: ``nearvm.wasm.translate``).

Each file must have zero failures and its per-kind command counts must equal ``manifest.json``'s.
Commands that need execution, and text-format modules, are counted as n/a (see tests/spec/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import SESSION_RESULTS, core_file_names, describe

from nearvm import wast

CORE_FILES, SUITE_ERROR = core_file_names()


def test_suite_present() -> None:
    assert SUITE_ERROR is None, SUITE_ERROR


def test_core_listing_matches_manifest(spec_manifest: wast.Manifest) -> None:
    listed = [p.removeprefix("core/") for p in spec_manifest.files("core")]
    assert CORE_FILES == listed
    assert len(CORE_FILES) == 90


@pytest.fixture(scope="module")
def validate_runner() -> wast.WastRunner:
    try:
        return wast.WastRunner("validate")
    except wast.SpecSuiteError as exc:  # the frontend is missing: that is a failure
        pytest.fail(str(exc))


@pytest.mark.parametrize("name", CORE_FILES)
def test_validate(
    name: str,
    spec_root: Path,
    spec_manifest: wast.Manifest,
    converted_core: dict[str, Path],
    validate_runner: wast.WastRunner,
) -> None:
    if SUITE_ERROR is not None:
        pytest.fail(SUITE_ERROR)
    res = validate_runner.run_file(spec_root / "core" / name, manifest=spec_manifest, json_path=converted_core[name])
    SESSION_RESULTS["validate"].append(res)
    assert res.expected is not None, f"{name} has no manifest entry"
    assert sum(res.seen.values()) == sum(res.expected.values())
    assert res.ok, describe(res)
