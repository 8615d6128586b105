"""Shared test helpers: assemble WAT text into binary modules with wasm-tools."""

from __future__ import annotations

import pytest

from wasm_text import wat2wasm


@pytest.fixture
def wat():
    return wat2wasm
