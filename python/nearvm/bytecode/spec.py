"""The one opcode table of nearvm (docs/bytecode.md): Wasm 2.0 without SIMD, plus STACK and GAS.

Everything else is derived from this data: the C header ``csrc/bytecode/nvm_opcodes.h``
(``gen_header.py``), the validator's dispatch tables (``nearvm/wasm/validate.py``), the generic
instruction reader used for constant expressions and the disassembler.

Each entry gives the instruction's name as in the text format, its opcode byte, the 0xFC
sub-opcode if any, its immediate kind, and for instructions with a fixed signature (spec §3.3 —
numeric ops, loads/stores, conversions) its operand and result types, so the validator can be
table-driven. Instructions with ``params is None`` are validated by hand (control flow, locals,
globals, calls, tables, references, polymorphic ``drop``/``select``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BY_CODE",
    "BY_FC",
    "BY_NAME",
    "EXTERNREF",
    "F32",
    "F64",
    "FLAG_GAS",
    "FORMAT_VERSION",
    "FUNCREF",
    "GAS",
    "I32",
    "I64",
    "MAGIC",
    "OPS",
    "PREFIX_FC",
    "PREFIX_SIMD",
    "STACK",
    "Op",
    "upper_name",
]

#: Version of the lowered program format; bump on any incompatible change (docs/bytecode.md).
FORMAT_VERSION = 1
#: "NVMB" read as a little-endian u32.
MAGIC = 0x424D564E
#: Program flags bit 0: GAS ops present.
FLAG_GAS = 1

PREFIX_FC = 0xFC
PREFIX_SIMD = 0xFD
#: nearvm's own ops (bytes unused by Wasm 2.0).
STACK = 0xE0
GAS = 0xE1

# Value type codes (spec §5.3.1/§5.3.3), the same numbers as nearvm.wasm.types.ValType.
I32 = 0x7F
I64 = 0x7E
F32 = 0x7D
F64 = 0x7C
FUNCREF = 0x70
EXTERNREF = 0x6F

# Immediate kinds. Wasm encodings unless noted (spec §5.4); nearvm's rewritten control ops use
# fixed-width fields instead (docs/bytecode.md "Rewritten control ops").
IMM_NONE = "none"
IMM_BLOCKTYPE = "blocktype"  # Wasm: 0x40 | valtype | s33 type index.  Bytecode: u32 type
IMM_LABEL = "label"  # Wasm: uleb depth.  Bytecode: u32 depth, u32 arity, u32 height
IMM_BR_TABLE = "br_table"  # Wasm: vec(uleb) uleb.  Bytecode: u32 n, u32 arity, (n+1) x (u32 depth, u32 height)
IMM_FUNC = "funcidx"
IMM_CALL_INDIRECT = "call_indirect"  # uleb typeidx, uleb tableidx
IMM_LOCAL = "localidx"
IMM_GLOBAL = "globalidx"
IMM_TABLE = "tableidx"
IMM_MEMARG = "memarg"  # uleb align, uleb offset
IMM_MEMIDX = "memidx"  # one zero byte
IMM_I32 = "i32"  # sleb
IMM_I64 = "i64"  # sleb
IMM_F32 = "f32"  # 4 raw bytes
IMM_F64 = "f64"  # 8 raw bytes
IMM_REFTYPE = "reftype"  # one byte
IMM_SELECT_T = "select_t"  # vec(valtype)
IMM_DATA_MEM = "dataidx_memidx"  # uleb dataidx, zero byte
IMM_DATA = "dataidx"
IMM_MEM_MEM = "memidx_memidx"  # two zero bytes
IMM_ELEM_TABLE = "elemidx_tableidx"
IMM_ELEM = "elemidx"
IMM_TABLE_TABLE = "tableidx_tableidx"  # dst, src
IMM_U32 = "u32"  # nearvm: fixed 4 bytes
IMM_U64 = "u64"  # nearvm: fixed 8 bytes

# Feature flags (nearvm.config.Config attribute names) that gate instructions.
F_SIGN_EXT = "sign_extension"
F_SAT = "saturating_float_to_int"
F_BULK = "bulk_memory"
F_REF = "reference_types"


@dataclass(frozen=True)
class Op:
    name: str
    code: int
    subop: int | None = None
    imm: str = IMM_NONE
    #: Operand types popped (bottom first) and result types pushed; None = validated by hand.
    params: tuple[int, ...] | None = None
    results: tuple[int, ...] | None = None
    #: Config feature flag required, if any.
    feature: str | None = None
    #: log2 of the natural alignment for loads/stores (spec §3.3.7).
    align: int | None = None
    #: True for nearvm's own ops, which never appear in Wasm input.
    nearvm: bool = False

    @property
    def upper(self) -> str:
        return upper_name(self.name)


def upper_name(name: str) -> str:
    """``i32.trunc_sat_f32_s`` -> ``I32_TRUNC_SAT_F32_S`` (C identifiers in nvm_opcodes.h)."""
    return name.upper().replace(".", "_")


def _build() -> list[Op]:
    ops: list[Op] = []

    def op(name: str, code: int, imm: str = IMM_NONE, params: tuple[int, ...] | None = None,
           results: tuple[int, ...] | None = None, feature: str | None = None, align: int | None = None,
           subop: int | None = None, nearvm: bool = False) -> None:
        ops.append(Op(name, code, subop, imm, params, results, feature, align, nearvm))

    # Control instructions (spec §5.4.1).
    op("unreachable", 0x00)
    op("nop", 0x01)
    op("block", 0x02, IMM_BLOCKTYPE)
    op("loop", 0x03, IMM_BLOCKTYPE)
    op("if", 0x04, IMM_BLOCKTYPE)
    op("else", 0x05)
    op("end", 0x0B)
    op("br", 0x0C, IMM_LABEL)
    op("br_if", 0x0D, IMM_LABEL)
    op("br_table", 0x0E, IMM_BR_TABLE)
    op("return", 0x0F)
    op("call", 0x10, IMM_FUNC)
    op("call_indirect", 0x11, IMM_CALL_INDIRECT)
    # Parametric (§5.4.3).
    op("drop", 0x1A)
    op("select", 0x1B)
    op("select_t", 0x1C, IMM_SELECT_T, feature=F_REF)
    # Variable (§5.4.4).
    op("local.get", 0x20, IMM_LOCAL)
    op("local.set", 0x21, IMM_LOCAL)
    op("local.tee", 0x22, IMM_LOCAL)
    op("global.get", 0x23, IMM_GLOBAL)
    op("global.set", 0x24, IMM_GLOBAL)
    # Table (§5.4.5).
    op("table.get", 0x25, IMM_TABLE, feature=F_REF)
    op("table.set", 0x26, IMM_TABLE, feature=F_REF)
    # Memory (§5.4.6): loads and stores with their natural alignment.
    loads = [("i32.load", I32, 2), ("i64.load", I64, 3), ("f32.load", F32, 2), ("f64.load", F64, 3),
             ("i32.load8_s", I32, 0), ("i32.load8_u", I32, 0), ("i32.load16_s", I32, 1), ("i32.load16_u", I32, 1),
             ("i64.load8_s", I64, 0), ("i64.load8_u", I64, 0), ("i64.load16_s", I64, 1),
             ("i64.load16_u", I64, 1), ("i64.load32_s", I64, 2), ("i64.load32_u", I64, 2)]
    for i, (name, t, a) in enumerate(loads):
        op(name, 0x28 + i, IMM_MEMARG, (I32,), (t,), align=a)
    stores = [("i32.store", I32, 2), ("i64.store", I64, 3), ("f32.store", F32, 2), ("f64.store", F64, 3),
              ("i32.store8", I32, 0), ("i32.store16", I32, 1), ("i64.store8", I64, 0), ("i64.store16", I64, 1),
              ("i64.store32", I64, 2)]
    for i, (name, t, a) in enumerate(stores):
        op(name, 0x36 + i, IMM_MEMARG, (I32, t), (), align=a)
    op("memory.size", 0x3F, IMM_MEMIDX, (), (I32,))
    op("memory.grow", 0x40, IMM_MEMIDX, (I32,), (I32,))
    # Numeric (§5.4.7).
    op("i32.const", 0x41, IMM_I32, (), (I32,))
    op("i64.const", 0x42, IMM_I64, (), (I64,))
    op("f32.const", 0x43, IMM_F32, (), (F32,))
    op("f64.const", 0x44, IMM_F64, (), (F64,))

    code = 0x45

    def group(prefix: str, names: str, params: tuple[int, ...], results: tuple[int, ...],
              feature: str | None = None) -> None:
        nonlocal code
        for n in names.split():
            op(f"{prefix}.{n}", code, IMM_NONE, params, results, feature)
            code += 1

    group("i32", "eqz", (I32,), (I32,))
    group("i32", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", (I32, I32), (I32,))
    group("i64", "eqz", (I64,), (I32,))
    group("i64", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", (I64, I64), (I32,))
    group("f32", "eq ne lt gt le ge", (F32, F32), (I32,))
    group("f64", "eq ne lt gt le ge", (F64, F64), (I32,))
    group("i32", "clz ctz popcnt", (I32,), (I32,))
    group("i32", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr", (I32, I32), (I32,))
    group("i64", "clz ctz popcnt", (I64,), (I64,))
    group("i64", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr", (I64, I64), (I64,))
    group("f32", "abs neg ceil floor trunc nearest sqrt", (F32,), (F32,))
    group("f32", "add sub mul div min max copysign", (F32, F32), (F32,))
    group("f64", "abs neg ceil floor trunc nearest sqrt", (F64,), (F64,))
    group("f64", "add sub mul div min max copysign", (F64, F64), (F64,))
    assert code == 0xA7
    conversions = [
        ("i32.wrap_i64", I64, I32),
        ("i32.trunc_f32_s", F32, I32), ("i32.trunc_f32_u", F32, I32),
        ("i32.trunc_f64_s", F64, I32), ("i32.trunc_f64_u", F64, I32),
        ("i64.extend_i32_s", I32, I64), ("i64.extend_i32_u", I32, I64),
        ("i64.trunc_f32_s", F32, I64), ("i64.trunc_f32_u", F32, I64),
        ("i64.trunc_f64_s", F64, I64), ("i64.trunc_f64_u", F64, I64),
        ("f32.convert_i32_s", I32, F32), ("f32.convert_i32_u", I32, F32),
        ("f32.convert_i64_s", I64, F32), ("f32.convert_i64_u", I64, F32),
        ("f32.demote_f64", F64, F32),
        ("f64.convert_i32_s", I32, F64), ("f64.convert_i32_u", I32, F64),
        ("f64.convert_i64_s", I64, F64), ("f64.convert_i64_u", I64, F64),
        ("f64.promote_f32", F32, F64),
        ("i32.reinterpret_f32", F32, I32), ("i64.reinterpret_f64", F64, I64),
        ("f32.reinterpret_i32", I32, F32), ("f64.reinterpret_i64", I64, F64),
    ]
    for name, a, r in conversions:
        op(name, code, IMM_NONE, (a,), (r,))
        code += 1
    # Sign-extension operators (spec 2.0 §5.4.7, 0xC0..0xC4).
    for name, t in [("i32.extend8_s", I32), ("i32.extend16_s", I32), ("i64.extend8_s", I64),
                    ("i64.extend16_s", I64), ("i64.extend32_s", I64)]:
        op(name, code, IMM_NONE, (t,), (t,), F_SIGN_EXT)
        code += 1
    assert code == 0xC5
    # Reference instructions (§5.4.2).
    op("ref.null", 0xD0, IMM_REFTYPE, feature=F_REF)
    op("ref.is_null", 0xD1, feature=F_REF)
    op("ref.func", 0xD2, IMM_FUNC, feature=F_REF)
    # nearvm ops (docs/bytecode.md "nearvm ops").
    op("stack", STACK, IMM_U32, nearvm=True)
    op("gas", GAS, IMM_U64, nearvm=True)
    # 0xFC prefix: saturating truncation (0-7), bulk memory and table ops (8-17).
    sat = [("i32.trunc_sat_f32_s", F32, I32), ("i32.trunc_sat_f32_u", F32, I32),
           ("i32.trunc_sat_f64_s", F64, I32), ("i32.trunc_sat_f64_u", F64, I32),
           ("i64.trunc_sat_f32_s", F32, I64), ("i64.trunc_sat_f32_u", F32, I64),
           ("i64.trunc_sat_f64_s", F64, I64), ("i64.trunc_sat_f64_u", F64, I64)]
    for i, (name, a, r) in enumerate(sat):
        op(name, PREFIX_FC, IMM_NONE, (a,), (r,), F_SAT, subop=i)
    op("memory.init", PREFIX_FC, IMM_DATA_MEM, (I32, I32, I32), (), F_BULK, subop=8)
    op("data.drop", PREFIX_FC, IMM_DATA, (), (), F_BULK, subop=9)
    op("memory.copy", PREFIX_FC, IMM_MEM_MEM, (I32, I32, I32), (), F_BULK, subop=10)
    op("memory.fill", PREFIX_FC, IMM_MEMIDX, (I32, I32, I32), (), F_BULK, subop=11)
    op("table.init", PREFIX_FC, IMM_ELEM_TABLE, (I32, I32, I32), (), F_BULK, subop=12)
    op("elem.drop", PREFIX_FC, IMM_ELEM, (), (), F_BULK, subop=13)
    op("table.copy", PREFIX_FC, IMM_TABLE_TABLE, (I32, I32, I32), (), F_BULK, subop=14)
    op("table.grow", PREFIX_FC, IMM_TABLE, None, None, F_REF, subop=15)
    op("table.size", PREFIX_FC, IMM_TABLE, (), (I32,), F_REF, subop=16)
    op("table.fill", PREFIX_FC, IMM_TABLE, None, None, F_REF, subop=17)
    return ops


#: Every instruction, single-byte ops first (by opcode), then 0xFC ops (by sub-opcode).
OPS: tuple[Op, ...] = tuple(_build())
#: Single-byte ops by opcode byte (Wasm ops and nearvm's STACK/GAS).
BY_CODE: dict[int, Op] = {o.code: o for o in OPS if o.subop is None}
#: 0xFC-prefixed ops by sub-opcode.
BY_FC: dict[int, Op] = {o.subop: o for o in OPS if o.subop is not None}
BY_NAME: dict[str, Op] = {o.name: o for o in OPS}

assert len(BY_CODE) + len(BY_FC) == len(OPS) == len(BY_NAME)
