"""Disassembler for lowered programs (docs/bytecode.md): for tests and debugging.

``disassemble(program)`` renders the module header and every body with byte offsets (relative
to the body's code). It bounds-checks what it reads and raises ValueError on malformed input.
"""

from __future__ import annotations

import struct
from typing import Any

from . import spec

__all__ = ["BodyInfo", "ProgramInfo", "disassemble", "parse_program"]

_TYPE_NAMES = {spec.I32: "i32", spec.I64: "i64", spec.F32: "f32", spec.F64: "f64", spec.FUNCREF: "funcref",
               spec.EXTERNREF: "externref"}


class _R:
    def __init__(self, b: bytes, pos: int = 0, end: int | None = None) -> None:
        self.b = b
        self.pos = pos
        self.end = len(b) if end is None else end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise ValueError(f"truncated program at {self.pos}")
        v = self.b[self.pos:self.pos + n]
        self.pos += n
        return v

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def leb(self, signed: bool = False) -> int:
        result = shift = 0
        while True:
            b = self.u8()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                if signed and b & 0x40:
                    result -= 1 << shift
                return result


class BodyInfo(dict[str, Any]):
    """One body record: locals, max_stack, max_ctrl, frame_cost, code (bytes)."""


class ProgramInfo(dict[str, Any]):
    """The parsed program header: flags, types, func_types, tables, memories, globals, bodies."""


def parse_program(program: bytes) -> ProgramInfo:
    r = _R(program)
    magic, version, flags = r.u32(), r.u32(), r.u32()
    if magic != spec.MAGIC or version != spec.FORMAT_VERSION:
        raise ValueError("not a nearvm program (bad magic or version)")
    info = ProgramInfo(flags=flags)
    types = []
    for _ in range(r.u32()):
        ps = tuple(r.take(r.u32()))
        rs = tuple(r.take(r.u32()))
        types.append((ps, rs))
    info["types"] = types
    info["n_imported_funcs"] = r.u32()
    n_funcs = r.u32()
    info["func_types"] = [r.u32() for _ in range(n_funcs)]
    info["tables"] = [struct.unpack("<BBBBII", r.take(12)) for _ in range(r.u32())]
    info["memories"] = [struct.unpack("<BBHII", r.take(12)) for _ in range(r.u32())]
    info["globals"] = [struct.unpack("<BBBB", r.take(4)) for _ in range(r.u32())]
    info["n_elem_segments"] = r.u32()
    info["n_data_segments"] = r.u32()
    bodies = []
    for _ in range(r.u32()):
        size = r.u32()
        br = _R(program, r.pos, r.pos + size)
        r.pos += size
        if r.pos > len(program):
            raise ValueError("truncated body")
        locs = [(br.u32(), br.u8()) for _ in range(br.u32())]
        body = BodyInfo(locals=locs, max_stack=br.u32(), max_ctrl=br.u32(), frame_cost=br.u32())
        body["code"] = br.take(br.u32())
        bodies.append(body)
    info["bodies"] = bodies
    if r.pos != len(program):
        raise ValueError("trailing bytes after the last body")
    return info


def _tn(t: int) -> str:
    return _TYPE_NAMES.get(t, f"0x{t:02x}")


def disassemble_code(code: bytes) -> list[tuple[int, str]]:
    """[(offset, text)] for one body's ops."""
    r = _R(code)
    out: list[tuple[int, str]] = []
    while r.pos < r.end:
        off = r.pos
        b = r.u8()
        if b == spec.PREFIX_FC:
            sub = r.leb()
            op = spec.BY_FC.get(sub)
            if op is None:
                raise ValueError(f"bad 0xFC sub-op {sub} at {off}")
        else:
            maybe = spec.BY_CODE.get(b)
            if maybe is None:
                raise ValueError(f"bad opcode 0x{b:02x} at {off}")
            op = maybe
        k = op.imm
        txt = op.name
        if k == spec.IMM_BLOCKTYPE:
            txt += f" type={r.u32()}"
        elif k == spec.IMM_LABEL:
            txt += f" depth={r.u32()} arity={r.u32()} height={r.u32()}"
        elif k == spec.IMM_BR_TABLE:
            n, arity = r.u32(), r.u32()
            ents = [(r.u32(), r.u32()) for _ in range(n + 1)]
            txt += f" arity={arity} " + " ".join(f"{d}@{h}" for d, h in ents)
        elif k == spec.IMM_U32:
            txt += f" {r.u32()}"
        elif k == spec.IMM_U64:
            txt += f" {r.u64()}"
        elif k in (spec.IMM_FUNC, spec.IMM_LOCAL, spec.IMM_GLOBAL, spec.IMM_TABLE, spec.IMM_DATA, spec.IMM_ELEM):
            txt += f" {r.leb()}"
        elif k == spec.IMM_I32 or k == spec.IMM_I64:
            txt += f" {r.leb(signed=True)}"
        elif k == spec.IMM_F32:
            txt += f" 0x{int.from_bytes(r.take(4), 'little'):08x}"
        elif k == spec.IMM_F64:
            txt += f" 0x{int.from_bytes(r.take(8), 'little'):016x}"
        elif k == spec.IMM_MEMARG:
            txt += f" align={r.leb()} offset={r.leb()}"
        elif k == spec.IMM_MEMIDX:
            r.u8()
        elif k == spec.IMM_MEM_MEM:
            r.take(2)
        elif k == spec.IMM_DATA_MEM:
            txt += f" {r.leb()}"
            r.u8()
        elif k == spec.IMM_REFTYPE:
            txt += f" {_tn(r.u8())}"
        elif k == spec.IMM_CALL_INDIRECT or k == spec.IMM_ELEM_TABLE or k == spec.IMM_TABLE_TABLE:
            txt += f" {r.leb()} {r.leb()}"
        elif k == spec.IMM_SELECT_T:
            txt += " " + " ".join(_tn(r.u8()) for _ in range(r.leb()))
        out.append((off, txt))
    return out


def disassemble(program: bytes) -> str:
    """Human-readable listing of a whole program."""
    info = parse_program(program)
    lines = [f"nearvm program v{spec.FORMAT_VERSION} flags={info['flags']}"]
    for i, (ps, rs) in enumerate(info["types"]):
        lines.append(f"type {i}: [{' '.join(map(_tn, ps))}] -> [{' '.join(map(_tn, rs))}]")
    nimp = info["n_imported_funcs"]
    for i, t in enumerate(info["func_types"][:nimp]):
        lines.append(f"import func {i}: type {t}")
    for t in info["tables"]:
        lines.append(f"table {_tn(t[0])} imported={t[1]} min={t[4]}" + (f" max={t[5]}" if t[2] else ""))
    for mm in info["memories"]:
        lines.append(f"memory imported={mm[0]} min={mm[3]}" + (f" max={mm[4]}" if mm[1] else ""))
    for g in info["globals"]:
        lines.append(f"global {_tn(g[0])} mutable={g[1]} imported={g[2]}")
    lines.append(f"elem segments {info['n_elem_segments']}, data segments {info['n_data_segments']}")
    for j, body in enumerate(info["bodies"]):
        fi = nimp + j
        locs = ", ".join(f"{c}x{_tn(t)}" for c, t in body["locals"])
        lines.append(f"func {fi}: type {info['func_types'][fi]} locals [{locs}] max_stack={body['max_stack']} "
                     f"max_ctrl={body['max_ctrl']} frame_cost={body['frame_cost']}")
        lines.extend(f"  {off:6d}: {txt}" for off, txt in disassemble_code(body["code"]))
    return "\n".join(lines) + "\n"
