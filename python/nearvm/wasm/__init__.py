"""nearvm's frontend: decode (spec §5), validate (spec §3) and lower to bytecode (docs/bytecode.md).

``translate(data, config)`` is the one entry point the engine uses; ``decode_module`` and
``validate_module`` expose the stages for tools and tests.
"""

from __future__ import annotations

from .decode import RawModule, decode_module
from .module import ModuleInfo
from .validate import translate, validate_module

__all__ = ["ModuleInfo", "RawModule", "decode_module", "is_valid", "translate", "validate_module"]


def is_valid(data: bytes, config: object | None = None) -> bool:
    """True if ``data`` is a valid module under ``config`` (default: ``Config()``); never raises CompileError."""
    from ..config import Config
    from ..errors import CompileError

    try:
        translate(data, config if isinstance(config, Config) else Config())
    except CompileError:
        return False
    return True
