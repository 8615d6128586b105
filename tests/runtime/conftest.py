"""Shared fixtures for runtime tests: WAT -> wasm via the wasm-tools CLI, execution gating."""

from __future__ import annotations

import pytest
from rt_helpers import wat


def _can_execute() -> tuple[bool, str]:
    try:
        from nearvm.runtime import Engine
        from nearvm.wasm import translate  # noqa: F401
    except ImportError as e:
        return False, f"frontend not available: {e}"
    eng = Engine()
    if not eng.can_execute:
        return False, eng._execution_error()
    return True, ""


_EXEC = None


@pytest.fixture
def needs_jit() -> None:
    global _EXEC
    if _EXEC is None:
        _EXEC = _can_execute()
    if not _EXEC[0]:
        pytest.fail(f"this build cannot execute wasm: {_EXEC[1]}")


@pytest.fixture
def wat2wasm():
    return wat
