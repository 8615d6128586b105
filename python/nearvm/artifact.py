"""Compiled-module artifacts: the ``.nvm`` container (docs/design.md "Pipeline").

An artifact is everything needed to instantiate a module without the frontend or the JIT: the
decoded module (types, imports, exports, globals and their initialisers, tables, memories,
element and data segments, start function, function names, body offsets), the machine code the
JIT produced (position-independent, so loading is copy + protect), the function offsets and
sizes, the trap-site table and the gas/stack metadata.

Layout (all integers little-endian, fixed width)::

    header   (HEADER_SIZE bytes, see _HEADER)
        magic            8   b"\\x7fNVMART\\n"
        format_version   u32
        header_size      u32
        flags            u32  bit 0: an HMAC-SHA256 trailer follows the checksum
        n_sections       u32
        total_size       u64  the whole blob, trailers included
        nearvm_version   16   ASCII, NUL-padded
        isa              u8   1 x86_64, 2 aarch64
        os_abi           u8   1 sysv (Linux, BSD), 2 darwin, 3 win64
        baseline         u8   CPU baseline id (see BASELINES)
        reserved         u8   0
        reserved         u32  0
        cpu_features     u64  bit set of CPU_FEATURES the code needs
        config_hash      32   sha256 of Config.codegen_key()
        code_hash        32   sha256 of the wasm the artifact was compiled from
    sections (n_sections times, ids strictly increasing, every known id exactly once)
        id u32, reserved u32 = 0, length u64, payload[length]
    checksum 32   sha256 of everything before it
    hmac     32   HMAC-SHA256(key, everything before it)        (only when flags bit 0)

Loading (:func:`load_artifact`) checks, in order: the HMAC when the loader has a key (before
any other byte is looked at), size and checksum, the header (magic, versions, ISA, OS ABI,
config hash, CPU features of this machine), then decodes every section with bounds checks and
cross-checks every index, count, offset and size. Anything wrong is an :class:`ArtifactError`;
no other exception escapes for any input bytes. The encoding has no timestamps, no dict-order
dependence and no padding garbage: the same module, Config and target give the same bytes.
``Module.deserialize``'s fast path checks the same things, except that it skips the checksum of
an artifact whose HMAC it has verified (the HMAC covers the checksum and all it covers).

``Module.deserialize`` (:func:`deserialize_module`) applies the same checks on a fast path
(docs/runtime.md "Artifacts"): the header is compared byte-wise with what the engine accepts
(the reference checks above only run to name what is wrong), the module section is the only one
decoded into Python objects, and C (``nvm_module_import_artifact``) walks the section table and
parses and checks the code, funcs, trap and exec sections straight from the blob.

Custom sections other than the parsed function names are not kept.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import operator
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._version import __version__
from .errors import ArtifactError, TrapCode, UnauthenticatedArtifactError
from .wasm.module import ConstExpr, DataSegment, ElemSegment, Export, Import, ModuleInfo
from .wasm.types import MAX_PAGES, MAX_TABLE_SIZE, FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "CPU_FEATURES",
    "BASELINES",
    "TrapSite",
    "CompiledCode",
    "ExecMeta",
    "Target",
    "ArtifactHeader",
    "Artifact",
    "build_artifact",
    "load_artifact",
    "read_header",
    "config_hash_of",
    "host_cpu_features",
    "host_target",
    "exec_meta_from_program",
    "code_hash_of",
    "sections_of",
]

MAGIC = b"\x7fNVMART\n"
#: Bumped whenever stored machine code would no longer link with this runtime's code:
#: 1 = first x64 JIT; 2 = x64 calling convention with callee-saved local homes and the memory base
#: in r15 set by whoever enters an instance (docs/runtime-abi.md); 3 = every wasm-convention
#: callee (host-call stub included) preserves every home register, so callers save none, and the
#: stack budget lives in each frame's [fp - 16] slot instead of a Store counter; 4 = the header's
#: ISA and OS ABI are the JIT's own target (C jit/target.h, one definition) and the C loader checks
#: them too before mapping any code, so an artifact for another ISA can never reach a code mapping.
#: 5 = unmetered code checks the VMContext's interrupt flag, the module section ends with the
#: bytecode-to-wasm offset maps of backtraces, and table.grow charges a per-element fee in its
#: helper and traps OUT_OF_GAS on the helper's sentinel result.
FORMAT_VERSION = 5
_HEADER = struct.Struct("<8sIIIIQ16sBBBBIQ32s32s")
HEADER_SIZE = _HEADER.size
_SECTION = struct.Struct("<IIQ")
_DIGEST = 32
FLAG_HMAC = 1

# Section ids (strictly increasing in a blob; each exactly once).
SEC_MODULE = 1
SEC_CODE = 2
SEC_FUNCS = 3
SEC_TRAPS = 4
SEC_EXEC = 5
_SECTIONS = (SEC_MODULE, SEC_CODE, SEC_FUNCS, SEC_TRAPS, SEC_EXEC)

ISAS = {"x86_64": 1, "aarch64": 2}
OS_ABIS = {"sysv": 1, "darwin": 2, "win64": 3}

#: CPU features an artifact can require, by bit. Names are Linux /proc/cpuinfo flag names.
CPU_FEATURES: dict[str, int] = {
    # x86_64
    "sse2": 0, "pni": 1, "ssse3": 2, "sse4_1": 3, "sse4_2": 4, "popcnt": 5, "cx16": 6, "lahf_lm": 7,
    "avx": 8, "avx2": 9, "bmi1": 10, "bmi2": 11, "lzcnt": 12, "movbe": 13, "fma": 14, "f16c": 15,
    # aarch64
    "fp": 32, "asimd": 33, "atomics": 34, "crc32": 35,
}

_X64_V1 = ("sse2",)
_X64_V2 = _X64_V1 + ("pni", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm")
_X64_V3 = _X64_V2 + ("avx", "avx2", "bmi1", "bmi2", "lzcnt", "movbe", "fma", "f16c")
#: CPU baselines (``Config.cpu_baseline``): id, ISA, required features.
BASELINES: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "x86-64": (1, "x86_64", _X64_V1),
    "x86-64-v2": (2, "x86_64", _X64_V2),
    "x86-64-v3": (3, "x86_64", _X64_V3),
    "armv8.0": (16, "aarch64", ("fp", "asimd")),
    "armv8.1": (17, "aarch64", ("fp", "asimd", "atomics", "crc32")),
}
#: What the JIT's backends target when the Config does not pin a baseline (masm_x64.cpp: x86-64-v2).
DEFAULT_BASELINE = {"x86_64": "x86-64-v2", "aarch64": "armv8.0"}
_BASELINE_BY_ID = {v[0]: k for k, v in BASELINES.items()}

# Hard caps the loader enforces on top of "fits in the blob" (counts far beyond any Config limit).
MAX_ITEMS = 1 << 24
MAX_STRING = 1 << 20
MAX_BLOB = 1 << 32

_VALTYPES = frozenset(int(v) for v in ValType if v is not ValType.V128)
_REFTYPES = frozenset((int(ValType.FUNCREF), int(ValType.EXTERNREF)))
_KINDS = ("func", "table", "memory", "global")
_CONST_OPS = ("i32.const", "i64.const", "f32.const", "f64.const", "ref.null", "ref.func", "global.get")
_CONST_BITS = {"i32.const": 32, "i64.const": 64, "f32.const": 32, "f64.const": 64}
_ELEM_MODES = ("active", "passive", "declarative")
_DATA_MODES = ("active", "passive")
_N_TRAP_CODES = max(TrapCode)  # NVM_TRAP_UNREACHABLE .. the last trap code
_CALL_SITE_CODE = 0x100  # jit::kCallSiteCode: a call's return address (backtrace offsets)


# ---- data model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrapSite:
    """A place in the code where a trap can originate (jit.h ``TrapSite``)."""

    pc_offset: int
    trap_code: int
    func_index: int
    bytecode_offset: int


_SITE = struct.Struct("<IIII")


@dataclass(frozen=True)
class CompiledCode:
    """The JIT's output for one module (jit.h ``CompiledProgram``), code offsets relative to ``code``.

    ``trap_table`` is the trap-site table packed as it is stored (16-byte little-endian records
    ``pc_offset, trap_code, func_index, bytecode_offset``, sorted by pc): loading never builds one
    Python object per site. :attr:`trap_sites` unpacks it.
    """

    code: bytes
    func_offsets: tuple[int, ...]
    func_sizes: tuple[int, ...]
    trap_table: bytes
    n_imported_funcs: int

    @classmethod
    def with_sites(cls, code: bytes, func_offsets: Iterable[int], func_sizes: Iterable[int],
                   trap_sites: Iterable[TrapSite], n_imported_funcs: int) -> CompiledCode:
        table = b"".join(_SITE.pack(t.pc_offset, t.trap_code, t.func_index, t.bytecode_offset) for t in trap_sites)
        return cls(bytes(code), tuple(func_offsets), tuple(func_sizes), table, n_imported_funcs)

    @property
    def n_trap_sites(self) -> int:
        return len(self.trap_table) // _SITE.size

    @property
    def trap_sites(self) -> tuple[TrapSite, ...]:
        return tuple(TrapSite(*v) for v in _SITE.iter_unpack(self.trap_table))


@dataclass(frozen=True)
class ExecMeta:
    """Gas and stack metadata: whether GAS ops were compiled, the stack budget the Config sets,
    and each local function's frame cost and operand-stack depth (docs/bytecode.md)."""

    gas_enabled: bool = False
    stack_budget: int = 0
    frame_costs: tuple[int, ...] = ()
    max_stacks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Target:
    """What a piece of machine code needs: ISA, OS ABI and CPU baseline."""

    isa: str
    os_abi: str
    baseline: str

    def __post_init__(self) -> None:
        if self.isa not in ISAS:
            raise ValueError(f"unknown ISA {self.isa!r}")
        if self.os_abi not in OS_ABIS:
            raise ValueError(f"unknown OS ABI {self.os_abi!r}")
        if self.baseline not in BASELINES or BASELINES[self.baseline][1] != self.isa:
            raise ValueError(f"CPU baseline {self.baseline!r} is not a baseline of {self.isa}")

    @property
    def features(self) -> int:
        bits = 0
        for name in BASELINES[self.baseline][2]:
            bits |= 1 << CPU_FEATURES[name]
        return bits


@dataclass(frozen=True)
class ArtifactHeader:
    format_version: int
    nearvm_version: str
    target: Target
    cpu_features: int
    config_hash: bytes
    code_hash: bytes
    has_hmac: bool
    total_size: int


@dataclass
class Artifact:
    header: ArtifactHeader
    info: ModuleInfo
    compiled: CompiledCode
    exec_meta: ExecMeta = field(default_factory=ExecMeta)


# ---- host probing -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def host_isa() -> str:
    """The ISA the native library compiles for and runs (C ``jit/target.h``: the one place the
    target is decided, so artifacts record exactly what the JIT generated)."""
    ffi, lib = _native()
    return str(ffi.string(lib.nvm_host_isa()).decode("ascii"))


@functools.lru_cache(maxsize=1)
def host_os_abi() -> str:
    """The host C ABI the native library's code calls into (C ``jit/target.h``)."""
    ffi, lib = _native()
    return str(ffi.string(lib.nvm_host_os_abi()).decode("ascii"))


@functools.lru_cache(maxsize=1)
def host_cpu_features() -> frozenset[str]:
    """The CPU features of this machine, as /proc/cpuinfo flag names (the one CPU probe).

    Linux: /proc/cpuinfo ``flags`` / ``Features``; macOS: sysctl; elsewhere (and when the probe
    fails) the default baseline of the ISA is assumed, since the library itself requires it.
    """
    isa = host_isa()
    found: set[str] = set()
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() in ("flags", "Features"):
                        found.update(value.split())
                        break
            if isa == "aarch64" and "fp" not in found:  # some kernels omit basic features
                found.update(("fp", "asimd"))
        elif sys.platform == "darwin":
            if isa == "x86_64":
                out = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features",
                                      "machdep.cpu.extfeatures"], capture_output=True, text=True, timeout=5).stdout
                mac = {"SSE2": "sse2", "SSE3": "pni", "SSSE3": "ssse3", "SSE4.1": "sse4_1", "SSE4.2": "sse4_2",
                       "POPCNT": "popcnt", "CX16": "cx16", "LAHF": "lahf_lm", "AVX1.0": "avx", "AVX2": "avx2",
                       "BMI1": "bmi1", "BMI2": "bmi2", "LZCNT": "lzcnt", "MOVBE": "movbe", "FMA": "fma",
                       "F16C": "f16c"}
                found.update(mac[w] for w in out.split() if w in mac)
            else:
                found.update(("fp", "asimd"))
                for name, sysctl in (("atomics", "hw.optional.armv8_1_atomics"),
                                     ("crc32", "hw.optional.armv8_crc32")):
                    out = subprocess.run(["sysctl", "-n", sysctl], capture_output=True, text=True, timeout=5)
                    if out.stdout.strip() == "1":
                        found.add(name)
    except (OSError, subprocess.SubprocessError):
        found = set()
    if not found and isa in DEFAULT_BASELINE:
        found.update(BASELINES[DEFAULT_BASELINE[isa]][2])
    return frozenset(found)


def _features_bits(names: Iterable[str]) -> int:
    bits = 0
    for n in names:
        if n in CPU_FEATURES:
            bits |= 1 << CPU_FEATURES[n]
    return bits


def baseline_of(config: Any, isa: str | None = None) -> str:
    """The CPU baseline a Config pins (``Config.cpu_baseline``), else the ISA's default."""
    isa = isa or host_isa()
    b = getattr(config, "cpu_baseline", None)
    if isinstance(b, str) and b:
        return b
    return DEFAULT_BASELINE.get(isa, "x86-64-v2")


def host_target(config: Any = None) -> Target:
    isa = host_isa()
    return Target(isa, host_os_abi(), baseline_of(config, isa))


def config_hash_of(config: Any) -> bytes:
    """32-byte hash of everything in a Config that affects codegen (``Config.codegen_key()``)."""
    key = getattr(config, "codegen_key", None)
    if callable(key):
        raw = key()
        data = raw if isinstance(raw, bytes) else str(raw).encode()
    else:  # a Config without codegen_key: its repr is a stable dataclass repr
        data = repr(config).encode()
    return hashlib.sha256(b"nearvm-config\0" + data).digest()


# ---- encoding -----------------------------------------------------------------------------------

class _W:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self.parts.append(struct.pack("<B", v))

    def u32(self, v: int) -> None:
        self.parts.append(struct.pack("<I", v))

    def u64(self, v: int) -> None:
        self.parts.append(struct.pack("<Q", v))

    def opt32(self, v: int | None) -> None:
        if v is None:
            self.u8(0)
        else:
            self.u8(1)
            self.u32(v)

    def raw(self, b: bytes) -> None:
        self.u32(len(b))
        self.parts.append(bytes(b))

    def str(self, s: str) -> None:
        self.raw(s.encode("utf-8"))

    def u32s(self, vs: Iterable[int]) -> None:
        vs = list(vs)
        self.u32(len(vs))
        self.parts.append(struct.pack(f"<{len(vs)}I", *vs))

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def _w_functype(w: _W, t: FuncType) -> None:
    w.raw(bytes(int(p) for p in t.params))
    w.raw(bytes(int(r) for r in t.results))


def _w_limits(w: _W, minimum: int, maximum: int | None) -> None:
    w.u32(minimum)
    w.opt32(maximum)


def _w_type(w: _W, kind: str, t: Any) -> None:
    if kind == "func":
        _w_functype(w, t)
    elif kind == "table":
        w.u8(int(t.element))
        _w_limits(w, t.minimum, t.maximum)
    elif kind == "memory":
        _w_limits(w, t.minimum, t.maximum)
    else:
        w.u8(int(t.content))
        w.u8(1 if t.mutable else 0)


def _w_const(w: _W, c: ConstExpr) -> None:
    op, v = c
    w.u8(_CONST_OPS.index(op))
    w.u64(int(v))


def _encode_module(info: ModuleInfo) -> bytes:
    w = _W()
    w.u32(len(info.types))
    for t in info.types:
        _w_functype(w, t)
    w.u32(len(info.imports))
    for imp in info.imports:
        w.str(imp.module)
        w.str(imp.name)
        w.u8(_KINDS.index(imp.kind))
        if imp.kind == "func":
            w.u32(info.types.index(imp.type))  # type index, the rest via func_types
        else:
            _w_type(w, imp.kind, imp.type)
    w.u32s(info.func_types)
    w.u32(len(info.tables))
    for tt in info.tables:
        _w_type(w, "table", tt)
    w.u32(len(info.memories))
    for mt in info.memories:
        _w_type(w, "memory", mt)
    w.u32(len(info.globals))
    for gt in info.globals:
        _w_type(w, "global", gt)
    w.u32(len(info.global_inits))
    for c in info.global_inits:
        _w_const(w, c)
    w.u32(len(info.exports))
    for e in info.exports:
        w.str(e.name)
        w.u8(_KINDS.index(e.kind))
        w.u32(e.index)
    w.opt32(info.start)
    w.u32(len(info.elems))
    for el in info.elems:
        w.u8(_ELEM_MODES.index(el.mode))
        w.u8(int(el.elem_type))
        w.u32(el.table_index)
        w.u8(0 if el.offset is None else 1)
        if el.offset is not None:
            _w_const(w, el.offset)
        w.u32(len(el.items))
        for c in el.items:
            _w_const(w, c)
    w.u32(len(info.datas))
    for d in info.datas:
        w.u8(_DATA_MODES.index(d.mode))
        w.u32(d.memory_index)
        w.u8(0 if d.offset is None else 1)
        if d.offset is not None:
            _w_const(w, d.offset)
        w.raw(d.data)
    w.opt32(info.data_count)
    names = sorted(info.func_names.items())
    w.u32(len(names))
    for idx, name in names:
        w.u32(idx)
        w.str(name)
    w.u32(info.num_imported_funcs)
    w.u32(info.num_imported_tables)
    w.u32(info.num_imported_memories)
    w.u32(info.num_imported_globals)
    w.u32s(info.body_offsets)
    # Bytecode-to-wasm offset maps (backtraces), length-prefixed so that loading skips them: they
    # are decoded on the first backtrace (_LazyOffsetMaps).
    w.raw(encode_offset_maps(info.wasm_offsets))
    return w.bytes()


def _encode_funcs(c: CompiledCode) -> bytes:
    w = _W()
    w.u32(c.n_imported_funcs)
    w.u32s(c.func_offsets)
    w.u32s(c.func_sizes)
    return w.bytes()


def _encode_traps(c: CompiledCode) -> bytes:
    w = _W()
    if len(c.trap_table) % _SITE.size:
        raise ValueError("trap table is not a whole number of records")
    w.u32(c.n_trap_sites)
    w.parts.append(bytes(c.trap_table))
    return w.bytes()


def _encode_exec(m: ExecMeta) -> bytes:
    w = _W()
    w.u32(1 if m.gas_enabled else 0)
    w.u64(m.stack_budget)
    w.u32s(m.frame_costs)
    w.u32s(m.max_stacks)
    return w.bytes()


def build_artifact(info: ModuleInfo, compiled: CompiledCode, *, config_hash: bytes, code_hash: bytes,
                   target: Target, exec_meta: ExecMeta | None = None, key: bytes | None = None,
                   nearvm_version: str = __version__) -> bytes:
    """Encode an artifact. Byte-for-byte deterministic in its inputs. ``key`` adds the HMAC trailer.

    Raises ValueError if the inputs are inconsistent (the same checks the loader applies).
    """
    if len(config_hash) != _DIGEST or len(code_hash) != _DIGEST:
        raise ValueError("config_hash and code_hash must be 32 bytes")
    meta = exec_meta or ExecMeta()
    ver = nearvm_version.encode("ascii")
    if len(ver) > 16:
        raise ValueError("nearvm version string longer than 16 bytes")
    try:
        sections = {
            SEC_MODULE: _encode_module(info),
            SEC_CODE: bytes(compiled.code),
            SEC_FUNCS: _encode_funcs(compiled),
            SEC_TRAPS: _encode_traps(compiled),
            SEC_EXEC: _encode_exec(meta),
        }
    except (struct.error, ValueError, TypeError) as e:
        raise ValueError(f"cannot encode artifact: {e}") from e
    blob = _assemble(sections, target=target, config_hash=config_hash, code_hash=code_hash, key=key,
                     nearvm_version=nearvm_version)
    # Self-check: what we write must be what we would accept (catches encoder/decoder drift).
    try:
        _decode_sections(blob, _parse_header(blob))
    except ArtifactError as e:
        raise ValueError(f"inconsistent artifact contents: {e}") from None
    return blob


def _assemble(sections: dict[int, bytes], *, target: Target, config_hash: bytes, code_hash: bytes,
              key: bytes | None, nearvm_version: str = __version__, format_version: int = FORMAT_VERSION,
              features: int | None = None) -> bytes:
    """Header + sections + checksum (+ HMAC), no consistency checks (the loader's tests use it)."""
    body = b"".join(_SECTION.pack(sid, 0, len(p)) + p for sid, p in sections.items())
    flags = FLAG_HMAC if key is not None else 0
    total = HEADER_SIZE + len(body) + _DIGEST + (_DIGEST if key is not None else 0)
    header = _HEADER.pack(MAGIC, format_version, HEADER_SIZE, flags, len(sections), total,
                          nearvm_version.encode("ascii"), ISAS[target.isa], OS_ABIS[target.os_abi],
                          BASELINES[target.baseline][0], 0, 0, target.features if features is None else features,
                          config_hash, code_hash)
    blob = header + body
    blob += hashlib.sha256(blob).digest()
    if key is not None:
        blob += hmac.new(key, blob, hashlib.sha256).digest()
    return blob


def sections_of(blob: bytes) -> dict[int, bytes]:
    """The raw section payloads of a (checksum-valid) artifact, for tools and tests."""
    h = read_header(blob)
    art_end = h.total_size - _DIGEST * (2 if h.has_hmac else 1)
    out: dict[int, bytes] = {}
    pos = HEADER_SIZE
    while pos < art_end:
        if art_end - pos < _SECTION.size:
            raise ArtifactError("artifact section table truncated")
        sid, _, length = _SECTION.unpack_from(blob, pos)
        pos += _SECTION.size
        if length > art_end - pos:
            raise ArtifactError("artifact section overruns the blob")
        out[sid] = bytes(blob[pos:pos + length])
        pos += length
    return out


# ---- decoding -----------------------------------------------------------------------------------

class _R:
    __slots__ = ("b", "p", "end", "what", "func_types_at", "data_at")

    def __init__(self, b: bytes | memoryview, what: str) -> None:
        self.b = b
        self.p = 0
        self.end = len(b)
        self.what = what
        # Filled by _decode_module for the C loader: where the function type indices and each
        # data segment's bytes are, relative to the section.
        self.func_types_at = 0
        self.data_at: list[int] = []

    def fail(self, msg: str) -> ArtifactError:
        return ArtifactError(f"artifact {self.what} section: {msg} (at byte {self.p})")

    def need(self, n: int) -> None:
        if n < 0 or self.end - self.p < n:
            raise self.fail("truncated")

    def u8(self) -> int:
        self.need(1)
        v = self.b[self.p]
        self.p += 1
        return v

    def u32(self) -> int:
        self.need(4)
        v: int = struct.unpack_from("<I", self.b, self.p)[0]
        self.p += 4
        return v

    def u64(self) -> int:
        self.need(8)
        v: int = struct.unpack_from("<Q", self.b, self.p)[0]
        self.p += 8
        return v

    def flag(self) -> bool:
        v = self.u8()
        if v > 1:
            raise self.fail(f"bad flag byte {v}")
        return v == 1

    def opt32(self) -> int | None:
        return self.u32() if self.flag() else None

    def count(self, min_item_size: int, cap: int = MAX_ITEMS) -> int:
        """A count of items each at least ``min_item_size`` bytes: must fit in what remains."""
        n = self.u32()
        if n > cap or n * max(min_item_size, 1) > self.end - self.p:
            raise self.fail(f"count {n} exceeds the section")
        return n

    def raw(self, cap: int = MAX_BLOB) -> bytes:
        n = self.u32()
        if n > cap:
            raise self.fail(f"length {n} too large")
        self.need(n)
        v = bytes(self.b[self.p:self.p + n])
        self.p += n
        return v

    def str(self) -> str:
        raw = self.raw(MAX_STRING)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("invalid UTF-8 in a name") from None

    def u32s(self) -> tuple[int, ...]:
        n = self.count(4)
        v = struct.unpack_from(f"<{n}I", self.b, self.p)
        self.p += 4 * n
        return tuple(v)

    def done(self) -> None:
        if self.p != self.end:
            raise self.fail(f"{self.end - self.p} trailing bytes")


_U32 = struct.Struct("<I").unpack_from
_U32U8 = struct.Struct("<IB").unpack_from
_CONST = struct.Struct("<BQ").unpack_from
_CONST_ITER = struct.Struct("<BQ").iter_unpack
_CONST_SIZE = 9
_U8U32 = struct.Struct("<BI").unpack_from
_U32X2 = struct.Struct("<II").unpack_from
_U32X4 = struct.Struct("<IIII").unpack_from
#: Value types by encoding (V128 excluded: no SIMD), and the reference types alone.
_VT = {int(v): v for v in ValType if v is not ValType.V128}
_RT = {int(v): v for v in (ValType.FUNCREF, ValType.EXTERNREF)}

# Interned type objects (all frozen): a module's types decode to shared instances, so loading
# builds no new FuncType/MemoryType/... for types seen before. Bounded: cleared when large.
_INTERN_MAX = 4096
_FUNC_TYPES: dict[bytes, FuncType] = {}


def _intern_functype(key: bytes, params: bytes, results: bytes) -> FuncType | None:
    """The FuncType of raw param/result value types, or None if one is not a value type."""
    t = _FUNC_TYPES.get(key)
    if t is None:
        vt = _VT
        if not all(v in vt for v in params) or not all(v in vt for v in results):
            return None
        t = FuncType([vt[v] for v in params], [vt[v] for v in results])
        if len(_FUNC_TYPES) >= _INTERN_MAX:
            _FUNC_TYPES.clear()
        _FUNC_TYPES[key] = t
    return t


class _Fail(Exception):
    """Internal: a decoding failure (becomes an ArtifactError naming the section)."""


def _decode_module(r: _R) -> ModuleInfo:
    """Decode and check the module section: one flat pass, checks included (it runs on every
    ``Module.deserialize``).

    Fixed-width reads go through ``struct.unpack_from``, which raises on a read past the end
    (reported as truncation); every count is checked against what remains (count x the smallest
    encoding of an item) before its loop, every variable-length read explicitly. Cross-checks:
    every index in range, the import index spaces consistent with the imports.
    """
    b = r.b if isinstance(r.b, bytes) else bytes(r.b)
    try:
        return _decode_module_body(b, r)
    except (struct.error, IndexError):
        raise r.fail("truncated") from None
    except UnicodeDecodeError:
        raise r.fail("invalid UTF-8 in a name") from None
    except _Fail as e:
        raise r.fail(str(e)) from None


def _limits(b: bytes, q: int, cap: int) -> tuple[int, int | None, int]:
    lo, flag = _U32U8(b, q)
    q += 5
    if flag == 0:
        hi = None
    elif flag == 1:
        hi = _U32(b, q)[0]
        q += 4
    else:
        raise _Fail(f"bad flag byte {flag}")
    if lo > cap or (hi is not None and not lo <= hi <= cap):
        raise _Fail(f"bad limits {lo}..{hi}")
    return lo, hi, q


# Table, memory and global types interned by their encoding (kind byte + the encoded type), so
# a type seen before costs one slice and one lookup. Only valid encodings are ever stored.
_TYPES_BY_BYTES: dict[bytes, Any] = {}


def _remember(key: bytes, t: Any) -> Any:
    if len(_TYPES_BY_BYTES) >= _INTERN_MAX:
        _TYPES_BY_BYTES.clear()
    _TYPES_BY_BYTES[key] = t
    return t


def _table_type(b: bytes, q: int) -> tuple[TableType, int]:
    e = q + (10 if b[q + 5] == 1 else 6)  # element type, min, flag, [max]
    t = _TYPES_BY_BYTES.get(b"\1" + b[q:e])
    if t is not None and e <= len(b):
        return t, e
    el = _RT.get(b[q])
    if el is None:
        raise _Fail(f"bad value type 0x{b[q]:02x}")
    lo, hi, q2 = _limits(b, q + 1, MAX_TABLE_SIZE)
    return _remember(b"\1" + b[q:q2], TableType(el, lo, hi)), q2


def _memory_type(b: bytes, q: int) -> tuple[MemoryType, int]:
    e = q + (9 if b[q + 4] == 1 else 5)  # min, flag, [max]
    t = _TYPES_BY_BYTES.get(b"\2" + b[q:e])
    if t is not None and e <= len(b):
        return t, e
    lo, hi, q2 = _limits(b, q, MAX_PAGES)
    return _remember(b"\2" + b[q:q2], MemoryType(lo, hi)), q2


def _global_type(b: bytes, q: int) -> tuple[GlobalType, int]:
    t = _TYPES_BY_BYTES.get(b"\3" + b[q:q + 2])
    if t is not None and q + 2 <= len(b):
        return t, q + 2
    vt = _VT.get(b[q])
    if vt is None:
        raise _Fail(f"bad value type 0x{b[q]:02x}")
    mut = b[q + 1]
    if mut > 1:
        raise _Fail(f"bad flag byte {mut}")
    return _remember(b"\3" + b[q:q + 2], GlobalType(vt, mut == 1)), q + 2


def _const(b: bytes, q: int, n_funcs: int, n_globals: int) -> ConstExpr:
    """A constant expression (9 bytes at q): ref.func < n_funcs, global.get < n_globals."""
    op, v = _CONST(b, q)
    if op < 4:  # i32/i64/f32/f64.const: the value fits the type
        if v >> (64 if op & 1 else 32):
            raise _Fail(f"{_CONST_OPS[op]} value out of range")
        return (_CONST_OPS[op], v)
    if op == 4:
        rt = _RT.get(v)
        if rt is None:
            raise _Fail("bad ref.null type")
        return ("ref.null", rt)
    if op == 5:
        if v >= n_funcs:
            raise _Fail(f"ref.func {v} out of range")
        return ("ref.func", v)
    if op == 6:
        if v >= n_globals:
            raise _Fail(f"global.get {v} out of range")
        return ("global.get", v)
    raise _Fail(f"bad constant expression op {op}")


_CONST_TYPES = {"i32.const": ValType.I32, "i64.const": ValType.I64, "f32.const": ValType.F32,
                "f64.const": ValType.F64, "ref.func": ValType.FUNCREF}


def _typed(c: ConstExpr, want: ValType, globals_: list[GlobalType], what: str) -> ConstExpr:
    """``c`` if it is a constant expression of type ``want`` (spec §3.3.10, as the validator
    checks it): global.get reads an immutable global of that type, ref.null names it."""
    op, arg = c
    if op == "global.get":
        g = globals_[arg]
        if g.mutable:
            raise _Fail(f"{what}: global.get of mutable global {arg} is not a constant expression")
        have = g.content
    elif op == "ref.null":
        have = arg
    else:
        have = _CONST_TYPES[op]
    if have is not want:
        raise _Fail(f"{what}: constant expression of type {have} where {want} is required")
    return c


def _consts(b: bytes, p: int, n: int, n_funcs: int, n_globals: int) -> tuple[ConstExpr, ...]:
    """n constant expressions at p (bounds already checked). Element segments are mostly long
    runs of ref.func: those are checked in bulk."""
    if n > 1:
        raw = b[p:p + _CONST_SIZE * n]
        if raw[0::_CONST_SIZE].count(5) == n:
            vals = [v for _, v in _CONST_ITER(raw)]
            if max(vals) >= n_funcs:
                raise _Fail(f"ref.func {max(vals)} out of range")
            return tuple([("ref.func", v) for v in vals])
    return tuple([_const(b, p + _CONST_SIZE * i, n_funcs, n_globals) for i in range(n)])


def _segment_offset(b: Any, p: int, active: bool, index: int, count: int, nf: int, globals_: list[GlobalType],
                    what: str, target: str) -> tuple[Any, int]:
    """A segment's flag byte and optional offset expression (an i32) at ``p``; an active segment
    needs a valid table/memory index and an offset, a passive/declarative one neither."""
    has_off = b[p]
    p += 1
    if has_off > 1:
        raise _Fail(f"bad flag byte {has_off}")
    off = None
    if has_off:
        off = _typed(_const(b, p, nf, len(globals_)), ValType.I32, globals_, f"{what} segment offset")
        p += _CONST_SIZE
    if active:
        if index >= count or off is None:
            raise _Fail(f"active {what} segment without a valid {target}/offset")
    elif off is not None or index != 0:
        kind = "passive/declarative" if what == "element" else "passive"
        raise _Fail(f"{kind} {what} segment with a {target}/offset")
    return off, p


def _decode_module_body(b: bytes, r: _R) -> ModuleInfo:  # noqa: C901 (one flat decoder, on purpose)
    end = len(b)
    u32 = _U32
    # types: params and results as length-prefixed value-type bytes
    n = u32(b, 0)[0]
    p = 4
    if n > MAX_ITEMS or 8 * n > end - p:
        raise _Fail(f"type count {n} exceeds the section")
    types: list[FuncType] = []
    for _ in range(n):
        np_ = u32(b, p)[0]
        if np_ > MAX_ITEMS or np_ > end - p - 8:
            raise _Fail("function type exceeds the section")
        q = p + 4 + np_
        nr = u32(b, q)[0]
        if nr > MAX_ITEMS or nr > end - q - 4:
            raise _Fail("function type exceeds the section")
        e = q + 4 + nr
        t = _FUNC_TYPES.get(b[p:e]) or _intern_functype(b[p:e], b[p + 4:q], b[q + 4:e])
        if t is None:
            raise _Fail("bad value type in a function type")
        types.append(t)
        p = e
    nt = len(types)
    # imports (and the index spaces they open, checked below)
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 11 * n > end - p:
        raise _Fail(f"import count {n} exceeds the section")
    imports = []
    imp_funcs: list[int] = []
    imp_other: list[tuple[int, Any]] = []
    for _ in range(n):
        ln = u32(b, p)[0]
        p += 4
        if ln > MAX_STRING or ln > end - p:
            raise _Fail(f"string length {ln} exceeds the section")
        mod = b[p:p + ln].decode("utf-8")
        p += ln
        ln = u32(b, p)[0]
        p += 4
        if ln > MAX_STRING or ln > end - p:
            raise _Fail(f"string length {ln} exceeds the section")
        name = b[p:p + ln].decode("utf-8")
        p += ln
        k = b[p]
        p += 1
        if k == 0:
            ti = u32(b, p)[0]
            p += 4
            if ti >= nt:
                raise _Fail(f"import type index {ti} out of range")
            imports.append(Import(mod, name, "func", types[ti]))
            imp_funcs.append(ti)
            continue
        if k == 1:
            ty, p = _table_type(b, p)
        elif k == 2:
            ty, p = _memory_type(b, p)
        elif k == 3:
            ty, p = _global_type(b, p)
        else:
            raise _Fail(f"bad import kind {k}")
        imports.append(Import(mod, name, _KINDS[k], ty))  # type: ignore[arg-type]
        imp_other.append((k, ty))
    # function type indices (their position is handed to the C loader)
    n = u32(b, p)[0]
    if n > MAX_ITEMS or 4 * n > end - p - 4:
        raise _Fail(f"function count {n} exceeds the section")
    r.func_types_at = p + 4
    func_types = list(struct.unpack_from(f"<{n}I", b, p + 4))
    p += 4 + 4 * n
    nf = n
    if n and max(func_types) >= nt:
        raise _Fail(f"function type index {max(func_types)} out of range")
    # tables, memories, globals
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 6 * n > end - p:
        raise _Fail(f"table count {n} exceeds the section")
    tables = []
    for _ in range(n):
        tt, p = _table_type(b, p)
        tables.append(tt)
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 5 * n > end - p:
        raise _Fail(f"memory count {n} exceeds the section")
    memories = []
    for _ in range(n):
        mt, p = _memory_type(b, p)
        memories.append(mt)
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 2 * n > end - p:
        raise _Fail(f"global count {n} exceeds the section")
    globals_ = []
    for _ in range(n):
        gt, p = _global_type(b, p)
        globals_.append(gt)
    ntab, nmem, ng = len(tables), len(memories), len(globals_)
    # Imports against their index spaces: imported item i of a kind is item i of its space.
    for i, ti in enumerate(imp_funcs):
        if i >= nf or types[func_types[i]] != types[ti]:
            raise _Fail(f"imported function {i} disagrees with its index space")
    seen = [0, 0, 0, 0]
    spaces = (None, tables, memories, globals_)
    for k, ty in imp_other:
        i = seen[k]
        seen[k] = i + 1
        space = spaces[k]
        if i >= len(space) or space[i] != ty:  # type: ignore[arg-type]
            raise _Fail(f"imported {_KINDS[k]} {i} disagrees with its index space")
    n_imp_globals = seen[3]
    # global initialisers: one per own global; global.get only of the globals before it
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or _CONST_SIZE * n > end - p:
        raise _Fail(f"global initialiser count {n} exceeds the section")
    if n != ng - n_imp_globals:
        raise _Fail("global initialisers do not match the globals")
    global_inits = [_typed(_const(b, p + _CONST_SIZE * i, nf, n_imp_globals + i),
                           globals_[n_imp_globals + i].content, globals_, f"global {n_imp_globals + i}")
                    for i in range(n)]
    p += _CONST_SIZE * n
    # exports: unique names, indices in their spaces
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 9 * n > end - p:
        raise _Fail(f"export count {n} exceeds the section")
    exports = []
    space_lens = (nf, ntab, nmem, ng)
    for _ in range(n):
        ln = u32(b, p)[0]
        p += 4
        if ln > MAX_STRING or ln > end - p:
            raise _Fail(f"string length {ln} exceeds the section")
        name = b[p:p + ln].decode("utf-8")
        p += ln
        k, idx = _U8U32(b, p)
        p += 5
        if k > 3:
            raise _Fail(f"bad export kind {k}")
        if idx >= space_lens[k]:
            raise _Fail(f"export {name!r} index {idx} out of range")
        exports.append(Export(name, _KINDS[k], idx))  # type: ignore[arg-type]
    if len({e.name for e in exports}) != len(exports):
        raise _Fail("duplicate export names")
    # start function: a function of type [] -> []
    flag = b[p]
    if flag == 0:
        start = None
        p += 1
    elif flag == 1:
        start = u32(b, p + 1)[0]
        p += 5
        if start >= nf:
            raise _Fail("start function out of range")
        st = types[func_types[start]]
        if st.params or st.results:
            raise _Fail("start function has a non-empty type")
    else:
        raise _Fail(f"bad flag byte {flag}")
    # element segments: mode, type, table, optional offset, items
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 11 * n > end - p:
        raise _Fail(f"element segment count {n} exceeds the section")
    elems = []
    for _ in range(n):
        mode, et_raw = b[p], b[p + 1]
        if mode > 2:
            raise _Fail(f"bad element segment mode {mode}")
        et = _RT.get(et_raw)
        if et is None:
            raise _Fail(f"bad value type 0x{et_raw:02x}")
        ti = u32(b, p + 2)[0]
        off, p = _segment_offset(b, p + 6, mode == 0, ti, ntab, nf, globals_, "element", "table")
        ni = u32(b, p)[0]
        p += 4
        if ni > MAX_ITEMS or _CONST_SIZE * ni > end - p:
            raise _Fail(f"element count {ni} exceeds the section")
        items = _consts(b, p, ni, nf, ng)
        # Each item has the segment's type; a funcref segment of only ref.func (the usual case,
        # counted on the op bytes) needs no per-item look.
        if not (et is ValType.FUNCREF and b[p:p + _CONST_SIZE * ni:_CONST_SIZE].count(5) == ni):
            for c in items:
                _typed(c, et, globals_, "element segment item")
        p += _CONST_SIZE * ni
        elems.append(ElemSegment(_ELEM_MODES[mode], et, items, ti, off))  # type: ignore[arg-type]
    # data segments (their positions are handed to the C loader)
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 10 * n > end - p:
        raise _Fail(f"data segment count {n} exceeds the section")
    datas = []
    data_at = r.data_at
    for _ in range(n):
        mode = b[p]
        if mode > 1:
            raise _Fail(f"bad data segment mode {mode}")
        mi = u32(b, p + 1)[0]
        off, p = _segment_offset(b, p + 5, mode == 0, mi, nmem, nf, globals_, "data", "memory")
        ln = u32(b, p)[0]
        p += 4
        if ln > end - p:
            raise _Fail(f"data segment length {ln} exceeds the section")
        data_at += (p, ln)
        datas.append(DataSegment(_DATA_MODES[mode], b[p:p + ln], mi, off))  # type: ignore[arg-type]
        p += ln
    flag = b[p]
    if flag == 0:
        data_count = None
        p += 1
    elif flag == 1:
        data_count = u32(b, p + 1)[0]
        p += 5
        if data_count != len(datas):
            raise _Fail("data count disagrees with the data segments")
    else:
        raise _Fail(f"bad flag byte {flag}")
    # function names, sorted by index
    n = u32(b, p)[0]
    p += 4
    if n > MAX_ITEMS or 8 * n > end - p:
        raise _Fail(f"function name count {n} exceeds the section")
    names: dict[int, str] = {}
    last = -1
    for _ in range(n):
        idx, ln = _U32X2(b, p)
        p += 8
        if idx <= last:
            raise _Fail("function names not sorted")
        if idx >= nf:
            raise _Fail(f"function name for index {idx} out of range")
        last = idx
        if ln > MAX_STRING or ln > end - p:
            raise _Fail(f"string length {ln} exceeds the section")
        names[idx] = b[p:p + ln].decode("utf-8")
        p += ln
    n_imp = _U32X4(b, p)
    p += 16
    if n_imp != (len(imp_funcs), seen[1], seen[2], n_imp_globals):
        raise _Fail("import counts disagree with the imports")
    n = u32(b, p)[0]
    if n > MAX_ITEMS or 4 * n > end - p - 4:
        raise _Fail(f"body offset count {n} exceeds the section")
    if n != nf - n_imp[0]:
        raise _Fail("body offsets do not match the local functions")
    body_offsets = list(struct.unpack_from(f"<{n}I", b, p + 4))
    p += 4 + 4 * n
    if 4 > end - p:
        raise _Fail("offset maps missing")
    ln = u32(b, p)[0]
    if ln > end - p - 4:
        raise _Fail(f"offset maps of {ln} bytes exceed the section")
    wasm_offsets = _LazyOffsetMaps(bytes(b[p + 4:p + 4 + ln]), n)
    p += 4 + ln
    if p != end:
        raise _Fail(f"{end - p} trailing bytes")
    return ModuleInfo(types=types, imports=imports, func_types=func_types, tables=tables, memories=memories,
                      globals=globals_, global_inits=global_inits, exports=exports, start=start, elems=elems,
                      datas=datas, data_count=data_count, func_names=names, num_imported_funcs=n_imp[0],
                      num_imported_tables=n_imp[1], num_imported_memories=n_imp[2],
                      num_imported_globals=n_imp[3], body_offsets=body_offsets, wasm_offsets=wasm_offsets)


def encode_offset_maps(maps: list[list[int]]) -> bytes:
    """The offset maps as stored: u32 count, then per local function a u32 value count (a multiple
    of 3) and that many u32s, triples (bytecode offset, wasm start, wasm end)."""
    parts = [struct.pack("<I", len(maps))]
    for m in maps:
        parts.append(struct.pack(f"<I{len(m)}I", len(m), *m))
    return b"".join(parts)


def decode_offset_maps(b: bytes, n_local: int) -> list[list[int]]:
    """:func:`encode_offset_maps`'s inverse, checked: one map per local function, sizes within ``b``,
    non-decreasing bytecode offsets, start <= end. ArtifactError otherwise."""
    end = len(b)
    try:
        n = _U32(b, 0)[0]
        p = 4
        if n != n_local:
            raise _Fail(f"{n} offset maps for {n_local} local functions")
        maps: list[list[int]] = []
        for _ in range(n):
            k = _U32(b, p)[0]
            if k % 3 or 4 * k > end - p - 4:
                raise _Fail(f"offset map of {k} values does not fit")
            vals = list(struct.unpack_from(f"<{k}I", b, p + 4))
            p += 4 + 4 * k
            starts, ws, we = vals[0::3], vals[1::3], vals[2::3]
            if any(a > c for a, c in zip(starts, starts[1:])) or any(s > e for s, e in zip(ws, we)):
                raise _Fail("offset map out of order")
            maps.append(vals)
        if p != end:
            raise _Fail(f"{end - p} trailing bytes after the offset maps")
    except struct.error:
        raise ArtifactError("artifact offset maps truncated") from None
    except _Fail as e:
        raise ArtifactError(f"artifact offset maps: {e}") from None
    return maps


class _LazyOffsetMaps(Sequence[list[int]]):
    """ModuleInfo.wasm_offsets of a loaded artifact: decoded (and checked) on first use, so that
    loading an artifact pays only for skipping them. The bytes are covered by the artifact's
    checksum (and HMAC); a map that fails its checks gives a backtrace without wasm offsets."""

    __slots__ = ("_error", "_maps", "_n", "_raw")

    def __init__(self, raw: bytes, n_local: int) -> None:
        self._raw = raw
        self._n = n_local
        self._maps: list[list[int]] | None = None
        self._error: ArtifactError | None = None

    def _usable(self) -> list[list[int]]:
        """The maps, or one empty map per function when they are malformed (decoded once either
        way). Always ``len(self)`` entries: indexing past the end raises IndexError, which ends
        iteration."""
        if self._maps is None:
            try:
                self._maps = decode_offset_maps(self._raw, self._n)
            except ArtifactError as e:
                self._error = e
                self._maps = [[] for _ in range(self._n)]
        return self._maps

    def decoded(self) -> list[list[int]]:
        """Every map, decoded and checked (ArtifactError if they are malformed)."""
        maps = self._usable()
        if self._error is not None:
            raise self._error
        return maps

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self._usable()[i]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._usable())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _decode_code_meta(code_len: int, funcs: _R, traps: _R, exe: _R, n_funcs: int, n_imported: int,
                      ) -> tuple[tuple[int, ...], tuple[int, ...], bytes, ExecMeta, int]:
    nimp = funcs.u32()
    offsets = funcs.u32s()
    sizes = funcs.u32s()
    funcs.done()
    n_local = n_funcs - n_imported
    if nimp != n_imported or len(offsets) != n_local or len(sizes) != n_local:
        raise funcs.fail("function table does not match the module")
    # Functions: in range, non-empty, non-overlapping (vectorised, as below).
    if n_local:
        spans = sorted(zip(offsets, sizes))
        starts_s = [sp[0] for sp in spans]
        ends_s = list(map(operator.add, offsets, sizes))
        ends_s.sort()
        if min(sizes) == 0 or max(ends_s) > code_len or not all(map(operator.le, ends_s[:-1], starts_s[1:])):
            raise funcs.fail(f"function code overlaps, is empty or leaves the code ({code_len} bytes)")
    n = traps.count(16)
    table = bytes(traps.b[traps.p:traps.p + 16 * n])
    raw = struct.unpack_from(f"<{4 * n}I", table)
    traps.p += 16 * n
    traps.done()
    if n:
        # Vectorised checks (C-speed builtins, no per-site Python objects): sorted by pc, known
        # trap codes, local functions only, each pc inside its own function.
        pcs, codes, fidx = raw[0::4], raw[1::4], raw[2::4]
        if list(pcs) != sorted(pcs):
            raise traps.fail("trap sites not sorted")
        # 0: a helper's trap, its code known only at run time (codegen.cpp).
        bad = set(codes).difference(range(_N_TRAP_CODES + 1), (_CALL_SITE_CODE,))
        if bad:
            raise traps.fail(f"bad trap code {max(bad)}")
        # At one pc a trap site precedes a call site (jit::sort_trap_sites; fault lookups rely on it).
        if any(p == q and a == _CALL_SITE_CODE and b != _CALL_SITE_CODE
               for p, q, a, b in zip(pcs, pcs[1:], codes, codes[1:])):
            raise traps.fail("trap sites not sorted")
        if min(fidx) < n_imported or max(fidx) >= n_funcs:
            raise traps.fail("trap site function out of range")
        local = list(map(operator.sub, fidx, itertools.repeat(n_imported)))
        starts = [offsets[local[0]]] if n == 1 else operator.itemgetter(*local)(offsets)
        lens = [sizes[local[0]]] if n == 1 else operator.itemgetter(*local)(sizes)
        if not all(map(operator.le, starts, pcs)) or not all(
                map(operator.lt, pcs, map(operator.add, starts, lens))):
            raise traps.fail("trap site pc outside its function")
    return offsets, sizes, table, _decode_exec(exe, n_local), nimp


def _decode_exec(exe: _R, n_local: int) -> ExecMeta:
    gas = exe.u32()
    if gas > 1:
        raise exe.fail("bad gas flag")
    budget = exe.u64()
    frame_costs = exe.u32s()
    max_stacks = exe.u32s()
    exe.done()
    if len(frame_costs) not in (0, n_local) or len(max_stacks) not in (0, n_local):
        raise exe.fail("frame metadata does not match the local functions")
    return ExecMeta(gas == 1, budget, frame_costs, max_stacks)


def _parse_header(blob: bytes | memoryview) -> ArtifactHeader:
    if len(blob) < HEADER_SIZE + _DIGEST:
        raise ArtifactError(f"artifact truncated ({len(blob)} bytes)")
    (magic, fmt, hsize, flags, _nsec, total, ver, isa, abi, base, r0, r1, feats, chash,
     code_hash) = _HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        raise ArtifactError("not a nearvm artifact (bad magic)")
    if fmt != FORMAT_VERSION:
        raise ArtifactError(f"artifact format version {fmt}, this nearvm reads {FORMAT_VERSION}")
    if hsize != HEADER_SIZE or r0 or r1 or flags & ~FLAG_HMAC:
        raise ArtifactError("bad artifact header")
    if total != len(blob):
        raise ArtifactError(f"artifact size {len(blob)} != recorded {total} (truncated or padded)")
    trailer = _DIGEST * (2 if flags & FLAG_HMAC else 1)
    if total < HEADER_SIZE + trailer:
        raise ArtifactError("artifact truncated")
    body_end = total - trailer
    if not hmac.compare_digest(hashlib.sha256(memoryview(blob)[:body_end]).digest(),
                               bytes(blob[body_end:body_end + _DIGEST])):
        raise ArtifactError("artifact checksum mismatch (corrupted)")
    try:
        version = bytes(ver).rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError:
        raise ArtifactError("bad nearvm version in artifact header") from None
    isa_name = {v: k for k, v in ISAS.items()}.get(isa)
    abi_name = {v: k for k, v in OS_ABIS.items()}.get(abi)
    base_name = _BASELINE_BY_ID.get(base)
    if isa_name is None or abi_name is None or base_name is None or BASELINES[base_name][1] != isa_name:
        raise ArtifactError(f"artifact for an unknown target (isa {isa}, abi {abi}, baseline {base})")
    return ArtifactHeader(fmt, version, Target(isa_name, abi_name, base_name), feats, bytes(chash),
                          bytes(code_hash), bool(flags & FLAG_HMAC), total)


def _section_spans(blob: bytes | memoryview, body_end: int) -> list[int]:
    """(offset, length) of each section's payload, in _SECTIONS order, flattened."""
    nsec = struct.unpack_from("<I", blob, 20)[0]
    if nsec != len(_SECTIONS):
        raise ArtifactError(f"artifact has {nsec} sections, expected {len(_SECTIONS)}")
    pos = HEADER_SIZE
    spans: list[int] = []
    for want in _SECTIONS:
        if body_end - pos < _SECTION.size:
            raise ArtifactError("artifact section table truncated")
        sid, reserved, length = _SECTION.unpack_from(blob, pos)
        pos += _SECTION.size
        if sid != want or reserved:
            raise ArtifactError(f"artifact section {sid} where {want} was expected")
        if length > body_end - pos:
            raise ArtifactError(f"artifact section {sid} overruns the blob")
        spans += (pos, length)
        pos += length
    if pos != body_end:
        raise ArtifactError("trailing bytes after the last artifact section")
    return spans


def _decode_sections(blob: bytes | memoryview, h: ArtifactHeader) -> Artifact:
    body_end = h.total_size - _DIGEST * (2 if h.has_hmac else 1)
    spans = _section_spans(blob, body_end)
    mv = memoryview(blob)
    views = {sid: mv[spans[2 * i]:spans[2 * i] + spans[2 * i + 1]] for i, sid in enumerate(_SECTIONS)}
    info = _decode_module(_R(views[SEC_MODULE], "module"))
    code = bytes(views[SEC_CODE])
    offs, sizes, table, meta, nimp = _decode_code_meta(
        len(code), _R(views[SEC_FUNCS], "funcs"), _R(views[SEC_TRAPS], "trap"), _R(views[SEC_EXEC], "exec"),
        len(info.func_types), info.num_imported_funcs)
    return Artifact(h, info, CompiledCode(code, offs, sizes, table, nimp), meta)


def read_header(blob: bytes | memoryview) -> ArtifactHeader:
    """The checksummed header of an artifact (no target/config checks): for tools like inspect."""
    return _guard(lambda: _parse_header(blob))


#: What a decoder bug on hostile input could raise; _guard turns it into an ArtifactError.
_DECODE_ERRORS = (struct.error, ValueError, TypeError, IndexError, KeyError, OverflowError, MemoryError)


def _guard(fn: Any) -> Any:
    try:
        return fn()
    except ArtifactError:
        raise
    except _DECODE_ERRORS as e:
        # Defence in depth: every path above checks bounds explicitly; this only stops a missed
        # case from surfacing as anything but an ArtifactError.
        raise ArtifactError(f"malformed artifact: {type(e).__name__}: {e}") from None


def load_artifact(blob: bytes | bytearray | memoryview, *, config_hash: bytes | None, key: bytes | None = None,
                  target: Target | None = None, cpu_features: Iterable[str] | None = None,
                  nearvm_version: str | None = __version__) -> Artifact:
    """Check and decode an artifact; every failure is an :class:`ArtifactError`.

    ``key``: if given, the artifact must carry an HMAC made with it; it is verified before any other
    byte is interpreted. ``config_hash``: the loading engine's (None skips the check, for tools).
    ``target``: defaults to this machine's ISA and OS ABI (the baseline is the artifact's own);
    ``cpu_features``: defaults to :func:`host_cpu_features`. ``nearvm_version``: None accepts any.

    This is the reference decoder (tools, tests): it builds every table as Python objects.
    ``Module.deserialize`` takes the fast path (:func:`deserialize_module`), which applies the same
    checks but leaves the code, function and trap-site tables to the C loader.
    """
    if not isinstance(blob, bytes):
        blob = bytes(blob)
    h = _checked_header(blob, config_hash=config_hash, key=key, target=target, cpu_features=cpu_features,
                        nearvm_version=nearvm_version)
    art: Artifact = _guard(lambda: _decode_sections(blob, h))
    return art


def _checked_header(blob: bytes, *, config_hash: bytes | None, key: bytes | None, target: Target | None,
                    cpu_features: Iterable[str] | None, nearvm_version: str | None) -> ArtifactHeader:
    """HMAC (when keyed), size, checksum and every header field against what the loader expects."""
    if len(blob) > MAX_BLOB:
        raise ArtifactError("artifact too large")
    if key is not None:
        if len(blob) < HEADER_SIZE + 2 * _DIGEST:
            raise ArtifactError("artifact truncated (no HMAC)")
        mac = hmac.digest(key, memoryview(blob)[:-_DIGEST], "sha256")
        if not hmac.compare_digest(mac, blob[-_DIGEST:]):
            raise ArtifactError("artifact HMAC mismatch (wrong key, unsigned, or tampered)")
    h: ArtifactHeader = _guard(lambda: _parse_header(blob))
    if key is not None and not h.has_hmac:
        raise ArtifactError("artifact is not signed but the engine requires an HMAC")
    if nearvm_version is not None and h.nearvm_version != nearvm_version:
        raise ArtifactError(f"artifact from nearvm {h.nearvm_version}, this is {nearvm_version}")
    want_isa = target.isa if target is not None else host_isa()
    want_abi = target.os_abi if target is not None else host_os_abi()
    if h.target.isa != want_isa:
        raise ArtifactError(f"artifact for {h.target.isa}, this machine is {want_isa}")
    if h.target.os_abi != want_abi:
        raise ArtifactError(f"artifact for the {h.target.os_abi} ABI, this engine uses {want_abi}")
    if target is not None and h.target.baseline != target.baseline:
        raise ArtifactError(f"artifact for CPU baseline {h.target.baseline}, the Config pins {target.baseline}")
    if h.cpu_features != h.target.features:
        raise ArtifactError("artifact CPU feature set does not match its baseline")
    if config_hash is not None and not hmac.compare_digest(h.config_hash, config_hash):
        raise ArtifactError("artifact compiled with a different Config (config hash mismatch)")
    have = _features_bits(host_cpu_features() if cpu_features is None else cpu_features)
    missing = h.cpu_features & ~have
    if missing:
        names = sorted(n for n, b in CPU_FEATURES.items() if missing >> b & 1)
        raise ArtifactError(f"this CPU lacks features the artifact needs: {', '.join(names)}")
    return h


# ---- program metadata ---------------------------------------------------------------------------

def exec_meta_from_program(program: bytes, stack_budget: int = 0) -> ExecMeta:
    """Gas flag and per-function frame cost / operand-stack depth, read from a lowered program
    (docs/bytecode.md "Program (module) layout"). An empty program gives empty metadata."""
    if not program:
        return ExecMeta(False, stack_budget)
    r = _R(program, "program")
    try:
        if r.u32() != 0x424D564E:
            raise r.fail("bad program magic")
        r.u32()
        flags = r.u32()
        for _ in range(r.count(8)):
            r.raw(MAX_ITEMS)  # params
            r.raw(MAX_ITEMS)  # results
        r.u32()
        nf = r.count(0)
        r.need(4 * nf)
        r.p += 4 * nf
        nt = r.count(12)
        r.need(12 * nt)
        r.p += 12 * nt
        nm = r.count(12)
        r.need(12 * nm)
        r.p += 12 * nm
        ng = r.count(4)
        r.need(4 * ng)
        r.p += 4 * ng
        r.u32()
        r.u32()
        costs: list[int] = []
        stacks: list[int] = []
        for _ in range(r.count(4)):
            size = r.u32()
            r.need(size)
            body = _R(program[r.p:r.p + size], "program body")
            r.p += size
            for _ in range(body.count(5)):
                body.u32()
                body.u8()
            stacks.append(body.u32())
            body.u32()
            costs.append(body.u32())
    except ArtifactError as e:
        raise ValueError(f"cannot read the lowered program: {e}") from None
    return ExecMeta(bool(flags & 1), stack_budget, tuple(costs), tuple(stacks))


def code_hash_of(wasm: bytes) -> bytes:
    return hashlib.sha256(wasm).digest()



# ---- runtime integration (nearvm.Module.serialize / deserialize) --------------------------------

def _native() -> tuple[Any, Any]:
    from .runtime._ffi import ffi, lib

    return ffi, lib


def export_compiled(module: Any) -> CompiledCode:
    """The machine code and metadata of a loaded ``nearvm.Module`` (C: nvm_module_export)."""
    from .runtime._ffi import check, new_err

    ffi, lib = _native()
    sizes = ffi.new("nvm_artifact_sizes*")
    err = new_err()
    check(lib.nvm_module_export(module._ptr, sizes, ffi.NULL, 0, ffi.NULL, ffi.NULL, 0, ffi.NULL, 0, err, len(err)),
          err, "cannot export the module's code")
    n_code, n_funcs, n_sites = int(sizes.code_size), int(sizes.n_local_funcs), int(sizes.n_trap_sites)
    code = bytearray(n_code)
    offs = ffi.new("uint32_t[]", max(1, n_funcs))
    fsizes = ffi.new("uint32_t[]", max(1, n_funcs))
    sites = ffi.new("uint32_t[]", max(1, 4 * n_sites))
    check(lib.nvm_module_export(module._ptr, sizes, ffi.from_buffer(code) if n_code else ffi.NULL, n_code,
                                offs, fsizes, n_funcs, sites, n_sites, err, len(err)),
          err, "cannot export the module's code")
    table = b"".join(_SITE.pack(*ffi.unpack(sites + 4 * i, 4)) for i in range(n_sites))
    return CompiledCode(bytes(code), tuple(ffi.unpack(offs, n_funcs)), tuple(ffi.unpack(fsizes, n_funcs)),
                        table, int(sizes.n_imported_funcs))


def serialize_module(module: Any) -> bytes:
    """``Module.serialize()``: the module as an artifact (signed if the engine has an artifact_key)."""
    engine = module.engine
    config = engine.config
    info: ModuleInfo = module._info
    meta = getattr(module, "_exec_meta", None)
    if meta is None:
        raw = getattr(module, "_exec_raw", None)  # a deserialized module: checked when it was loaded
        if raw is not None:
            meta = _decode_exec(_R(raw, "exec"), len(info.func_types) - info.num_imported_funcs)
        else:
            meta = exec_meta_from_program(bytes(info.program), int(getattr(config, "stack_budget", 0)))
    code_hash = getattr(module, "_code_hash", None) or bytes(_DIGEST)
    return build_artifact(info, export_compiled(module), config_hash=config_hash_of(config), code_hash=code_hash,
                          target=host_target(config), exec_meta=meta, key=engine.artifact_key)


class _LoadContext:
    """What loading artifacts into one engine needs, computed once per engine and Config."""

    __slots__ = ("config", "key", "config_hash", "target", "fixed_lo", "fixed_hi", "host_ok")

    def __init__(self, engine: Any) -> None:
        self.config = config = engine.config
        self.key = engine.artifact_key
        self.config_hash = config_hash_of(config)
        self.target = target = host_target(config)
        # The header bytes a loadable artifact must have, except flags, n_sections, total_size and
        # code_hash (bytes 16..32 and 96..128): _checked_header accepts exactly these values.
        ver = __version__.encode("ascii")
        self.fixed_lo = _HEADER.pack(MAGIC, FORMAT_VERSION, HEADER_SIZE, 0, 0, 0, ver, 0, 0, 0, 0, 0, 0,
                                     bytes(_DIGEST), bytes(_DIGEST))[:16]
        self.fixed_hi = struct.pack("<16sBBBBIQ32s", ver, ISAS[target.isa], OS_ABIS[target.os_abi],
                                    BASELINES[target.baseline][0], 0, 0, target.features, self.config_hash)
        self.host_ok = not target.features & ~_features_bits(host_cpu_features())


_FLAGS_TOTAL = struct.Struct("<IIQ")  # flags, n_sections, total_size at byte 16


def _load_context(engine: Any) -> _LoadContext:
    ctx: _LoadContext | None = getattr(engine, "_artifact_ctx", None)
    if ctx is None or ctx.config is not engine.config or ctx.key is not engine.artifact_key:
        ctx = _LoadContext(engine)
        engine._artifact_ctx = ctx
    return ctx


def deserialize_module(engine: Any, blob: bytes | bytearray | memoryview, cls: Any = None, *,
                       trusted_unauthenticated: bool = False) -> Any:
    """``Module.deserialize(engine, blob)``: every check happens before the code is mapped executable.

    Authentication first (the artifact security model, README "Artifacts are code"): an artifact
    that carries an HMAC is verified with the engine's key before any other byte is looked at;
    one that carries none (or that a key-less engine cannot verify) is loaded only if the caller
    vouches for it (``trusted_unauthenticated`` or the engine's
    ``allow_unauthenticated_artifacts``). Then the same checks as :func:`load_artifact` (size and
    checksum, the header, every section), but only the module section becomes Python objects: the
    section table and the code, function, trap-site and exec sections are checked and loaded by C
    straight from the blob (``nvm_module_import_artifact``).
    """
    if type(blob) is not bytes:
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise TypeError("Module.deserialize(engine, blob): blob must be bytes")
        blob = bytes(blob)
    rt = _RT_API or _runtime_api()
    ctx = _load_context(engine)
    n = len(blob)
    trusted = trusted_unauthenticated or engine.allow_unauthenticated_artifacts
    signed = n >= 20 and bool(blob[16] & FLAG_HMAC)  # the header's flags word (checked below)
    # Verify whenever there is a key and either a MAC to check or no word from the caller; a
    # signed artifact is verified even when the caller vouches for it.
    key = ctx.key if ctx.key is not None and (signed or not trusted) else None
    if key is None:
        if not trusted:
            raise UnauthenticatedArtifactError(
                "refusing to load an unauthenticated artifact (loading one runs its machine code): give the "
                "Engine the artifact_key it was signed with, or pass trusted_unauthenticated=True if these "
                "bytes never left this process's control")
    mv = memoryview(blob)
    if key is not None:  # before any other byte is looked at
        if n < HEADER_SIZE + 2 * _DIGEST:
            raise ArtifactError("artifact truncated (no HMAC)")
        if not hmac.compare_digest(hmac.digest(key, mv[:-_DIGEST], "sha256"), blob[-_DIGEST:]):
            raise ArtifactError("artifact HMAC mismatch (wrong key, unsigned, or tampered)")
    ok = HEADER_SIZE + _DIGEST <= n <= MAX_BLOB
    if ok:
        flags, _nsec, total = _FLAGS_TOTAL.unpack_from(blob, 16)
        body_end = n - (2 * _DIGEST if flags == FLAG_HMAC else _DIGEST)
        # A verified HMAC covers the checksum and everything it covers: hashing the blob a second
        # time (half of a large load) would add nothing.
        ok = (total == n and (flags == FLAG_HMAC if key is not None else flags <= FLAG_HMAC)
              and body_end >= HEADER_SIZE
              and (key is not None or hmac.compare_digest(hashlib.sha256(mv[:body_end]).digest(),
                                                          blob[body_end:body_end + _DIGEST]))
              and blob.startswith(ctx.fixed_lo) and blob.startswith(ctx.fixed_hi, 32) and ctx.host_ok)
    if not ok:  # the reference checks say precisely what is wrong (and accept what they accept)
        h = _checked_header(blob, config_hash=ctx.config_hash, key=key, target=ctx.target, cpu_features=None,
                            nearvm_version=__version__)
        body_end = h.total_size - _DIGEST * (2 if h.has_hmac else 1)
    # The module section comes first; C walks and checks the whole section table again.
    if body_end - HEADER_SIZE < _SECTION.size:
        raise ArtifactError("artifact section table truncated")
    sid, reserved, length = _SECTION.unpack_from(blob, HEADER_SIZE)
    start = HEADER_SIZE + _SECTION.size
    if sid != SEC_MODULE or reserved or length > body_end - start:
        _section_spans(blob, body_end)  # raises the precise error
        raise ArtifactError("bad artifact section table")
    r = _R(blob[start:start + length], "module")
    try:
        info = _decode_module(r)
    except ArtifactError:
        raise
    except _DECODE_ERRORS as e:
        raise ArtifactError(f"malformed artifact: {type(e).__name__}: {e}") from None
    ffi, lib, new_err = rt
    type_id = engine._type_id
    type_ids = [type_id(t) for t in info.types]
    data_at = r.data_at
    if data_at:
        data_spans = ffi.new("uint64_t[]", [v + start if i % 2 == 0 else v for i, v in enumerate(data_at)])
    else:
        data_spans = ffi.NULL
    out = ffi.new("nvm_module_t**")
    exec_span = ffi.new("uint64_t[2]")
    err = new_err()
    status = lib.nvm_module_import_artifact(engine._ptr, blob, body_end, start + r.func_types_at,
                                            len(info.func_types), info.num_imported_funcs,
                                            ffi.new("uint32_t[]", type_ids) if type_ids else ffi.NULL, len(type_ids),
                                            data_spans, len(data_at) // 2, exec_span, out, err, len(err))
    if status:
        _import_failed(status, err)
    if cls is None:
        from .runtime import Module as cls
    module = cls.__new__(cls)
    module.engine = engine
    module._info = info
    module._ptr = ffi.gc(out[0], lib.nvm_module_free)
    module._type_ids = type_ids
    module._exec_meta = None  # decoded from _exec_raw if the module is serialized again (checked by C)
    module._exec_raw = blob[exec_span[0]:exec_span[0] + exec_span[1]]
    module._code_hash = blob[96:128]
    return module


def _import_failed(status: int, err: Any) -> None:
    from .runtime._ffi import check

    ffi, lib, _ = _RT_API or _runtime_api()
    if status in (lib.NVM_ERR_INVALID, lib.NVM_ERR_LIMIT):
        raise ArtifactError("artifact rejected by the loader: " + ffi.string(err).decode("utf-8", "replace"))
    check(status, err, "cannot load artifact")
    raise ArtifactError(f"artifact rejected by the loader (status {status})")


_RT_API: tuple[Any, Any, Any] | None = None


def _runtime_api() -> tuple[Any, Any, Any]:
    """(ffi, lib, new_err) of the native runtime, imported on first use (the format code above
    works without the native module)."""
    global _RT_API
    from .runtime._ffi import ffi, lib, new_err

    _RT_API = (ffi, lib, new_err)
    return _RT_API


def write_file_atomic(path: str | Any, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory + fsync + rename."""
    import os
    import tempfile

    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nvm-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
