"""nearvm's exception hierarchy (docs/design.md "Public Python API").

Every error a user can cause is one of these (or an ordinary ValueError/TypeError/IndexError for
host-side API misuse). Trap codes mirror ``nvm_trap_code`` in ``csrc/include/nearvm.h``; the
numeric values are read from C by the runtime and checked against this enum by a test.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "NearVMError",
    "CompileError",
    "DecodeError",
    "ValidationError",
    "LimitError",
    "WatError",
    "LinkError",
    "InstantiationError",
    "ArtifactError",
    "UnauthenticatedArtifactError",
    "TrapCode",
    "Frame",
    "Trap",
    "OutOfGas",
    "StackOverflow",
    "Interrupted",
    "ToolNotFoundError",
]


class NearVMError(Exception):
    """Base class of every nearvm error."""


class CompileError(NearVMError):
    """The module could not be compiled. ``offset`` is the byte offset in the input, if known."""

    def __init__(self, message: str, offset: int | None = None, func_index: int | None = None) -> None:
        self.message = message
        self.offset = offset
        self.func_index = func_index
        where = []
        if func_index is not None:
            where.append(f"func {func_index}")
        if offset is not None:
            where.append(f"offset 0x{offset:x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class DecodeError(CompileError):
    """Malformed binary (spec: ``assert_malformed``)."""


class ValidationError(CompileError):
    """Well-formed but invalid module (spec: ``assert_invalid``)."""


class LimitError(ValidationError):
    """A configured limit (``Config`` or the NEAR profile) was exceeded; ``limit`` names it."""

    def __init__(self, message: str, limit: str, offset: int | None = None, func_index: int | None = None) -> None:
        self.limit = limit
        super().__init__(f"{message} [limit: {limit}]", offset, func_index)


class WatError(CompileError):
    """WebAssembly text that could not be assembled (see :mod:`nearvm.wat`).

    ``line`` and ``column`` are 1-based positions in the text (None if unknown); ``offset`` is None.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__(message + (f" (line {line}, column {column})" if line is not None else ""))
        self.message = message


class LinkError(NearVMError):
    """Imports could not be resolved or have the wrong type (spec: ``assert_unlinkable``)."""


class InstantiationError(NearVMError):
    """Instantiation failed for a reason other than a trap or a link error."""


class ArtifactError(NearVMError):
    """A serialized artifact is corrupted, foreign, or incompatible."""


class ToolNotFoundError(NearVMError):
    """A helper program nearvm runs (``wasm-tools`` for WAT text, say) is not installed.

    ``tool`` is the program's name and ``provider`` what installs it (``None`` if unknown).
    """

    def __init__(self, tool: str, provider: str | None, detail: str = "") -> None:
        self.tool = tool
        self.provider = provider
        msg = f"the program {tool!r} was not found"
        if detail:
            msg += f" ({detail})"
        if provider:
            msg += f"; it is provided by {provider}"
        super().__init__(msg)


class UnauthenticatedArtifactError(ArtifactError):
    """An artifact would have to be loaded without verifying its HMAC, and nobody opted in.

    Loading an artifact runs its machine code: give the Engine the ``artifact_key`` it was signed
    with, or pass ``trusted_unauthenticated=True`` for bytes that never left the process's control.
    """


class TrapCode(enum.IntEnum):
    """Why wasm execution stopped. Values equal ``NVM_TRAP_*`` in nearvm.h."""

    UNREACHABLE = 1
    MEMORY_OUT_OF_BOUNDS = 2
    TABLE_OUT_OF_BOUNDS = 3
    UNINITIALIZED_ELEMENT = 4
    INDIRECT_CALL_TYPE_MISMATCH = 5
    INTEGER_DIVIDE_BY_ZERO = 6
    INTEGER_OVERFLOW = 7
    INVALID_CONVERSION = 8
    STACK_OVERFLOW = 9
    OUT_OF_GAS = 10
    HOST_ERROR = 11
    INTERRUPTED = 12


#: Messages as the spec interpreter words them (used by the spec runner to compare).
TRAP_MESSAGES: dict[TrapCode, str] = {
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.TABLE_OUT_OF_BOUNDS: "out of bounds table access",
    TrapCode.UNINITIALIZED_ELEMENT: "uninitialized element",
    TrapCode.INDIRECT_CALL_TYPE_MISMATCH: "indirect call type mismatch",
    TrapCode.INTEGER_DIVIDE_BY_ZERO: "integer divide by zero",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INVALID_CONVERSION: "invalid conversion to integer",
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.OUT_OF_GAS: "out of gas",
    TrapCode.HOST_ERROR: "host function error",
    TrapCode.INTERRUPTED: "interrupted",
}


#: Frames ``str(trap)`` prints before eliding the middle of a deep backtrace.
_SHOWN_FRAMES = 20


@dataclass(frozen=True)
class Frame:
    """One frame of a trap backtrace, innermost first.

    ``func_index`` is the function's index in its module (imports included) and ``func_name`` its
    name from the module's name section (else its export name, else None). ``offset`` is the byte
    offset in the module's binary of the instruction that trapped (innermost frame) or of the call
    the frame is in (outer frames) — the offset wasmtime reports as ``module_offset`` and
    ``wasm-tools objdump`` prints; ``func_offset`` is the same offset relative to the start of the
    function's body. ``bytecode_offset`` is nearvm's internal offset (docs/bytecode.md). Offsets
    are None when unknown.
    """

    func_index: int
    func_name: str | None
    offset: int | None
    func_offset: int | None = None
    bytecode_offset: int | None = None

    @property
    def module_offset(self) -> int | None:
        """Alias of ``offset`` (wasmtime-py's name)."""
        return self.offset

    def __str__(self) -> str:
        where = f"{self.offset:#x}" if self.offset is not None else "?"
        return f"{where:>8} - {self.func_name or f'<wasm function {self.func_index}>'}"


class Trap(NearVMError):
    """Wasm execution trapped. ``code`` is a :class:`TrapCode`; ``backtrace`` a list of :class:`Frame`."""

    def __init__(self, code: TrapCode, message: str | None = None, backtrace: list[Frame] | None = None) -> None:
        self.code = TrapCode(code)
        self.backtrace: list[Frame] = list(backtrace or [])
        #: The trap's message without the backtrace.
        self.message = message or TRAP_MESSAGES[self.code]
        super().__init__(self.message)

    def __str__(self) -> str:
        """The message, then the wasm backtrace (one frame a line, innermost first) as wasmtime prints
        it; a deep one (recursion) shows its first and last frames around a count of the others."""
        if not self.backtrace:
            return self.message
        lines = [self.message, "wasm backtrace:"]
        frames = list(enumerate(self.backtrace))
        if len(frames) > _SHOWN_FRAMES + 4:
            head, tail = frames[:_SHOWN_FRAMES], frames[-4:]
            lines += [f"  {i:>3}: {frame}" for i, frame in head]
            lines.append(f"       ... {len(frames) - len(head) - len(tail)} more frames ...")
            lines += [f"  {i:>3}: {frame}" for i, frame in tail]
        else:
            lines += [f"  {i:>3}: {frame}" for i, frame in frames]
        return "\n".join(lines)

    @staticmethod
    def from_code(code: TrapCode | int, message: str | None = None, backtrace: list[Frame] | None = None) -> Trap:
        """The right subclass for ``code`` (OutOfGas / StackOverflow / Trap)."""
        code = TrapCode(code)
        cls = {TrapCode.OUT_OF_GAS: OutOfGas, TrapCode.STACK_OVERFLOW: StackOverflow,
               TrapCode.INTERRUPTED: Interrupted}.get(code, Trap)
        if cls is Trap:
            return Trap(code, message, backtrace)
        return cls(message, backtrace)


class OutOfGas(Trap):
    """The gas budget could not pay for the next metered block (or a host charge)."""

    def __init__(self, message: str | None = None, backtrace: list[Frame] | None = None) -> None:
        super().__init__(TrapCode.OUT_OF_GAS, message, backtrace)


class StackOverflow(Trap):
    """The deterministic stack budget was exhausted."""

    def __init__(self, message: str | None = None, backtrace: list[Frame] | None = None) -> None:
        super().__init__(TrapCode.STACK_OVERFLOW, message, backtrace)


class Interrupted(Trap):
    """Unmetered wasm was stopped by an interrupt request (:meth:`nearvm.Store.interrupt_handle`,
    :meth:`nearvm.Store.set_deadline`, Ctrl-C in the CLI)."""

    def __init__(self, message: str | None = None, backtrace: list[Frame] | None = None) -> None:
        super().__init__(TrapCode.INTERRUPTED, message, backtrace)
