"""Cross-ISA determinism: outcomes recorded on x86_64 (record.json) replayed here, bit for bit.

On x86_64 this checks that the record is current (the same code, the same outcomes); under
`make test-aarch64` (qemu-user) it checks that the aarch64 backend gives exactly what x86_64
gave: result bits, trap kinds, gas_used, stack-exhaustion depths, memory and global contents,
for >= 1000 smith modules and the exhaustion probes (the core spec scripts' gas_used, from the
same record, is compared by tests/spec/test_spec_exec_gas.py).
Re-record on x86_64 with NEARVM_BLESS=1 (after a change that is meant to change outcomes).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from corpus import (  # noqa: E402
    EXHAUSTION,
    N_SEEDS,
    RECORD,
    exhaustion_depth,
    load_record,
    module_outcome,
    record_all,
    smith,
    spec_files,
    wasm_tools,
)

import nearvm.artifact as A  # noqa: E402


def _bless() -> bool:
    return bool(os.environ.get("NEARVM_BLESS"))


@pytest.fixture(scope="module")
def record() -> dict:
    if _bless():
        assert A.host_isa() == "x86_64", "the record is the x86_64 outcome: bless on x86_64"
        RECORD.write_text(json.dumps(record_all(range(N_SEEDS)), indent=0, sort_keys=True) + "\n")
    assert RECORD.exists(), f"{RECORD} missing: run on x86_64 with NEARVM_BLESS=1"
    rec = load_record()
    version = subprocess.run([wasm_tools(), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert rec["wasm_tools"] == version, (
        f"the record was made with {rec['wasm_tools']} (smith output depends on it), this is {version}")
    return rec


def test_record_covers_enough_modules(record: dict) -> None:
    assert len(record["smith"]) >= 1000
    # Most modules do observable work (a generator change producing empty modules shows here).
    assert len(set(v[1] for v in record["smith"].values())) >= 600
    assert len(record["spec_gas"]) >= 80
    assert set(record["exhaustion"]) == {f"{k}/{m}" for k in EXHAUSTION for m in ("plain", "metered")}


@pytest.mark.parametrize("chunk", range(10))
def test_smith_modules(record: dict, chunk: int) -> None:
    mismatches = []
    for seed in range(chunk, N_SEEDS, 10):
        want = record["smith"].get(str(seed))
        wasm = smith(seed)
        if want is None:
            assert wasm is None, f"seed {seed}: smith now generates a module the record has none for"
            continue
        assert wasm is not None, f"seed {seed}: smith generated nothing"
        assert hashlib.sha256(wasm).hexdigest()[:16] == want[0], f"seed {seed}: smith generated another module"
        got = module_outcome(wasm, seed)
        if got != want[1]:
            mismatches.append((seed, want[1], got))
    assert not mismatches, f"{len(mismatches)} modules differ from the x86_64 record: {mismatches[:10]}"


def test_stack_exhaustion_depths(record: dict) -> None:
    for key, want in record["exhaustion"].items():
        kind, mode = key.split("/")
        assert exhaustion_depth(EXHAUSTION[kind], mode == "metered") == want, key
    # The probes do exhaust the stack (a depth, not a timeout or a finished call).
    assert all(v.startswith("STACK_OVERFLOW:") for v in record["exhaustion"].values())


def test_record_covers_the_core_spec_scripts(record: dict) -> None:
    # Their gas_used is compared by tests/spec/test_spec_exec_gas.py (one metered run, not two).
    assert sorted(record["spec_gas"]) == sorted(Path(f).name for f in spec_files())
