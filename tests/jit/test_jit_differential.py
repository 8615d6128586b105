"""Differential execution against Wasmtime (Cranelift) on random valid modules from `wasm-tools smith`
(the comparison is fuzz/differential.py, shared with the ``differential`` fuzz target).

`NEARVM_DIFF_SEEDS=N` runs N seeds (default 100, about 20 s); a failure names its seed, and
`python tests/jit/test_jit_differential.py SEED` replays one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: fuzz/

from fuzz.differential import compare  # noqa: E402


def test_differential_against_wasmtime() -> None:
    n = int(os.environ.get("NEARVM_DIFF_SEEDS", "100"))
    total = sum(compare(seed) for seed in range(n))
    # The comparison must actually run code (guards against a smith change making empty modules).
    assert total >= n // 2, f"only {total} calls compared over {n} seeds"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, compare(int(arg)))
