"""A minimal fake NEAR host (registers, storage, logs, input/return) for running real contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nearvm
from nearvm.config import Config
from nearvm.near import NEAR_MEMORY, env_imports
from wasm_text import wat2wasm

CONTRACTS = Path(__file__).resolve().parents[3] / "shared" / "near" / "contracts"
DEBIAN_RUSTC = "/usr/bin/rustc"
U64 = 2**64 - 1


def api(name: str) -> Any:
    """A public API object of nearvm (tests name them as strings)."""
    return getattr(nearvm, name)


wat = wat2wasm


def require_execution() -> None:
    try:
        eng = api("Engine")(Config())
        ok, why = bool(eng.can_execute), ("" if eng.can_execute else eng._execution_error())
    except Exception as exc:  # noqa: BLE001
        ok, why = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        pytest.fail(f"this build cannot execute wasm: {why}")


def contract(name: str) -> bytes:
    path = CONTRACTS / name
    if not path.exists():
        pytest.fail(f"missing NEAR test contract {path} (shared/near/contracts)")
    return path.read_bytes()


class GuestPanic(Exception):
    """What NEAR reports for panic / panic_utf8 / abort."""


class FakeNear:
    """The handful of NEAR host functions the test contracts use, on one Store and one memory."""

    def __init__(self, store: Any, input_data: bytes = b"") -> None:
        self.store = store
        self.memory = api("Memory")(store, NEAR_MEMORY)
        self.input = input_data
        self.registers: dict[int, bytes] = {}
        self.storage: dict[bytes, bytes] = {}
        self.logs: list[str] = []
        self.returned: bytes | None = None
        self.calls: list[str] = []

    # memory helpers
    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.memory.data[ptr & U64: (ptr & U64) + (n & U64)])

    def write(self, ptr: int, data: bytes) -> None:
        self.memory.data[ptr & U64: (ptr & U64) + len(data)] = data

    def handlers(self) -> dict[str, Any]:
        def input(reg: int) -> None:  # noqa: A001 - NEAR's name
            self.calls.append("input")
            self.registers[reg & U64] = self.input

        def register_len(reg: int) -> int:
            self.calls.append("register_len")
            data = self.registers.get(reg & U64)
            return U64 if data is None else len(data)

        def read_register(reg: int, ptr: int) -> None:
            self.calls.append("read_register")
            self.write(ptr, self.registers[reg & U64])

        def value_return(n: int, ptr: int) -> None:
            self.calls.append("value_return")
            self.returned = self.read(ptr, n)

        def storage_write(kl: int, kp: int, vl: int, vp: int, reg: int) -> int:
            self.calls.append("storage_write")
            key = self.read(kp, kl)
            old = self.storage.get(key)
            self.storage[key] = self.read(vp, vl)
            if old is not None:
                self.registers[reg & U64] = old
            return int(old is not None)

        def storage_read(kl: int, kp: int, reg: int) -> int:
            self.calls.append("storage_read")
            val = self.storage.get(self.read(kp, kl))
            if val is None:
                return 0
            self.registers[reg & U64] = val
            return 1

        def log_utf8(n: int, ptr: int) -> None:
            self.calls.append("log_utf8")
            self.logs.append(self.read(ptr, n).decode())

        def panic_utf8(n: int, ptr: int) -> None:
            raise GuestPanic(self.read(ptr, n).decode())

        def panic() -> None:
            raise GuestPanic("explicit guest panic")

        def abort(msg: int, filename: int, line: int, col: int) -> None:
            raise GuestPanic(f"abort at {line}:{col}")

        return {"input": input, "register_len": register_len, "read_register": read_register,
                "value_return": value_return, "storage_write": storage_write, "storage_read": storage_read,
                "log_utf8": log_utf8, "panic_utf8": panic_utf8, "panic": panic, "abort": abort}

    def instantiate(self, module: Any) -> Any:
        return api("Instance")(self.store, module, env_imports(self.store, module, self.handlers(), memory=self.memory))


def run_contract(wasm: bytes, method: str, input_data: bytes = b"", *, config: Config | None = None,
                 gas_limit: int | None = None, storage: dict[bytes, bytes] | None = None) -> FakeNear:
    cfg = config if config is not None else Config.near()
    eng = api("Engine")(cfg)
    store = api("Store")(eng, gas_limit=gas_limit)
    host = FakeNear(store, input_data)
    if storage:
        host.storage.update(storage)
    inst = host.instantiate(api("Module")(eng, wasm))
    inst.exports[method]()
    return host
