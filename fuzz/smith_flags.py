"""The ``wasm-tools smith`` settings of every generator in the project, in one place.

smith makes Wasm 2.0 modules only (every later proposal off: a flag smith does not know fails
loudly in the callers), with NaNs canonicalised by smith itself so that engines must agree bit
for bit, loops and calls bounded by smith's own fuel (``--ensure-termination``), everything
exported, no imports and at most one 1 MiB memory. What differs between generators is the size
of a module (fuel, instruction and function counts), the arguments of :func:`smith_flags`.

Used by fuzz/differential.py (the ``differential`` and ``gas`` fuzz targets,
tests/jit/test_jit_differential.py) and tests/cross_isa/corpus.py. No imports beyond the standard
library: the cross-ISA corpus imports it in every test run (emulated aarch64 and installed-wheel
runs included).
"""

from __future__ import annotations

__all__ = ["smith_flags"]

# Wasm 2.0's proposals on, every later one off.
_WASM2_FEATURES = [
    "--multi-value-enabled", "true", "--reference-types-enabled", "true", "--bulk-memory-enabled", "true",
    "--saturating-float-to-int-enabled", "true", "--sign-extension-ops-enabled", "true",
    "--simd-enabled", "false", "--relaxed-simd-enabled", "false", "--threads-enabled", "false",
    "--tail-call-enabled", "false", "--exceptions-enabled", "false", "--gc-enabled", "false",
    "--memory64-enabled", "false", "--custom-page-sizes-enabled", "false", "--wide-arithmetic-enabled", "false",
    "--extended-const-enabled", "false", "--shared-everything-threads-enabled", "false",
]


def smith_flags(*, fuel: int, max_instructions: int, min_funcs: int, max_funcs: int) -> list[str]:
    """smith's command-line flags for modules of the given size (see the module docstring)."""
    return [
        "--ensure-termination", "--fuel", str(fuel), "--canonicalize-nans", "true", "--export-everything", "true",
        "--allow-start-export", "false", "--max-imports", "0", "--max-memories", "1",
        "--max-memory32-bytes", "1048576", "--max-instructions", str(max_instructions),
        "--min-funcs", str(min_funcs), "--max-funcs", str(max_funcs),
        *_WASM2_FEATURES,
    ]
