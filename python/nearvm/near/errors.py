"""NEAR's names for what can go wrong in a function call (nearcore ``FunctionCallError``).

A failed call is not a Python exception: it is an outcome whose ``error`` is a
:class:`FunctionCallError` with NEAR's category (``kind``) and variant (``name``):

* ``CompilationError`` — the contract does not pass NEAR's preparation or does not compile;
* ``LinkError`` — an ``env`` import NEAR does not define, or one declared with the wrong signature;
* ``MethodResolveError`` — ``MethodEmptyName``, ``MethodNotFound``, ``MethodInvalidSignature``
  (NEAR's exported methods take no parameters and return nothing);
* ``WasmTrap`` — ``Unreachable``, ``MemoryOutOfBounds``, ``IllegalArithmetic``, ``StackOverflow``,
  ``IncorrectCallIndirectSignature``, ``CallIndirectOOB``, ``IndirectCallToNull``;
* ``HostError`` — raised by a host function: ``GuestPanic``, ``GasExceeded``, ``GasLimitExceeded``,
  ``ProhibitedInView``, ``MemoryAccessViolation``, ``InvalidRegisterId``, ``NumberOfLogsExceeded``,
  ``TotalLogLengthExceeded``, ``KeyLengthExceeded``, ``ValueLengthExceeded``, ``BadUTF8``,
  ``BadUTF16``, ``InvalidAccountId``, ``InvalidPromiseIndex``, ``BalanceExceeded``, ... and
  ``Unsupported`` for the host functions nearvm refuses (docs/near.md lists them).

Errors of the *caller* (an unknown account, a malformed account id or argument) are
:class:`NearUsageError` exceptions: no call happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import NearVMError

__all__ = ["FunctionCallError", "HostError", "NearUsageError"]


class NearUsageError(NearVMError, ValueError):
    """The request itself is invalid (unknown account, bad account id, bad arguments, bad state file)."""


class HostError(Exception):
    """Raised inside a host function; ends the call with ``FunctionCallError(kind="HostError")``."""

    def __init__(self, name: str, message: str | None = None, **details: Any) -> None:
        self.name = name
        self.details = details
        self.message = message or name
        super().__init__(self.message)


@dataclass(frozen=True)
class FunctionCallError:
    kind: str
    name: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "message": self.message, **(
            {"details": self.details} if self.details else {})}

    def __str__(self) -> str:
        return f"{self.kind}::{self.name}: {self.message}"
