"""Runtime adapters, used inside worker subprocesses only (a crash or hang there costs one cell).

Every adapter exposes the same small surface: ``compile(bytes)``, ``instantiate(module, host)``
returning a ``run(n) -> int`` callable, and optionally ``serialize``/``deserialize``. Import
problems raise :class:`PeerMissing`; everything else propagates and is reported as FAILED.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from typing import Any

PEERS: tuple[str, ...] = ("native", "wasmtime-cranelift", "wasmtime-winch", "wasm3", "nearvm")
#: compile-only pseudo-peer: nearvm's Python frontend (decode, validate, instrument, lower)
FRONTEND = "nearvm-frontend"
#: peers with a metering mode (wasmtime: consume_fuel; nearvm: GasSchedule.uniform(1))
METERED_PEERS: tuple[str, ...] = ("wasmtime-cranelift", "wasmtime-winch", "nearvm")

# wasmtime's C enum wasmtime_strategy_t: AUTO = 0, CRANELIFT = 1, WINCH = 2 (the Python
# wasmtime_strategy_enum in _bindings.py numbers from 1 via auto(), but Config.strategy itself
# passes 0 for "auto" and 1 for "cranelift", matching the C header).
WASMTIME_STRATEGY = {"wasmtime-cranelift": 1, "wasmtime-winch": 2}

HostFn = Callable[[int], int]
RunFn = Callable[[int], int]


class PeerMissing(Exception):
    """The peer cannot be used at all (not installed, not built yet, API absent)."""


def host_inc(x: int) -> int:
    """The host function of the host-call workload: x + 1, wrapped to a signed i32."""
    return ((x + 1 + 2**31) & 0xFFFFFFFF) - 2**31


def _wrap_i64(v: Any) -> int:
    if isinstance(v, (list, tuple)):
        v = v[0]
    return int(v) & 0xFFFFFFFFFFFFFFFF


class Adapter:
    name: str = "?"
    lazy_compile = False
    has_artifacts = False

    def version(self) -> str:
        return "?"

    def compile(self, wasm: bytes) -> Any:
        raise NotImplementedError

    def instantiate(self, module: Any, host: HostFn | None) -> RunFn:
        raise NotImplementedError

    def serialize(self, module: Any) -> bytes:
        raise PeerMissing(f"{self.name} has no artifact format")

    def deserialize(self, blob: bytes) -> Any:
        raise PeerMissing(f"{self.name} has no artifact format")


class WasmtimeAdapter(Adapter):
    has_artifacts = True

    def __init__(self, name: str, metering: bool) -> None:
        try:
            import wasmtime
        except ImportError as exc:
            raise PeerMissing(f"import wasmtime: {exc}") from exc
        self.wt = wasmtime
        self.name = name
        self.metering = metering
        cfg = wasmtime.Config()
        wasmtime._ffi.wasmtime_config_strategy_set(cfg.ptr(), WASMTIME_STRATEGY[name])
        # single-threaded compilation: nearvm compiles on one thread, and the machine is shared
        cfg.parallel_compilation = False
        if metering:
            cfg.consume_fuel = True
        self.engine = wasmtime.Engine(cfg)

    def version(self) -> str:
        from importlib.metadata import version

        return "wasmtime-py " + version("wasmtime")

    def compile(self, wasm: bytes) -> Any:
        return self.wt.Module(self.engine, wasm)

    def instantiate(self, module: Any, host: HostFn | None) -> RunFn:
        wt = self.wt
        store = wt.Store(self.engine)
        if self.metering:
            store.set_fuel(2**63)
        imports: list[Any] = []
        for imp in module.imports:
            if imp.module == "env" and imp.name == "host_inc" and host is not None:
                ty = wt.FuncType([wt.ValType.i32()], [wt.ValType.i32()])
                imports.append(wt.Func(store, ty, host))
            else:
                raise RuntimeError(f"unexpected import {imp.module}.{imp.name}")
        inst = wt.Instance(store, module, imports)
        f = inst.exports(store)["run"]

        def run(n: int) -> int:
            return _wrap_i64(f(store, n))

        return run

    def serialize(self, module: Any) -> bytes:
        return bytes(module.serialize())

    def deserialize(self, blob: bytes) -> Any:
        return self.wt.Module.deserialize(self.engine, blob)


class Wasm3Adapter(Adapter):
    name = "wasm3"
    lazy_compile = True

    def __init__(self) -> None:
        try:
            import wasm3
        except ImportError as exc:
            raise PeerMissing(f"import wasm3 (pip install pywasm3): {exc}") from exc
        self.w3 = wasm3
        self.env = wasm3.Environment()

    def version(self) -> str:
        from importlib.metadata import version

        return f"pywasm3 {version('pywasm3')} (wasm3 {getattr(self.w3, 'M3_VERSION', '?')})"

    def compile(self, wasm: bytes) -> Any:
        # parse only: wasm3 compiles each function lazily at its first call, so its real compile
        # cost shows up in the first call. A parsed module can be loaded into one runtime only.
        return self.env.parse_module(wasm)

    def instantiate(self, module: Any, host: HostFn | None) -> RunFn:
        rt = self.env.new_runtime(1 << 20)
        rt.load(module)
        if host is not None:
            module.link_function("env", "host_inc", "i(i)", host)
        f = rt.find_function("run")

        def run(n: int) -> int:
            return _wrap_i64(f(n))

        return run


def _nearvm_config_classes(nearvm: Any) -> tuple[Any, Any]:
    """nearvm.Config / nearvm.GasSchedule, or their home module nearvm.config before re-export."""
    cfg_cls = getattr(nearvm, "Config", None)
    gas_cls = getattr(nearvm, "GasSchedule", None)
    if cfg_cls is None or gas_cls is None:
        try:
            from nearvm import config as cfg_mod
        except ImportError as exc:
            raise PeerMissing(f"nearvm.Config/GasSchedule: {exc}") from exc
        cfg_cls = cfg_cls or cfg_mod.Config
        gas_cls = gas_cls or cfg_mod.GasSchedule
    return cfg_cls, gas_cls


class NearvmAdapter(Adapter):
    name = "nearvm"
    has_artifacts = True

    def __init__(self, metering: bool) -> None:
        try:
            import nearvm
        except ImportError as exc:
            raise PeerMissing(f"import nearvm: {exc}") from exc
        api: Any = nearvm
        self.via = ""
        names = ("Engine", "Module", "Store", "Instance", "Func")
        if not all(hasattr(nearvm, a) for a in names):
            # before the top-level re-export lands, the same classes live in nearvm.runtime
            try:
                import nearvm.runtime as api
            except ImportError as exc:
                raise PeerMissing(f"nearvm has no Engine/Module/Store/Instance yet: {exc}") from exc
            self.via = " (API from nearvm.runtime, not yet re-exported)"
        missing = [a for a in names if not hasattr(api, a)]
        if missing:
            raise PeerMissing(f"nearvm has no {', '.join(missing)} yet (the runtime has not landed)")
        cfg_cls, gas_cls = _nearvm_config_classes(nearvm)
        self.nv = nearvm
        self.api = api
        cfg = cfg_cls(gas=gas_cls.uniform(1)) if metering else cfg_cls()
        # Signed artifacts, as a validator loads them (the HMAC check is part of the load).
        self.engine = api.Engine(cfg, artifact_key=os.urandom(32))

    def version(self) -> str:
        return "nearvm " + str(getattr(self.nv, "__version__", "?")) + self.via

    def compile(self, wasm: bytes) -> Any:
        return self.api.Module(self.engine, wasm)

    def instantiate(self, module: Any, host: HostFn | None) -> RunFn:
        nv, api = self.nv, self.api
        store = api.Store(self.engine)
        imports: dict[str, dict[str, Any]] = {}
        if host is not None:
            ty = nv.FuncType([nv.ValType.I32], [nv.ValType.I32])
            imports = {"env": {"host_inc": api.Func(store, ty, host)}}
        inst = api.Instance(store, module, imports)
        f = inst.exports["run"]

        def run(n: int) -> int:
            return _wrap_i64(f(n))

        return run

    def serialize(self, module: Any) -> bytes:
        return bytes(module.serialize())

    def deserialize(self, blob: bytes) -> Any:
        return self.api.Module.deserialize(self.engine, blob)


class NearvmFrontendAdapter(Adapter):
    """Only nearvm.wasm.translate(bytes, config): the Python half of Module()."""

    name = FRONTEND

    def __init__(self) -> None:
        try:
            import nearvm
            from nearvm.wasm import translate
        except ImportError as exc:
            raise PeerMissing(f"nearvm.wasm.translate: {exc}") from exc
        cfg_cls, _ = _nearvm_config_classes(nearvm)
        self.nv = nearvm
        self.translate = translate
        self.config = cfg_cls()

    def version(self) -> str:
        return "nearvm " + str(getattr(self.nv, "__version__", "?"))

    def compile(self, wasm: bytes) -> Any:
        return self.translate(wasm, self.config)


class NativeAdapter(Adapter):
    """The same C source built with the host compiler at -O2 and loaded with ctypes."""

    name = "native"

    def version(self) -> str:
        return "host cc -O2"

    def compile(self, wasm: bytes) -> Any:
        raise PeerMissing("native has no wasm compile step")

    def load(self, so_path: str) -> RunFn:
        lib = ctypes.CDLL(so_path)
        f = lib.run
        f.restype = ctypes.c_int64
        f.argtypes = [ctypes.c_int32]

        def run(n: int) -> int:
            return _wrap_i64(f(n))

        return run


def make(peer: str, metering: bool = False) -> Adapter:
    if metering and peer not in METERED_PEERS:
        raise PeerMissing(f"{peer} has no metering mode here")
    if peer in WASMTIME_STRATEGY:
        return WasmtimeAdapter(peer, metering)
    if peer == "wasm3":
        return Wasm3Adapter()
    if peer == "nearvm":
        return NearvmAdapter(metering)
    if peer == FRONTEND:
        return NearvmFrontendAdapter()
    if peer == "native":
        return NativeAdapter()
    raise PeerMissing(f"unknown peer {peer}")
