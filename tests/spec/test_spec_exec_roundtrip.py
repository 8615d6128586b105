"""The 90 core spec scripts in execution mode with every module serialized and deserialized (issue 6).

Each module goes through ``Module.serialize()`` → ``Module.deserialize(engine, blob)`` before it is
instantiated, so every assertion checks that an artifact behaves exactly like the module it came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import SESSION_RESULTS, core_file_names, describe  # noqa: E402

from nearvm import wast  # noqa: E402

CORE_FILES, SUITE_ERROR = core_file_names()
MODE = "exec, serialize/deserialize round trip"


@pytest.fixture(scope="module")
def roundtrip_runner() -> wast.WastRunner:
    try:
        return wast.WastRunner("exec", serialize_roundtrip=True)
    except wast.SpecSuiteError as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("name", CORE_FILES)
def test_exec_roundtrip(
    name: str,
    spec_root: Path,
    spec_manifest: wast.Manifest,
    converted_core: dict[str, Path],
    roundtrip_runner: wast.WastRunner,
) -> None:
    if SUITE_ERROR is not None:
        pytest.fail(SUITE_ERROR)
    res = roundtrip_runner.run_file(spec_root / "core" / name, manifest=spec_manifest, json_path=converted_core[name])
    SESSION_RESULTS.setdefault(MODE, []).append(res)
    assert res.expected is not None, f"{name} has no manifest entry"
    assert res.ok, describe(res)
