"""The 90 core spec scripts in execution mode with gas metering on.

Every module is compiled with ``Config(gas=GasSchedule.uniform(1))`` and every script runs on a
Store with an unlimited budget (``gas_limit=None``): metering must not change a single result,
and each script's total gas_used must be the one recorded on x86_64 (tests/cross_isa/record.json:
the same gas to the unit on every ISA).
Gated exactly like ``test_spec_exec.py`` (skipped only while ``nearvm.Instance`` does not exist).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from spec_helpers import SESSION_RESULTS, core_file_names, describe  # noqa: E402

from nearvm import wast  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cross_isa"))
from corpus import recorded_spec_gas  # noqa: E402

CORE_FILES, SUITE_ERROR = core_file_names()
MODE = "exec, Config(gas=GasSchedule.uniform(1))"


@pytest.fixture(scope="module")
def exec_gas_runner() -> wast.WastRunner:
    try:
        return wast.WastRunner("exec", gas=1)
    except wast.SpecSuiteError as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("name", CORE_FILES)
def test_exec_gas(
    name: str,
    spec_root: Path,
    spec_manifest: wast.Manifest,
    converted_core: dict[str, Path],
    exec_gas_runner: wast.WastRunner,
) -> None:
    if SUITE_ERROR is not None:
        pytest.fail(SUITE_ERROR)
    res = exec_gas_runner.run_file(spec_root / "core" / name, manifest=spec_manifest, json_path=converted_core[name])
    SESSION_RESULTS.setdefault(MODE, []).append(res)
    assert res.expected is not None, f"{name} has no manifest entry"
    assert res.ok, describe(res)
    # Metering really was on: any script that ran wasm code charged something.
    assert res.gas_used is not None
    ran = any(r.kind in ("assert_return", "assert_trap", "action") and r.status == "pass" for r in res.results)
    if ran:
        assert res.gas_used > 0, f"{name}: wasm ran but the Store charged no gas"
    assert res.gas_used == recorded_spec_gas(name), f"{name}: gas_used differs from the x86_64 record"
