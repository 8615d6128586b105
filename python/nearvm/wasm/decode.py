"""Binary-format decoder (spec §5): sections, types, imports, exports, segments, const exprs.

Function bodies are *not* decoded here: the decoder records where each body is, and the fused
validator/lowerer (``validate.py``) decodes its instructions in the same pass that validates
and lowers them. Everything else is decoded into a :class:`RawModule` that ``validate.py``
checks against the module-level rules (spec §3.4).

Error wording follows the spec's reference interpreter (the ``assert_malformed`` texts of the
spec test suite). Reads are bounded by the end of the input, not of the section, as in the
reference interpreter; each section is then checked to end exactly where its size says
("section size mismatch").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bytecode import spec
from ..config import Config
from ..errors import DecodeError, LimitError, ValidationError
from .module import CustomSection, Export
from .types import FuncType, GlobalType, MemoryType, TableType, ValType

__all__ = ["RawConst", "RawElem", "RawData", "RawModule", "Reader", "decode_module", "read_instr_imm"]

#: A constant expression as decoded: ((opcode, subop|None, immediate, offset), ...) up to its end.
RawConst = tuple[tuple[int, int | None, object, int], ...]

_NUM_TYPES = {0x7F: ValType.I32, 0x7E: ValType.I64, 0x7D: ValType.F32, 0x7C: ValType.F64}
_REF_TYPES = {0x70: ValType.FUNCREF, 0x6F: ValType.EXTERNREF}
#: Section ids in their required order (spec §5.5.2); data count (12) sits before code (10).
_SECTION_RANK = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}
#: Implementation cap on the locals of one function (like Wasmtime); spec: "too many locals".
MAX_LOCALS = 50_000


@dataclass
class RawElem:
    mode: str  # "active" | "passive" | "declarative"
    elem_type: ValType
    items: list[RawConst]
    table_index: int
    offset: RawConst | None
    pos: int
    #: True when the items were function indices (flags 0-3), so elem_type is funcref by construction.
    func_indices: bool


@dataclass
class RawData:
    mode: str  # "active" | "passive"
    data: bytes
    memory_index: int
    offset: RawConst | None
    pos: int


@dataclass
class RawModule:
    types: list[FuncType] = field(default_factory=list)
    #: ``types`` as (param codes, result codes) of plain ints, shared between equal types.
    sigs: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    imports: list[tuple[str, str, str, object, int]] = field(default_factory=list)  # (mod, name, kind, desc, pos)
    funcs: list[tuple[int, int]] = field(default_factory=list)  # (type index, pos) of local functions
    tables: list[tuple[TableType, int]] = field(default_factory=list)
    memories: list[tuple[MemoryType | tuple[int, int | None], int]] = field(default_factory=list)
    globals: list[tuple[GlobalType, RawConst, int]] = field(default_factory=list)
    exports: list[tuple[Export, int]] = field(default_factory=list)
    start: tuple[int, int] | None = None
    elems: list[RawElem] = field(default_factory=list)
    datas: list[RawData] = field(default_factory=list)
    data_count: int | None = None
    #: (body start, body end) of each code entry; start is after the body size.
    bodies: list[tuple[int, int]] = field(default_factory=list)
    customs: list[CustomSection] = field(default_factory=list)
    func_names: dict[int, str] = field(default_factory=dict)
    #: Set when a body uses memory.init/data.drop (checked against data_count: spec §5.5.13).
    code_pos: int = 0


class Reader:
    """A bounds-checked cursor over ``data`` (spec §5.1-5.2: bytes, LEB128 integers, names)."""

    __slots__ = ("data", "end", "in_section", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.in_section = False

    def eof(self, at: int | None = None) -> DecodeError:
        msg = "unexpected end of section or function" if self.in_section else "unexpected end"
        return DecodeError(msg, self.pos if at is None else at)

    def byte(self) -> int:
        p = self.pos
        if p >= self.end:
            raise self.eof()
        self.pos = p + 1
        return self.data[p]

    def bytes_(self, n: int) -> bytes:
        p = self.pos
        if p + n > self.end:
            raise self.eof(self.end)
        self.pos = p + n
        return self.data[p:p + n]

    def _uleb(self, bits: int) -> int:
        data = self.data
        p = self.pos
        start = p
        result = 0
        shift = 0
        end = self.end
        maxlen = (bits + 6) // 7
        while True:
            if p >= end:
                self.pos = p
                raise self.eof()
            b = data[p]
            p += 1
            if p - start == maxlen:
                # Last allowed byte (spec §5.2.2): no continuation, unused high bits zero.
                if b & 0x80:
                    raise DecodeError("integer representation too long", p - 1)
                if b >> (bits - shift):
                    raise DecodeError("integer too large", p - 1)
                result |= b << shift
                break
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        self.pos = p
        return result

    def _sleb(self, bits: int) -> int:
        data = self.data
        p = self.pos
        start = p
        result = 0
        shift = 0
        end = self.end
        maxlen = (bits + 6) // 7
        while True:
            if p >= end:
                self.pos = p
                raise self.eof()
            b = data[p]
            p += 1
            if p - start == maxlen:
                if b & 0x80:
                    raise DecodeError("integer representation too long", p - 1)
                # The unused bits must all equal the sign bit (spec §5.2.2).
                rem = bits - shift  # meaningful bits in this byte, including the sign bit
                top = b >> (rem - 1)  # sign bit and the unused bits above it
                if top not in (0, (0x7F >> (rem - 1))):
                    raise DecodeError("integer too large", p - 1)
                result |= (b & 0x7F) << shift
                shift += 7
                break
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        self.pos = p
        if result >> (shift - 1) & 1:
            result -= 1 << shift
        # Normalise to the value range of the type (a non-final sign-extended tail is harmless).
        return result

    def u32(self) -> int:
        p = self.pos
        if p < self.end:
            b = self.data[p]
            if b < 0x80:
                self.pos = p + 1
                return b
        return self._uleb(32)

    def u64(self) -> int:
        return self._uleb(64)

    def s32(self) -> int:
        return self._sleb(32)

    def s33(self) -> int:
        return self._sleb(33)

    def s64(self) -> int:
        return self._sleb(64)

    def length(self) -> int:
        """A u32 length of something that follows; it must fit in the input ("length out of bounds")."""
        p = self.pos
        n = self.u32()
        if n > self.end - self.pos:
            raise DecodeError("length out of bounds", p)
        return n

    def name(self) -> str:
        n = self.length()
        p = self.pos
        raw = self.bytes_(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError("malformed UTF-8 encoding", p + e.start) from None


def read_valtype(r: Reader, config: Config) -> ValType:
    p = r.pos
    b = r.byte()
    t = _NUM_TYPES.get(b)
    if t is not None:
        return t
    if b in _REF_TYPES:
        if not config.reference_types and b == 0x6F:
            raise DecodeError("malformed value type (reference types disabled)", p)
        return _REF_TYPES[b]
    if b == 0x7B:
        raise DecodeError("SIMD is not supported (v128 value type)", p)
    raise DecodeError("malformed value type", p)


def read_reftype(r: Reader, config: Config) -> ValType:
    p = r.pos
    b = r.byte()
    t = _REF_TYPES.get(b)
    if t is None or (t is ValType.EXTERNREF and not config.reference_types):
        raise DecodeError("malformed reference type", p)
    return t


def read_limits(r: Reader, is_memory: bool) -> tuple[int, int | None]:
    p = r.pos
    # The flags are one byte in the reference interpreter (spec §5.3.7): 0 = min, 1 = min and max.
    flags = r.byte()
    if flags == 0:
        return r.u32(), None
    if flags == 1:
        mn = r.u32()
        return mn, r.u32()
    if flags >= 0x80:
        raise DecodeError("integer representation too long", p)
    raise DecodeError("integer too large", p)


def read_tabletype(r: Reader, config: Config) -> TableType:
    t = read_reftype(r, config)
    p = r.pos
    mn, mx = read_limits(r, False)
    if mx is not None and mn > mx:
        raise ValidationError("size minimum must not be greater than maximum", p)
    return TableType(t, mn, mx)


def read_memtype(r: Reader) -> tuple[tuple[int, int | None], int]:
    p = r.pos
    return read_limits(r, True), p


def read_globaltype(r: Reader, config: Config) -> GlobalType:
    t = read_valtype(r, config)
    p = r.pos
    m = r.byte()
    if m > 1:
        raise DecodeError("malformed mutability", p)
    return GlobalType(t, bool(m))


def read_instr_imm(r: Reader, op: spec.Op, config: Config) -> object:
    """Read the Wasm immediates of ``op`` (spec §5.4) generically; returns them (shape by kind)."""
    k = op.imm
    if k == spec.IMM_NONE:
        return None
    if k in (spec.IMM_LABEL, spec.IMM_FUNC, spec.IMM_LOCAL, spec.IMM_GLOBAL, spec.IMM_TABLE, spec.IMM_DATA,
             spec.IMM_ELEM):
        return r.u32()
    if k == spec.IMM_I32:
        return r.s32()
    if k == spec.IMM_I64:
        return r.s64()
    if k == spec.IMM_F32:
        return int.from_bytes(r.bytes_(4), "little")
    if k == spec.IMM_F64:
        return int.from_bytes(r.bytes_(8), "little")
    if k == spec.IMM_BLOCKTYPE:
        return r.s33()
    if k == spec.IMM_MEMARG:
        return (r.u32(), r.u32())
    if k == spec.IMM_MEMIDX:
        p = r.pos
        if r.byte() != 0:
            raise DecodeError("zero byte expected", p)
        return 0
    if k == spec.IMM_MEM_MEM:
        for _ in range(2):
            p = r.pos
            if r.byte() != 0:
                raise DecodeError("zero byte expected", p)
        return (0, 0)
    if k == spec.IMM_DATA_MEM:
        x = r.u32()
        p = r.pos
        if r.byte() != 0:
            raise DecodeError("zero byte expected", p)
        return x
    if k == spec.IMM_REFTYPE:
        return read_reftype(r, config)
    if k == spec.IMM_CALL_INDIRECT:
        return (r.u32(), r.u32())
    if k in (spec.IMM_ELEM_TABLE, spec.IMM_TABLE_TABLE):
        return (r.u32(), r.u32())
    if k == spec.IMM_BR_TABLE:
        n = r.length()
        return ([r.u32() for _ in range(n)], r.u32())
    if k == spec.IMM_SELECT_T:
        n = r.u32()
        return [read_valtype(r, config) for _ in range(n)]
    raise AssertionError(k)


def read_op(r: Reader, config: Config) -> tuple[spec.Op, int]:
    """Read one opcode (with 0xFC sub-opcode); returns (op, offset)."""
    p = r.pos
    b = r.byte()
    if b == spec.PREFIX_FC:
        sub = r.u32()
        op = spec.BY_FC.get(sub)
        if op is None:
            raise DecodeError("illegal opcode", p)
        return op, p
    if b == spec.PREFIX_SIMD:
        raise DecodeError("SIMD is not supported", p)
    op = spec.BY_CODE.get(b)
    if op is None or op.nearvm:
        raise DecodeError("illegal opcode", p)
    return op, p


def read_const_expr(r: Reader, config: Config) -> RawConst:
    """Instructions up to the expression's ``end`` (spec §5.4.9); validated later (§3.3.10)."""
    out: list[tuple[int, int | None, object, int]] = []
    depth = 0
    while True:
        op, p = read_op(r, config)
        if op.code == 0x0B:
            if depth == 0:
                return tuple(out)
            depth -= 1
        elif op.code in (0x02, 0x03, 0x04):
            depth += 1
        out.append((op.code, op.subop, read_instr_imm(r, op, config), p))


def _limit(config: Config, name: str, value: int, what: str, pos: int) -> None:
    lim = getattr(config, name)
    if lim is not None and value > lim:
        raise LimitError(f"too many {what}: {value} > {lim}", name, pos)


def decode_module(data: bytes, config: Config) -> RawModule:
    """Decode everything but the instructions of function bodies (spec §5.5)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("wasm module must be bytes")
    data = bytes(data)
    _limit(config, "max_module_size", len(data), "module bytes", 0)
    r = Reader(data)
    if r.bytes_(4) != b"\x00asm":
        raise DecodeError("magic header not detected", 0)
    if r.bytes_(4) != b"\x01\x00\x00\x00":
        raise DecodeError("unknown binary version", 4)
    m = RawModule()
    last_rank = 0
    n_func_decl: int | None = None
    seen_data = False
    n_code: int | None = None
    end = len(data)
    while r.pos < end:
        sec_pos = r.pos
        sid = r.byte()
        if sid != 0:
            rank = _SECTION_RANK.get(sid)
            if rank is None:
                raise DecodeError("malformed section id", sec_pos)
            if rank <= last_rank:
                raise DecodeError("unexpected content after last section", sec_pos)
            last_rank = rank
        size = r.length()
        start = r.pos
        sec_end = start + size
        r.in_section = True
        if sid == 0:
            sub = Reader(data, start, sec_end)
            sub.in_section = True
            name = sub.name()
            m.customs.append(CustomSection(name, data[sub.pos:sec_end], sec_pos))
            if name == "name":
                m.func_names = _decode_names(data, sub.pos, sec_end)
            r.pos = sec_end
        elif sid == 1:
            n = r.u32()
            _limit(config, "max_types", n, "types", start)
            # Types are interned by their raw bytes: a repeated signature costs one slice and one
            # dict lookup, and every index that names it shares one FuncType (and one int-code
            # signature, ``RawModule.sigs``). Only a type that passed every check below is cached,
            # and those checks depend only on its bytes and the Config, so a hit needs none.
            # The fast path finds a type's extent from one-byte counts; anything else (multi-byte
            # counts, the section's end, a wrong form byte) goes through the checked reader.
            interned: dict[bytes, tuple[FuncType, tuple[tuple[int, ...], tuple[int, ...]]]] = {}
            entries: list[tuple[FuncType, tuple[tuple[int, ...], tuple[int, ...]]]] = []
            entries_append = entries.append
            get = interned.get
            p = r.pos
            for _ in range(n):
                if p + 2 < sec_end and data[p] == 0x60 and data[p + 1] < 0x80:
                    q = p + 2 + data[p + 1]
                    if q < sec_end and data[q] < 0x80:
                        e = q + 1 + data[q]
                        if e <= sec_end:
                            hit = get(data[p:e])
                            if hit is not None:
                                entries_append(hit)
                                p = e
                                continue
                r.pos = p
                if r.byte() != 0x60:
                    raise DecodeError("integer representation too long", p)  # ref interp: malformed functype
                params = [read_valtype(r, config) for _ in range(r.u32())]
                rp = r.pos
                results = [read_valtype(r, config) for _ in range(r.u32())]
                if len(results) > 1 and not config.multi_value:
                    raise ValidationError("invalid result arity", rp)
                _limit(config, "max_params_per_function", len(params), "params", p)
                _limit(config, "max_results_per_function", len(results), "results", rp)
                entry = (FuncType(params, results), (tuple(map(int, params)), tuple(map(int, results))))
                interned[data[p:r.pos]] = entry
                entries_append(entry)
                p = r.pos
            r.pos = p
            m.types = [t for t, _ in entries]
            m.sigs = [sg for _, sg in entries]
        elif sid == 2:
            n = r.u32()
            _limit(config, "max_imports", n, "imports", start)
            for _ in range(n):
                mod = r.name()
                nm = r.name()
                kp = r.pos
                kind = r.byte()
                if kind == 0:
                    desc: object = r.u32()
                    m.imports.append((mod, nm, "func", desc, kp))
                elif kind == 1:
                    m.imports.append((mod, nm, "table", read_tabletype(r, config), kp))
                elif kind == 2:
                    lim, lp = read_memtype(r)
                    m.imports.append((mod, nm, "memory", lim, lp))
                elif kind == 3:
                    m.imports.append((mod, nm, "global", read_globaltype(r, config), kp))
                else:
                    raise DecodeError("malformed import kind", kp)
        elif sid == 3:
            n = r.u32()
            for _ in range(n):
                p = r.pos
                m.funcs.append((r.u32(), p))
            n_func_decl = n
        elif sid == 4:
            for _ in range(r.u32()):
                p = r.pos
                m.tables.append((read_tabletype(r, config), p))
        elif sid == 5:
            for _ in range(r.u32()):
                lim, lp = read_memtype(r)
                m.memories.append((lim, lp))
        elif sid == 6:
            for _ in range(r.u32()):
                p = r.pos
                gt = read_globaltype(r, config)
                m.globals.append((gt, read_const_expr(r, config), p))
        elif sid == 7:
            for _ in range(r.u32()):
                p = r.pos
                nm = r.name()
                kp = r.pos
                kind = r.byte()
                if kind > 3:
                    raise DecodeError("malformed export kind", kp)
                idx = r.u32()
                m.exports.append((Export(nm, ("func", "table", "memory", "global")[kind], idx), p))
        elif sid == 8:
            p = r.pos
            m.start = (r.u32(), p)
        elif sid == 9:
            for _ in range(r.u32()):
                m.elems.append(_decode_elem(r, config))
        elif sid == 12:
            if not config.bulk_memory:
                raise DecodeError("malformed section id (data count needs bulk memory)", sec_pos)
            m.data_count = r.u32()
        elif sid == 10:
            n = r.u32()
            n_code = n
            m.code_pos = sec_pos
            for _ in range(n):
                bsize = r.length()
                bstart = r.pos
                _limit(config, "max_function_body_size", bsize, "body bytes", bstart)
                m.bodies.append((bstart, bstart + bsize))
                r.pos = bstart + bsize
        elif sid == 11:
            seen_data = True
            n = r.u32()
            if m.data_count is not None and n != m.data_count:
                raise DecodeError("data count and data section have inconsistent lengths", start)
            for _ in range(n):
                m.datas.append(_decode_data(r, config))
        if r.pos != sec_end:
            raise DecodeError("section size mismatch", r.pos)
        r.in_section = False
    if (n_func_decl or 0) != (n_code or 0):
        raise DecodeError("function and code section have inconsistent lengths", m.code_pos or end)
    if m.data_count is not None and not seen_data and m.data_count != 0:
        # A data count without a data section must be 0 (spec §5.5.16).
        raise DecodeError("data count and data section have inconsistent lengths", end)
    return m


def _decode_elem(r: Reader, config: Config) -> RawElem:
    pos = r.pos
    flags = r.u32()
    if flags > 7:
        raise DecodeError("malformed elements segment kind", pos)
    if flags != 0 and not (config.bulk_memory or config.reference_types):
        raise DecodeError("malformed elements segment kind", pos)
    passive_or_decl = flags & 1
    explicit_table = flags & 2
    uses_exprs = flags & 4
    mode = ("declarative" if explicit_table else "passive") if passive_or_decl else "active"
    table = 0
    offset: RawConst | None = None
    if not passive_or_decl:
        if explicit_table:
            table = r.u32()
        offset = read_const_expr(r, config)
    et = ValType.FUNCREF
    if passive_or_decl or explicit_table:
        if uses_exprs:
            et = read_reftype(r, config)
        else:
            p = r.pos
            if r.byte() != 0x00:
                raise DecodeError("malformed element kind", p)
    items: list[RawConst] = []
    n = r.u32()
    if uses_exprs:
        for _ in range(n):
            items.append(read_const_expr(r, config))
    else:
        for _ in range(n):
            p = r.pos
            items.append(((0xD2, None, r.u32(), p),))
    return RawElem(mode, et, items, table, offset, pos, not uses_exprs)


def _decode_data(r: Reader, config: Config) -> RawData:
    pos = r.pos
    flags = r.u32()
    if flags > 2 or (flags and not config.bulk_memory and flags == 1):
        raise DecodeError("malformed data segment kind", pos)
    mem = 0
    offset: RawConst | None = None
    if flags == 2:
        mem = r.u32()
    if flags != 1:
        offset = read_const_expr(r, config)
    n = r.u32()
    if n > r.end - r.pos:
        raise r.eof(r.end)
    return RawData("passive" if flags == 1 else "active", r.bytes_(n), mem, offset, pos)


def _decode_names(data: bytes, pos: int, end: int) -> dict[int, str]:
    """Function names from the "name" custom section (spec §7.4.1); {} if it is malformed."""
    names: dict[int, str] = {}
    try:
        r = Reader(data, pos, end)
        while r.pos < end:
            sid = r.byte()
            size = r.length()
            sub_end = r.pos + size
            if sub_end > end:
                return {}
            if sid == 1:
                for _ in range(r.u32()):
                    idx = r.u32()
                    names[idx] = r.name()
            r.pos = sub_end
    except DecodeError:
        return {}
    return names
