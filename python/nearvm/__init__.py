"""nearvm: a deterministic, gas-metered WebAssembly runtime for blockchain validators.

Public API: see ARCHITECTURE.md "Public Python API" (docs in README.md).
"""

from ._version import __version__
from .config import Config, GasSchedule
from .errors import (
    ArtifactError,
    CompileError,
    DecodeError,
    Frame,
    InstantiationError,
    LimitError,
    LinkError,
    NearVMError,
    OutOfGas,
    StackOverflow,
    ToolNotFoundError,
    Trap,
    TrapCode,
    ValidationError,
)
from .runtime import Caller, Engine, Func, Global, Instance, Memory, Module, Store, Table
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
    "ValType",
    "ValidationError",
    "__version__",
]
