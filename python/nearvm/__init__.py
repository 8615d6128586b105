"""nearvm: a deterministic, gas-metered WebAssembly runtime for blockchain validators.

Public API: see docs/design.md "Public Python API" (docs in README.md).
"""

from ._version import __version__
from .config import Config, GasSchedule
from .errors import (
    ArtifactError,
    CompileError,
    DecodeError,
    Frame,
    InstantiationError,
    Interrupted,
    LimitError,
    LinkError,
    NearVMError,
    OutOfGas,
    StackOverflow,
    ToolNotFoundError,
    Trap,
    TrapCode,
    UnauthenticatedArtifactError,
    ValidationError,
    WatError,
)
from .runtime import Caller, Engine, Func, Global, Instance, InterruptHandle, Memory, Module, Store, Table
from .wasm.types import FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = [
    "Table",
    "Store",
    "Module",
    "Memory",
    "Instance",
    "Global",
    "Func",
    "Engine",
    "Caller",
    "ArtifactError",
    "CompileError",
    "Config",
    "DecodeError",
    "Frame",
    "FuncType",
    "GasSchedule",
    "GlobalType",
    "InstantiationError",
    "Interrupted",
    "InterruptHandle",
    "LimitError",
    "LinkError",
    "MemoryType",
    "NearVMError",
    "OutOfGas",
    "StackOverflow",
    "TableType",
    "ToolNotFoundError",
    "Trap",
    "TrapCode",
    "UnauthenticatedArtifactError",
    "ValType",
    "ValidationError",
    "WatError",
    "__version__",
]
