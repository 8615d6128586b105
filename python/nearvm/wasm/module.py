"""The decoded module (spec §2.5 "Modules"), as plain data.

This is the contract between the frontend (decode/validate/lower) and the runtime (instantiate):
the runtime reads imports, exports, globals, tables, memories, segments and the start function
from here, and hands ``ModuleInfo.program`` (the lowered bytecode, see docs/bytecode.md) to the
C core. Function bodies are not kept as instruction lists: lowering turns each body straight into
bytecode, so nothing here grows per instruction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .types import FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = [
    "ConstExpr",
    "Import",
    "Export",
    "Global",
    "ElemSegment",
    "DataSegment",
    "CustomSection",
    "ModuleInfo",
    "ExternKind",
]

#: Import/export kinds, as in the binary format (spec §5.5.5): 0 func, 1 table, 2 memory, 3 global.
ExternKind = Literal["func", "table", "memory", "global"]

#: A validated constant expression (spec §3.3.10), one instruction:
#:   ("i32.const", int) ("i64.const", int)   -- ints as unsigned bit patterns
#:   ("f32.const", int) ("f64.const", int)   -- raw IEEE bits
#:   ("ref.null", ValType) ("ref.func", func_index) ("global.get", global_index)
ConstExpr = tuple[str, int | ValType]


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: ExternKind
    #: FuncType for func, TableType, MemoryType or GlobalType.
    type: FuncType | TableType | MemoryType | GlobalType


@dataclass(frozen=True)
class Export:
    name: str
    kind: ExternKind
    index: int


@dataclass(frozen=True)
class Global:
    type: GlobalType
    init: ConstExpr


@dataclass(frozen=True)
class ElemSegment:
    """Element segment (spec §2.5.7). ``items`` are const exprs (ref.func / ref.null / global.get)."""

    mode: Literal["active", "passive", "declarative"]
    elem_type: ValType
    items: tuple[ConstExpr, ...]
    table_index: int = 0
    offset: ConstExpr | None = None


@dataclass(frozen=True)
class DataSegment:
    """Data segment (spec §2.5.8)."""

    mode: Literal["active", "passive"]
    data: bytes
    memory_index: int = 0
    offset: ConstExpr | None = None


@dataclass(frozen=True)
class CustomSection:
    name: str
    data: bytes
    offset: int


@dataclass
class ModuleInfo:
    """A decoded and validated module. Index spaces include imports first (spec §2.5.1)."""

    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    #: Type index of every function, imports first.
    func_types: list[int] = field(default_factory=list)
    tables: list[TableType] = field(default_factory=list)  # imports first
    memories: list[MemoryType] = field(default_factory=list)  # imports first
    globals: list[GlobalType] = field(default_factory=list)  # imports first
    #: Initialisers of the module's own globals (index = global index - number of imported globals).
    global_inits: list[ConstExpr] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[ElemSegment] = field(default_factory=list)
    datas: list[DataSegment] = field(default_factory=list)
    data_count: int | None = None
    customs: list[CustomSection] = field(default_factory=list)
    #: Function names from the "name" custom section, where present and well-formed.
    func_names: dict[int, str] = field(default_factory=dict)
    num_imported_funcs: int = 0
    num_imported_tables: int = 0
    num_imported_memories: int = 0
    num_imported_globals: int = 0
    #: The lowered program (docs/bytecode.md): the one bytes object that crosses into C.
    program: bytes = b""
    #: Byte offset in the input of each local function's body (for backtraces / errors).
    body_offsets: list[int] = field(default_factory=list)
    #: Per local function, where its bytecode came from in the input: a flat list of triples
    #: (bytecode offset, wasm start, wasm end), one per run of instructions copied verbatim, in
    #: bytecode order. :func:`wasm_offset` maps a bytecode offset through it.
    wasm_offsets: Sequence[list[int]] = field(default_factory=list)

    def func_type(self, func_index: int) -> FuncType:
        return self.types[self.func_types[func_index]]


def wasm_offset(wmap: list[int], bytecode_offset: int) -> int | None:
    """The input (module) byte offset of the instruction at ``bytecode_offset`` of a body.

    Inside a copied run the offset maps linearly. An op nearvm rewrote (control flow) sits right
    after the run that precedes it in both encodings, so it maps to that run's end; an op nearvm
    inserted (GAS, STACK) or one following another rewritten op maps to the start of the next run
    (the first instruction it belongs to). None if the map is empty.
    """
    import bisect

    n = len(wmap) // 3
    if n == 0:
        return None
    starts = wmap[0::3]
    k = bisect.bisect_right(starts, bytecode_offset) - 1
    if k < 0:
        return wmap[1]
    b, ws, we = wmap[3 * k], wmap[3 * k + 1], wmap[3 * k + 2]
    if bytecode_offset - b <= we - ws or k + 1 == n:
        return ws + min(bytecode_offset - b, we - ws)
    return wmap[3 * k + 4]
