"""nearvm's lowered bytecode: the opcode table (``spec``), header generator and disassembler."""

from __future__ import annotations

from .spec import FORMAT_VERSION, MAGIC, OPS, Op

__all__ = ["FORMAT_VERSION", "MAGIC", "OPS", "Op"]
