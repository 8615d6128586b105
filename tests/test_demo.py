"""`make demo` runs examples/demo.py: keep it working, and its gas figures exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_runs_and_prints_exact_gas() -> None:
    out = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    # sum_to(n) under GasSchedule.uniform(1): entry [block loop] = 1, per iteration 4 + 10,
    # the failing check 4, after the block [local.get call local.get] = 3  ->  14n + 22.
    assert "sum_to(10) = 55   gas: 162" in text
    assert "sum_to(1000) = 500500   gas: 14022" in text
    assert "read_far: trapped with MEMORY_OUT_OF_BOUNDS" in text
    assert "forever: trapped with STACK_OVERFLOW" in text
    assert "OutOfGas, gas_used = 500" in text
    assert "truncated module rejected: DecodeError" in text
