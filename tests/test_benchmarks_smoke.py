"""Smoke test of the benchmark harness (benchmarks/): the workloads build, native and wasmtime agree
on their checksums, and the synthetic scaling modules validate. Small n, in-process, a few seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import wasmtime  # noqa: E402,F401  (a peer the smoke run measures; installed by make test)
from benchmarks import build, peers, wasmgen  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

SMALL_N = {"fib": 15, "hash": 1, "matmul": 1, "nbody": 100, "sieve": 1, "sort": 1, "interp": 500, "memcpy": 2,
           "calls": 1000, "hostcall": 100}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, build.BuiltWorkload]:
    return build.build_all(WORKLOADS, tmp_path_factory.mktemp("bench-build"))


@pytest.mark.parametrize("name", [w.name for w in WORKLOADS])
def test_native_and_wasmtime_agree(built: dict[str, build.BuiltWorkload], name: str) -> None:
    bw = built[name]
    assert not bw.errors, bw.errors
    assert bw.wasm is not None and bw.native is not None
    n = SMALL_N[name]
    native = peers.NativeAdapter().load(str(bw.native))(n)
    a = peers.WasmtimeAdapter("wasmtime-cranelift", metering=False)
    wasm = a.instantiate(a.compile(bw.wasm.read_bytes()), peers.host_inc)(n)
    assert wasm == native, f"{name}: wasm {wasm:#x} != native {native:#x}"


@pytest.mark.parametrize("shape", wasmgen.SHAPES)
def test_generated_modules_validate(shape: str) -> None:
    data = wasmgen.generate(shape, 20_000)
    assert 10_000 < len(data) < 40_000
    engine = wasmtime.Engine()
    wasmtime.Module.validate(engine, data)
