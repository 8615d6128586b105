"""WebAssembly types (spec §2.3 "Types") — also nearvm's public type objects.

The value-type codes are the binary format's (spec §5.3.1), so decoded bytes map to members
without a lookup, and the same codes are what the bytecode and the C core use.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "ValType",
    "FuncType",
    "Limits",
    "MemoryType",
    "TableType",
    "GlobalType",
    "PAGE_SIZE",
    "MAX_PAGES",
    "MAX_TABLE_SIZE",
]

#: Bytes in one linear-memory page (spec §2.3.6).
PAGE_SIZE = 65536
#: Largest number of pages a 32-bit memory can have (spec §3.2.4: 2^16).
MAX_PAGES = 65536
#: Largest table size (spec §3.2.3: 2^32 - 1).
MAX_TABLE_SIZE = 0xFFFF_FFFF


class ValType(enum.IntEnum):
    """A value type; the integer is the binary encoding (spec §5.3.1/§5.3.3)."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

    @property
    def is_ref(self) -> bool:
        """True for reference types (funcref, externref)."""
        return self in (ValType.FUNCREF, ValType.EXTERNREF)

    @property
    def is_num(self) -> bool:
        """True for number types (i32, i64, f32, f64)."""
        return self in (ValType.I32, ValType.I64, ValType.F32, ValType.F64)

    @property
    def byte_size(self) -> int:
        """Size used by the deterministic stack budget (docs/design.md: refs count 8)."""
        return 4 if self in (ValType.I32, ValType.F32) else (16 if self is ValType.V128 else 8)

    def __repr__(self) -> str:
        return f"ValType.{self.name}"

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class FuncType:
    """A function signature ``[params] -> [results]`` (spec §2.3.5)."""

    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __init__(
        self, params: list[ValType] | tuple[ValType, ...], results: list[ValType] | tuple[ValType, ...]
    ) -> None:
        ps = tuple(ValType(p) for p in params)
        rs = tuple(ValType(r) for r in results)
        object.__setattr__(self, "params", ps)
        object.__setattr__(self, "results", rs)
        # Types are dict keys per type and per import (engine type ids, the frontend's
        # interning); computing the hash once keeps that a lookup, not a tuple walk.
        object.__setattr__(self, "_hash", hash((ps, rs)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]

    def __str__(self) -> str:
        p = " ".join(str(t) for t in self.params)
        r = " ".join(str(t) for t in self.results)
        return f"[{p}] -> [{r}]"


@dataclass(frozen=True)
class Limits:
    """``{min, max?}`` (spec §2.3.4)."""

    minimum: int
    maximum: int | None = None


@dataclass(frozen=True)
class MemoryType:
    """A linear memory type in pages (spec §2.3.6)."""

    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.minimum, int) or self.minimum < 0 or self.minimum > MAX_PAGES:
            raise ValueError(f"memory minimum must be 0..{MAX_PAGES} pages, got {self.minimum!r}")
        if self.maximum is not None:
            if not isinstance(self.maximum, int) or self.maximum < self.minimum or self.maximum > MAX_PAGES:
                raise ValueError(f"memory maximum must be {self.minimum}..{MAX_PAGES} pages, got {self.maximum!r}")

    @property
    def limits(self) -> Limits:
        """``{min, max}`` as a :class:`Limits` (pages)."""
        return Limits(self.minimum, self.maximum)


@dataclass(frozen=True)
class TableType:
    """A table type: element reference type and limits in elements (spec §2.3.7)."""

    element: ValType
    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "element", ValType(self.element))
        if not self.element.is_ref:
            raise ValueError(f"table element type must be a reference type, got {self.element}")
        if not isinstance(self.minimum, int) or not 0 <= self.minimum <= MAX_TABLE_SIZE:
            raise ValueError(f"table minimum out of range: {self.minimum!r}")
        if self.maximum is not None:
            if not isinstance(self.maximum, int) or not self.minimum <= self.maximum <= MAX_TABLE_SIZE:
                raise ValueError(f"table maximum out of range: {self.maximum!r}")

    @property
    def limits(self) -> Limits:
        """``{min, max}`` as a :class:`Limits` (elements)."""
        return Limits(self.minimum, self.maximum)


@dataclass(frozen=True)
class GlobalType:
    """A global's content type and mutability (spec §2.3.8)."""

    content: ValType
    mutable: bool = field(default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", ValType(self.content))
        object.__setattr__(self, "mutable", bool(self.mutable))
