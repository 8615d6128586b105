"""NEAR contract preparation (docs/design.md "NEAR profile").

Under ``Config.near()`` the preparation happens inside :func:`nearvm.wasm.translate` (so inside
``nearvm.Module``): the contract is validated with NEAR's features and limits, only ``env`` function
imports are accepted, and the contract's own memory is replaced by the host-provided import
``("env", "memory", MemoryType(1024, 2048))``. This module offers the same preparation as a
*binary* transform, the way NEAR's ``prepare_contract`` does it, for tools and cross-checks:

* :func:`prepare_contract` returns the prepared Wasm bytes (memory section dropped, ``env.memory``
  import appended, custom sections discarded as NEAR does since protocol version 70). The result is a
  plain Wasm module any engine can run with a host memory of 1024..2048 pages; compiling it with
  ``Config.near(near_prepare=False)`` gives exactly the program ``Config.near()`` gives for the
  original contract.
* :data:`HOST_FUNCTIONS` lists the signatures of NEAR's common ``env`` host functions, and
  :func:`env_imports` builds an import mapping (host memory plus Python handlers) for a module.

Every rule violation raises the frontend's error (a :class:`~nearvm.errors.CompileError`:
``LimitError`` names the ``Config`` field, e.g. ``near_prepare`` for a forbidden import).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..config import Config
from ..wasm.types import FuncType, MemoryType
from .host import SIGNATURES

__all__ = [
    "HOST_FUNCTIONS",
    "NEAR_MEMORY",
    "env_imports",
    "prepare_contract",
    "prepared_config",
]

#: The memory NEAR's host provides to every contract (``initial_memory_pages``/``max_memory_pages``).
NEAR_MEMORY = MemoryType(1024, 2048)

#: Signatures of NEAR's ``env`` host functions (``u64`` is i64); one table, kept with the host
#: environment. NEAR does not check import signatures when preparing: a mismatch is a LinkError.
HOST_FUNCTIONS: dict[str, FuncType] = SIGNATURES


def prepared_config(config: Config | None = None) -> Config:
    """The config that compiles :func:`prepare_contract`'s output like ``config`` compiles the original:
    the same features, limits and gas, with the (already applied) preparation switched off."""
    cfg = config if config is not None else Config.near()
    return dataclasses.replace(cfg, near_prepare=False)


# ---- binary rewriting ------------------------------------------------------------------------------

def uleb(value: int) -> bytes:
    """``value`` (>= 0) as unsigned LEB128 (spec §5.2.2); also the fuzzer's (fuzz/mutate.py)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _name(s: str) -> bytes:
    raw = s.encode()
    return uleb(len(raw)) + raw


def _section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def _memory_import(mem: MemoryType) -> bytes:
    limits = b"\x00" + uleb(mem.minimum) if mem.maximum is None else b"\x01" + uleb(mem.minimum) + uleb(mem.maximum)
    return _name("env") + _name("memory") + b"\x02" + limits


def prepare_contract(wasm: bytes, config: Config | None = None, *, keep_custom_sections: bool = False) -> bytes:
    """Prepare a contract NEAR's way and return the prepared Wasm binary.

    The contract is first compiled with ``config`` (default ``Config.near()``, which must have
    ``near_prepare`` set): every NEAR rule is checked there and a violation raises that
    ``CompileError``. Then the binary is rewritten: the memory section is dropped, the import
    ``("env", "memory", MemoryType(config.near_memory_min, config.near_memory_max))`` is appended
    to the import section (created if there was none), and custom sections are discarded unless
    ``keep_custom_sections``. Everything else is copied byte for byte.
    """
    from ..wasm import translate

    cfg = config if config is not None else Config.near()
    if not cfg.near_prepare:
        raise ValueError("prepare_contract needs a Config with near_prepare=True (e.g. Config.near())")
    data = bytes(wasm)
    translate(data, cfg)  # all NEAR rules; raises CompileError on any violation
    mem = MemoryType(cfg.near_memory_min, cfg.near_memory_max)

    out = bytearray(data[:8])
    pos = 8
    import_done = False
    new_import = _memory_import(mem)
    while pos < len(data):
        sid = data[pos]
        size, body = _read_uleb(data, pos + 1)
        end = body + size
        if sid not in (0, 1, 2) and not import_done:
            # the first section that must follow the import section (only type, 1, may precede it)
            out += _section(2, uleb(1) + new_import)
            import_done = True
        if sid == 0:
            if keep_custom_sections:
                out += data[pos:end]
        elif sid == 2:
            count, p = _read_uleb(data, body)
            out += _section(2, uleb(count + 1) + data[p:end] + new_import)
            import_done = True
        elif sid == 5:
            pass  # the contract's own memory: replaced by the env.memory import
        else:
            out += data[pos:end]
        pos = end
    if not import_done:
        out += _section(2, uleb(1) + new_import)
    return bytes(out)


# ---- host side ---------------------------------------------------------------------------------------

def env_imports(
    store: Any,
    module: Any,
    handlers: Mapping[str, Callable[..., Any]] | None = None,
    *,
    access_caller: bool = False,
    memory: Any = None,
) -> dict[str, dict[str, Any]]:
    """Imports for a NEAR-prepared ``module`` in ``store``: ``{"env": {...}}``.

    ``env.memory`` is ``memory`` or a new ``Memory(store, NEAR_MEMORY)``; each imported function
    ``name`` is ``handlers[name]`` wrapped as a ``Func`` of the type the module declares (with the
    ``Caller`` first if ``access_caller``). Functions without a handler raise ``NotImplementedError``
    when called (a HOST_ERROR trap). Returns the mapping; the memory is ``result["env"]["memory"]``.
    """
    import nearvm

    def api(name: str) -> Any:
        obj = getattr(nearvm, name, None)
        if obj is None:
            import nearvm.runtime as rt

            obj = getattr(rt, name)
        return obj

    handlers = dict(handlers or {})
    env: dict[str, Any] = {}
    for mod, name, ty in module.imports:
        if mod != "env":
            raise ValueError(f"import {mod}.{name}: NEAR contracts import from 'env' only")
        if isinstance(ty, MemoryType):
            env[name] = memory if memory is not None else api("Memory")(store, NEAR_MEMORY)
        elif isinstance(ty, FuncType):
            fn = handlers.get(name)
            if fn is None:
                def fn(*_args: Any, _name: str = name) -> Any:
                    raise NotImplementedError(f"host function env.{_name} is not provided "
                                              "(NEAR contracts with host calls run with `nearvm near call`)")
            env[name] = api("Func")(store, ty, fn, access_caller=access_caller and name in handlers)
        else:  # pragma: no cover - rejected by the preparation already
            raise ValueError(f"import env.{name}: only functions and env.memory are allowed")
    return {"env": env}
