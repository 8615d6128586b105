"""Helpers for the metering / stack-budget tests (issue 5): WAT assembly, public API lookup, runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import nearvm
from nearvm.config import Config, GasSchedule
from wasm_text import wat2wasm

#: NEAR's per-instruction cost (ARCHITECTURE.md "Gas and stack semantics").
OP = 822_756
#: NEAR's bulk-operation fee (base + per unit).
BULK_BASE = 26_328_192
BULK_UNIT = 822_756
U64 = 2**64 - 1


def api(name: str) -> Any:
    """A public API object: from ``nearvm`` once re-exported there, until then from ``nearvm.runtime``."""
    obj = getattr(nearvm, name, None)
    if obj is None:
        import nearvm.runtime as rt

        obj = getattr(rt, name)
    return obj


def wat(text: str) -> bytes:
    return wat2wasm(text)


_EXEC: tuple[bool, str] | None = None


def require_execution() -> None:
    """Fail (with the reason) when this build cannot execute wasm: a broken native build is a failure."""
    global _EXEC
    if _EXEC is None:
        try:
            eng = api("Engine")(Config())
            _EXEC = (bool(eng.can_execute), "" if eng.can_execute else eng._execution_error())
        except Exception as exc:  # noqa: BLE001 - any import/build problem means "cannot execute"
            _EXEC = (False, f"{type(exc).__name__}: {exc}")
    if not _EXEC[0]:
        pytest.fail(f"this build cannot execute wasm: {_EXEC[1]}")


def uniform1() -> Config:
    return Config(gas=GasSchedule.uniform(1))


@dataclass
class Run:
    """One instance in its own Store, for calling exports and reading the counters."""

    engine: Any
    store: Any
    instance: Any

    def __call__(self, name: str, *args: Any) -> Any:
        return self.instance.exports[name](*args)

    @property
    def gas_used(self) -> int:
        return int(self.store.gas_used)


def near_memory(store: Any) -> Any:
    """The memory a NEAR host provides: ``env.memory`` of 1024..2048 pages."""
    return api("Memory")(store, nearvm.MemoryType(1024, 2048))


def instantiate(
    text_or_bytes: str | bytes,
    config: Config | None = None,
    *,
    gas_limit: int | None = None,
    imports: dict[str, dict[str, Any]] | None = None,
    store: Any = None,
    engine: Any = None,
) -> Run:
    """Compile WAT (or wasm bytes) under ``config`` and instantiate it in a new (or the given) Store.

    Under a NEAR-prepared config the host's ``env.memory`` is supplied automatically.
    """
    config = config if config is not None else uniform1()
    engine = engine if engine is not None else api("Engine")(config)
    data = wat(text_or_bytes) if isinstance(text_or_bytes, str) else text_or_bytes
    module = api("Module")(engine, data)
    if store is None:
        store = api("Store")(engine, gas_limit=gas_limit)
    imps: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (imports or {}).items()}
    if config.near_prepare and "memory" not in imps.get("env", {}):
        imps.setdefault("env", {})["memory"] = near_memory(store)
    inst = api("Instance")(store, module, imps)
    return Run(engine, store, inst)
