"""Validation fused with lowering (spec §3 + appendix "Validation Algorithm"; docs/bytecode.md).

Module-level rules (spec §3.4) are checked on the decoded :class:`RawModule`; then each function
body is decoded, validated, gas-metered and lowered in ONE flat loop (``_lower_body``): no
recursion on nesting depth, no per-instruction objects, a preallocated type stack, straight-line
instructions copied to the output as unchanged byte runs and only control flow rewritten
(docs/design.md "Frontend speed").

There are two versions of that loop: ``_lower_body_fast`` (a bytes iterator, no per-instruction
offset, no error reporting: it gives up on anything it does not accept) and ``_lower_body_exact``
(an index, every instruction's offset, exact errors). Every body goes through the fast one; a body
it gives up on goes through the exact one, which reports the error (or, for a valid body, produces
the same bytes). tests/frontend/test_fast_path.py holds them to that.

Types on the operand stack are the binary value-type codes (plain ints); 0 is the spec
algorithm's ``Unknown`` (the bottom type of unreachable code).
"""

from __future__ import annotations
import __future__

import ast
import inspect
import struct
import textwrap
from bisect import bisect_right
from typing import Any

from ..bytecode import spec
from ..config import Config
from ..errors import DecodeError, LimitError, ValidationError
from .decode import MAX_LOCALS, RawConst, RawModule, decode_module
from .module import ConstExpr, DataSegment, ElemSegment, Export, Import, ModuleInfo
from .types import MAX_PAGES, GlobalType, MemoryType, ValType

__all__ = ["translate", "validate_module"]

UNKNOWN = 0
I32, I64, F32, F64, FUNCREF, EXTERNREF = spec.I32, spec.I64, spec.F32, spec.F64, spec.FUNCREF, spec.EXTERNREF
_REFS = (FUNCREF, EXTERNREF)
_NUMS = (I32, I64, F32, F64)
#: Stack-budget size of each type code (docs/design.md: i32/f32 4, everything else 8).
_SZ = [8] * 256
_SZ[I32] = 4
_SZ[F32] = 4

# ---- instruction kinds for the dispatch chain (most frequent first in the loop) ----------------
(K_ILLEGAL, K_LOCAL_GET, K_BIN, K_I32_CONST, K_LOCAL_SET, K_LOCAL_TEE, K_LOAD, K_STORE, K_REL, K_TEST,
 K_END, K_BR_IF, K_BLOCK, K_LOOP, K_CALL, K_GLOBAL_GET, K_GLOBAL_SET, K_I64_CONST, K_F32_CONST, K_F64_CONST,
 K_CVT, K_UN, K_BR, K_RETURN, K_IF, K_ELSE, K_DROP, K_SELECT, K_SELECT_T, K_BR_TABLE, K_CALL_INDIRECT,
 K_MEMSIZE, K_MEMGROW, K_FC, K_NOP, K_UNREACHABLE, K_REF_NULL, K_REF_IS_NULL, K_REF_FUNC, K_TABLE_GET,
 K_TABLE_SET, K_SIMD) = range(42)

KIND = [K_ILLEGAL] * 256
#: Operand type of K_BIN/K_UN/K_REL/K_TEST ops; result type of K_CVT/K_LOAD; value type of K_STORE.
OPT = [0] * 256
#: Natural alignment (log2) of loads/stores.
ALIGN = [0] * 256
FEATURE: list[str | None] = [None] * 256


def _init_tables() -> None:
    special = {0x00: K_UNREACHABLE, 0x01: K_NOP, 0x02: K_BLOCK, 0x03: K_LOOP, 0x04: K_IF, 0x05: K_ELSE,
               0x0B: K_END, 0x0C: K_BR, 0x0D: K_BR_IF, 0x0E: K_BR_TABLE, 0x0F: K_RETURN, 0x10: K_CALL,
               0x11: K_CALL_INDIRECT, 0x1A: K_DROP, 0x1B: K_SELECT, 0x1C: K_SELECT_T, 0x20: K_LOCAL_GET,
               0x21: K_LOCAL_SET, 0x22: K_LOCAL_TEE, 0x23: K_GLOBAL_GET, 0x24: K_GLOBAL_SET, 0x25: K_TABLE_GET,
               0x26: K_TABLE_SET, 0x3F: K_MEMSIZE, 0x40: K_MEMGROW, 0x41: K_I32_CONST, 0x42: K_I64_CONST,
               0x43: K_F32_CONST, 0x44: K_F64_CONST, 0xD0: K_REF_NULL, 0xD1: K_REF_IS_NULL, 0xD2: K_REF_FUNC,
               spec.PREFIX_FC: K_FC, spec.PREFIX_SIMD: K_SIMD}
    for op in spec.OPS:
        if op.subop is not None or op.nearvm:
            continue
        c = op.code
        FEATURE[c] = op.feature
        if c in special:
            KIND[c] = special[c]
            continue
        assert op.params is not None and op.results is not None
        ps, rs = op.params, op.results
        if op.imm == spec.IMM_MEMARG:
            ALIGN[c] = op.align or 0
            if rs:
                KIND[c], OPT[c] = K_LOAD, rs[0]
            else:
                KIND[c], OPT[c] = K_STORE, ps[1]
        elif len(ps) == 2:
            KIND[c], OPT[c] = (K_BIN if rs[0] == ps[0] else K_REL), ps[0]
        elif len(ps) == 1 and rs[0] == ps[0]:
            KIND[c], OPT[c] = K_UN, ps[0]
        elif len(ps) == 1 and rs[0] == I32 and c in (0x45, 0x50):
            KIND[c], OPT[c] = K_TEST, ps[0]
        elif len(ps) == 1:
            KIND[c], OPT[c] = K_CVT, rs[0]
            # The operand type of a conversion is looked up in CVT_IN.
            CVT_IN[c] = ps[0]
        else:
            raise AssertionError(op)
    KIND[spec.PREFIX_FC] = K_FC
    KIND[spec.PREFIX_SIMD] = K_SIMD


CVT_IN = [0] * 256
_init_tables()

#: Control frame kinds.
F_FUNC, F_BLOCK, F_LOOP, F_IF, F_ELSE = range(5)

_pack_u32 = struct.Struct("<I").pack
_pack_3u32 = struct.Struct("<III").pack
_pack_4u32 = struct.Struct("<IIII").pack
_pack_op_u32 = struct.Struct("<BI").pack
_pack_gas = struct.Struct("<BQ").pack
_GAS_OP_SIZE = struct.calcsize("<BQ")


class _Mismatch(Exception):
    """Internal: operand types do not match (converted to ValidationError with the offset)."""


def _pop_expect(vals: list[int], sp: int, fh: int, unreach: bool, expect: tuple[int, ...]) -> int:
    """Pop ``expect`` (bottom first) off the stack above ``fh`` (spec appendix ``pop_vals``)."""
    i = len(expect) - 1
    while i >= 0:
        e = expect[i]
        if sp > fh:
            sp -= 1
            a = vals[sp]
            if a != e and a != UNKNOWN and e != UNKNOWN:
                raise _Mismatch
        elif not unreach:
            raise _Mismatch
        i -= 1
    return sp


def _check_top(vals: list[int], sp: int, fh: int, unreach: bool, expect: tuple[int, ...]) -> None:
    """``push_vals(pop_vals(expect))`` without changing anything (br_table targets)."""
    _pop_expect(vals, sp, fh, unreach, expect)


def _uleb_slow(code: bytes, pos: int, bits: int = 32) -> tuple[int, int]:
    """Full LEB128 unsigned read at ``pos`` (spec §5.2.2 limits); returns (value, new pos)."""
    result = 0
    shift = 0
    start = pos
    maxlen = (bits + 6) // 7
    while True:
        b = code[pos]
        pos += 1
        if pos - start == maxlen:
            if b & 0x80:
                raise _Malformed("integer representation too long", pos - 1)
            if b >> (bits - shift):
                raise _Malformed("integer too large", pos - 1)
            return result | (b << shift), pos
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _sleb_slow(code: bytes, pos: int, bits: int) -> tuple[int, int]:
    result = 0
    shift = 0
    start = pos
    maxlen = (bits + 6) // 7
    while True:
        b = code[pos]
        pos += 1
        if pos - start == maxlen:
            if b & 0x80:
                raise _Malformed("integer representation too long", pos - 1)
            rem = bits - shift
            top = b >> (rem - 1)
            if top != 0 and top != (0x7F >> (rem - 1)):
                raise _Malformed("integer too large", pos - 1)
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


class _Malformed(Exception):
    def __init__(self, msg: str, pos: int) -> None:
        self.msg = msg
        self.pos = pos


class _Ctx:
    """Module-level facts the body loop needs (spec §3.1.1 context C)."""

    def __init__(self, config: Config, m: ModuleInfo, refs: set[int], elem_types: list[int],
                 sigs: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> None:
        self.config = config
        self.m = m
        #: Bytecode-to-wasm offset map of the body being lowered, and of every body lowered so far.
        self.wmap: list[int] = []
        self.wmaps: list[list[int]] = []
        #: Module types as int codes (``RawModule.sigs``: equal types share one tuple).
        self.types = sigs
        self.func_types = m.func_types
        self.globals = [(int(g.content), g.mutable) for g in m.globals]
        self.tables = [int(t.element) for t in m.tables]
        self.n_memories = len(m.memories)
        self.data_count = m.data_count
        self.elem_types = elem_types
        self.refs = refs
        # Program types: module types, then deduplicated synthetic block types (docs/bytecode.md).
        self.ext_types: list[tuple[tuple[int, ...], tuple[int, ...]]] = list(self.types)
        # First index of each distinct type, built at the first block type that needs it (most
        # modules' blocks are void or single-result and are found in ``bt_enc1``).
        self._type_index: dict[tuple[tuple[int, ...], tuple[int, ...]], int] | None = None
        self.gas = config.gas
        self.weights: list[int] = list(config.gas.weights) if config.gas else [0] * 256
        self.fc_weights: list[int] = list(config.gas.fc_weights) if config.gas else [0] * len(spec.BY_FC)
        self.frame_init_per_word = config.gas.frame_init_per_word if config.gas else 0
        #: (block/loop/if opcode, block type) -> its encoded bytecode op (``_lower_body``).
        self.bt_enc: dict[tuple[int, tuple[tuple[int, ...], tuple[int, ...]]], bytes] = {}
        #: Frame bytes of a function of each type before its locals (64 + params), -1 = not yet known.
        self.param_bytes = [-1] * len(sigs)
        self.blocks_total = 0
        self.locals_total = 0
        f = config
        self.feat = {None: True, spec.F_SIGN_EXT: f.sign_extension, spec.F_SAT: f.saturating_float_to_int,
                     spec.F_BULK: f.bulk_memory, spec.F_REF: f.reference_types}
        self.enabled = [self.feat[FEATURE[c]] for c in range(256)]
        #: ``KIND`` with the opcodes of disabled features made illegal (the fast loop's dispatch).
        self.kind = [KIND[c] if self.enabled[c] else K_ILLEGAL for c in range(256)]
        #: The fast loop's type stack and cumulative-bytes stack, shared by all bodies (grown as needed).
        self.fvals: list[int] = [0] * 16
        self.fcum: list[int] = [0] * 17
        #: The fast loop's per-module constants (built at its first body) and locals facts per
        #: (type index, local declaration bytes).
        self.fenv: tuple[Any, ...] | None = None
        self.lcache: dict[tuple[int, bytes], tuple[Any, ...]] = {}
        #: ``bt_enc`` by ``op * 256 + block type byte`` for one-byte block types (the fast loop).
        self.bt_enc1: dict[int, bytes] = {}

    def block_type_index(self, t: tuple[tuple[int, ...], tuple[int, ...]]) -> int:
        ti = self._type_index
        if ti is None:
            # Built in reverse so that the first occurrence wins.
            sigs = self.types
            ti = self._type_index = dict(zip(reversed(sigs), range(len(sigs) - 1, -1, -1)))
        i = ti.get(t)
        if i is None:
            i = len(self.ext_types)
            self.ext_types.append(t)
            ti[t] = i
        return i


def _lower_body_exact(ctx: _Ctx, fidx: int, data: bytes, bstart: int, bend: int) -> bytes:
    """Validate, meter and lower one function body (spec §3.3 + appendix); returns the body record.

    The reference loop: it tracks every instruction's offset, so it reports the exact error (message,
    offset, function). ``_lower_body_fast`` does the same work faster and hands every body it does
    not accept to this loop, so both produce the same bytes for valid bodies and errors come from here.
    """
    cfg = ctx.config
    ti = ctx.func_types[fidx]
    params, results = ctx.types[ti]
    # -- locals (spec §5.5.13) --
    p = bstart
    groups: list[tuple[int, int]] = []
    try:
        # One-byte counts inline: a function call per LEB is a visible part of the fixed cost of
        # a small function.
        ngroups = data[p]
        if ngroups < 0x80:
            p += 1
        else:
            ngroups, p = _uleb_slow(data, p)
        total = 0
        for _ in range(ngroups):
            cnt = data[p]
            if cnt < 0x80:
                p += 1
            else:
                cnt, p = _uleb_slow(data, p)
            t = data[p]
            if t not in _SZ_VALID:
                if t == 0x7B:
                    raise DecodeError("SIMD is not supported (v128 local)", p, fidx)
                raise DecodeError("malformed value type", p, fidx)
            if t == EXTERNREF and not cfg.reference_types:
                raise DecodeError("malformed value type", p, fidx)
            p += 1
            total += cnt
            if total > MAX_LOCALS:
                raise DecodeError("too many locals", p, fidx)
            if cnt:
                groups.append((cnt, t))
    except IndexError:
        raise DecodeError("unexpected end of section or function", min(p, bend), fidx) from None
    except _Malformed as e:
        raise DecodeError(e.msg, e.pos, fidx) from None
    if p > bend:
        raise DecodeError("unexpected end of section or function", bend, fidx)
    lim = cfg.max_locals_per_function
    if lim is not None and total > lim:
        raise LimitError(f"too many locals: {total} > {lim}", "max_locals_per_function", bstart, fidx)
    ctx.locals_total += total
    lim = cfg.max_locals_per_module
    if lim is not None and ctx.locals_total > lim:
        raise LimitError(f"too many locals: {ctx.locals_total} > {lim}", "max_locals_per_module", bstart, fidx)
    base = p
    code = data[p:bend]
    # Local types: a flat list indexed by local index (``ltypes``) for the first ``lfast`` locals;
    # beyond it by bisection over the declared groups. Every per-function cost here is bounded by
    # the body's own bytes, never by the signature or the declared counts, so that many small
    # functions of a 1,000-param type or with 50,000 locals each stay linear in the input:
    # - the flat list holds at most ~len(code) locals (a body of B bytes names at most B locals);
    # - a signature with more params than that is used as the flat list itself (a tuple, no copy);
    # - the params' frame bytes are computed once per type index (``ctx.param_bytes``).
    nparams = len(params)
    nlocals = nparams + total
    budget = len(code) + 16
    frame_bytes = ctx.param_bytes[ti]
    if frame_bytes < 0:
        frame_bytes = 64
        for t in params:
            frame_bytes += _SZ[t]
        ctx.param_bytes[ti] = frame_bytes
    if not groups or nparams >= budget:
        ltypes: list[int] | tuple[int, ...] = params
        lfast = nparams
        gstarts = [0]
        gtypes = [0]
        acc = nparams
        for cnt, t in groups:
            frame_bytes += cnt * _SZ[t]
            gstarts.append(acc)
            gtypes.append(t)
            acc += cnt
    else:
        lt = list(params)
        gstarts = [0]
        gtypes = [0]
        acc = nparams
        for cnt, t in groups:
            frame_bytes += cnt * _SZ[t]
            if len(lt) < budget:
                lt.extend([t] * min(cnt, budget - len(lt)))
            gstarts.append(acc)
            gtypes.append(t)
            acc += cnt
        ltypes = lt
        lfast = len(lt)

    # -- body loop state --
    types = ctx.types
    func_types = ctx.func_types
    nfuncs = len(func_types)
    globs = ctx.globals
    nglobs = len(globs)
    has_mem = ctx.n_memories > 0
    W = ctx.weights
    FW = ctx.fc_weights
    gas_on = ctx.gas is not None
    enabled = ctx.enabled
    # Pushes of one value each consume at least one input byte; every multi-value push
    # (block params, call results, branch label types) checks ``cap`` and grows.
    cap = len(code) + 16
    vals = [0] * cap
    cum = [0] * (cap + 1)
    sp = 0
    maxsp = 0
    maxb = 0
    fh = 0
    unreach = False
    # Control frames: [kind, start types, end types, height, unreach(saved), live at entry, branched,
    #                  label types, then-arm live at else]
    func_frame: list[Any] = [F_FUNC, (), results, 0, False, True, False, results, False]
    ctrl: list[list[Any]] = [func_frame]
    maxctrl = 1
    nblocks = 0
    out = bytearray(b"\xe0\x00\x00\x00\x00")  # STACK, frame cost patched at the end
    wmap: list[int] = []  # (bytecode start, wasm start, wasm end) of each copied run: _wmap_shift
    live = True
    run = 0
    blk = 5
    cost = ctx.frame_init_per_word * ((frame_bytes + 7) // 8) if gas_on else 0
    saved_max = (0, 0)
    bt_enc = ctx.bt_enc
    KIND_ = KIND
    OPT_ = OPT
    SZ = _SZ
    p = 0
    pos = 0
    try:
        while True:
            p = pos
            op = code[pos]
            pos += 1
            k = KIND_[op]
            cost += W[op]
            if k == 1:  # local_get
                x = code[pos]
                pos += 1
                if x >= 0x80:
                    x, pos = _uleb_slow(code, pos - 1)
                if x < lfast:
                    t = ltypes[x]
                elif x < nlocals:
                    t = gtypes[bisect_right(gstarts, x) - 1]
                else:
                    raise ValidationError(f"unknown local {x}", base + p, fidx)
                vals[sp] = t
                b = cum[sp] + SZ[t]
                sp += 1
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif k == 3:  # i32_const
                b = code[pos]
                pos += 1
                if b & 0x80:
                    _, pos = _sleb_slow(code, pos - 1, 32)
                vals[sp] = I32
                b = cum[sp] + 4
                sp += 1
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif k == 4 or k == 5:  # local_set, local_tee
                x = code[pos]
                pos += 1
                if x >= 0x80:
                    x, pos = _uleb_slow(code, pos - 1)
                if x < lfast:
                    t = ltypes[x]
                elif x < nlocals:
                    t = gtypes[bisect_right(gstarts, x) - 1]
                else:
                    raise ValidationError(f"unknown local {x}", base + p, fidx)
                if sp > fh and vals[sp - 1] == t:
                    if k == 4:  # local_set
                        sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (t,))
                    if k == 5:  # local_tee
                        vals[sp] = t
                        sp += 1
                        b = cum[sp - 1] + SZ[t]
                        cum[sp] = b
                        if sp > maxsp:
                            maxsp = sp
                        if b > maxb:
                            maxb = b
            elif k == 2:  # bin
                t = OPT_[op]
                if sp - fh >= 2 and vals[sp - 1] == t and vals[sp - 2] == t:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (t, t))
                    vals[sp] = t
                    sp += 1
                    cum[sp] = cum[sp - 1] + SZ[t]
            elif k == 10:  # end
                fr = ctrl[-1]
                rt = fr[2]
                n = len(rt)
                if not (sp - fh == n and (n == 0 or (n == 1 and vals[fh] == rt[0]))):
                    s2 = _pop_expect(vals, sp, fh, unreach, rt)
                    if s2 != fh:
                        raise _Mismatch
                kind = fr[0]
                if kind == F_IF and fr[1] != rt:
                    # An if without else has an implicit empty else: params must equal results (§3.3.8.5).
                    raise _Mismatch
                # Results: reset to the frame base and push the end types (turns Unknown into types).
                sp = fh
                if sp + n >= cap:
                    cap = _grow(vals, cum, sp + n + len(code))
                for t in rt:
                    vals[sp] = t
                    b = cum[sp] + SZ[t]
                    sp += 1
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
                if sp > maxsp:
                    maxsp = sp
                if fr[5]:
                    was_live = live
                    if live:
                        wmap += (len(out), base + run, base + p)
                        out += code[run:p]
                        if gas_on:
                            if cost:
                                out[blk:blk] = _pack_gas(spec.GAS, cost)
                                _wmap_shift(wmap, blk)
                            cost = 0
                    else:
                        cost = W[op]
                    out.append(0x0B)
                    run = pos
                    if kind == F_LOOP:
                        reach = live
                    elif kind == F_IF:
                        reach = True  # implicit else arm falls through
                    elif kind == F_ELSE:
                        reach = live or fr[6] or fr[8]
                    else:
                        reach = live or fr[6]
                    live = reach
                    blk = len(out)
                    if not live:
                        cost = 0
                        if was_live:
                            saved_max = (maxsp, maxb)
                    elif not was_live:
                        maxsp, maxb = saved_max
                        if sp > maxsp:
                            maxsp = sp
                        if cum[sp] > maxb:
                            maxb = cum[sp]
                ctrl.pop()
                if not ctrl:
                    if not was_live:
                        maxsp, maxb = saved_max
                    break
                if kind == F_IF:
                    # Implicit else: the params flow to the end unchanged — already equal to results.
                    pass
                parent = ctrl[-1]
                fh = parent[3]
                unreach = parent[4]
            elif k == 12 or k == 13 or k == 24:  # block, loop, if
                b = code[pos]
                pos += 1
                if b == 0x40:
                    bt: tuple[tuple[int, ...], tuple[int, ...]] = _VOID_BT
                elif b in _SZ_VALID:
                    if b == EXTERNREF and not cfg.reference_types:
                        raise _Malformed("malformed value type", p + 1)
                    bt = ((), (b,))
                else:
                    if b & 0x80:
                        ti, pos = _sleb_slow(code, pos - 1, 33)
                    else:
                        ti = b
                        if b & 0x40:
                            raise _Malformed("malformed value type", p + 1)
                    if ti < 0:
                        raise _Malformed("malformed value type", p + 1)
                    if ti >= len(types):
                        raise ValidationError(f"unknown type {ti}", base + p + 1, fidx)
                    if not cfg.multi_value:
                        raise ValidationError("block type index requires multi-value", base + p + 1, fidx)
                    bt = types[ti]
                nblocks += 1
                if k == 24:  # if
                    if sp > fh and vals[sp - 1] == I32:
                        sp -= 1
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                bp = bt[0]
                if bp:
                    sp = _pop_expect(vals, sp, fh, unreach, bp)
                    nh = sp
                    if sp + len(bp) >= cap:
                        cap = _grow(vals, cum, sp + len(bp) + len(code))
                    for t in bp:
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                else:
                    nh = sp
                ctrl[-1][4] = unreach
                kind = F_BLOCK if k == 12 else (F_LOOP if k == 13 else F_IF)  # block, loop
                ctrl.append([kind, bp, bt[1], nh, False, live, False, bp if kind == F_LOOP else bt[1], False])
                if len(ctrl) > maxctrl:
                    maxctrl = len(ctrl)
                fh = nh
                unreach = False
                if live:
                    wmap += (len(out), base + run, base + p)
                    out += code[run:p]
                    if k != 12 and gas_on:  # block
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    # The encoded op + type index, cached per (op, block type): blocks are the
                    # deep-nesting shape's whole cost, and this saves a method call and a pack.
                    enc = bt_enc.get((op, bt))
                    if enc is None:
                        enc = bt_enc[(op, bt)] = _pack_op_u32(op, ctx.block_type_index(bt))
                    out += enc
                    run = pos
                    if k != 12:  # block
                        blk = len(out)
            elif k == 11:  # br_if
                x = code[pos]
                pos += 1
                if x >= 0x80:
                    x, pos = _uleb_slow(code, pos - 1)
                if x >= len(ctrl):
                    raise ValidationError(f"unknown label {x}", base + p, fidx)
                fr = ctrl[-1 - x]
                lt = fr[7]
                if sp > fh and vals[sp - 1] == I32:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                if lt:
                    sp = _pop_expect(vals, sp, fh, unreach, lt)
                    if sp + len(lt) >= cap:
                        cap = _grow(vals, cum, sp + len(lt) + len(code))
                    for t in lt:
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                if live:
                    wmap += (len(out), base + run, base + p)
                    out += code[run:p]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    out.append(0x0D)
                    out += _pack_3u32(x, len(lt), fr[3])
                    run = pos
                    blk = len(out)
                    fr[6] = True
            elif k == 22 or k == 23 or k == 35:  # br, return, unreachable
                if k == 22:  # br
                    x = code[pos]
                    pos += 1
                    if x >= 0x80:
                        x, pos = _uleb_slow(code, pos - 1)
                    if x >= len(ctrl):
                        raise ValidationError(f"unknown label {x}", base + p, fidx)
                    fr = ctrl[-1 - x]
                    lt = fr[7]
                    if lt:
                        _pop_expect(vals, sp, fh, unreach, lt)
                elif k == 23:  # return
                    if results:
                        _pop_expect(vals, sp, fh, unreach, results)
                if live:
                    if k == 35:  # unreachable
                        wmap += (len(out), base + run, base + pos)
                        out += code[run:pos]
                    else:
                        wmap += (len(out), base + run, base + p)
                        out += code[run:p]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    if k == 22:  # br
                        out.append(0x0C)
                        out += _pack_3u32(x, len(lt), fr[3])
                        fr[6] = True
                    elif k == 23:  # return
                        out.append(0x0F)
                    live = False
                    # Dead code never runs: its stack use must not count (restored when live again).
                    saved_max = (maxsp, maxb)
                sp = fh
                unreach = True
            elif k == 6 or k == 7:  # load, store
                a = code[pos]
                pos += 1
                if a >= 0x80:
                    a, pos = _uleb_slow(code, pos - 1)
                b = code[pos]
                pos += 1
                if b >= 0x80:
                    _, pos = _uleb_slow(code, pos - 1)
                if a > ALIGN[op]:
                    if a >= 32:
                        raise _Malformed("malformed memop flags", p)
                    raise ValidationError("alignment must not be larger than natural", base + p, fidx)
                if not has_mem:
                    raise ValidationError("unknown memory 0", base + p, fidx)
                t = OPT_[op]
                if k == 6:  # load
                    if sp > fh and vals[sp - 1] == I32:
                        vals[sp - 1] = t
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                        vals[sp] = t
                        sp += 1
                        if sp > maxsp:
                            maxsp = sp
                    b = cum[sp - 1] + SZ[t]
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
                else:
                    if sp - fh >= 2 and vals[sp - 1] == t and vals[sp - 2] == I32:
                        sp -= 2
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (I32, t))
            elif k == 14:  # call
                x = code[pos]
                pos += 1
                if x >= 0x80:
                    x, pos = _uleb_slow(code, pos - 1)
                if x >= nfuncs:
                    raise ValidationError(f"unknown function {x}", base + p, fidx)
                cp, cr = types[func_types[x]]
                if cp:
                    sp = _pop_expect(vals, sp, fh, unreach, cp)
                if cr:
                    if sp + len(cr) >= cap:
                        cap = _grow(vals, cum, sp + len(cr) + len(code))
                    for t in cr:
                        vals[sp] = t
                        b = cum[sp] + SZ[t]
                        sp += 1
                        cum[sp] = b
                        if b > maxb:
                            maxb = b
                    if sp > maxsp:
                        maxsp = sp
            elif k == 8 or k == 9:  # rel, test
                t = OPT_[op]
                if k == 8:  # rel
                    if sp - fh >= 2 and vals[sp - 1] == t and vals[sp - 2] == t:
                        sp -= 1
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (t, t)) + 1
                elif sp > fh and vals[sp - 1] == t:
                    pass
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (t,)) + 1
                    if sp > maxsp:
                        maxsp = sp
                vals[sp - 1] = I32
                cum[sp] = cum[sp - 1] + 4
            elif k == 15 or k == 16:  # global_get, global_set
                x = code[pos]
                pos += 1
                if x >= 0x80:
                    x, pos = _uleb_slow(code, pos - 1)
                if x >= nglobs:
                    raise ValidationError(f"unknown global {x}", base + p, fidx)
                t, mut = globs[x]
                if k == 15:  # global_get
                    vals[sp] = t
                    b = cum[sp] + SZ[t]
                    sp += 1
                    cum[sp] = b
                    if sp > maxsp:
                        maxsp = sp
                    if b > maxb:
                        maxb = b
                else:
                    if not mut:
                        raise ValidationError("global is immutable", base + p, fidx)
                    sp = _pop_expect(vals, sp, fh, unreach, (t,))
            elif k == 26:  # drop
                if sp > fh:
                    sp -= 1
                elif not unreach:
                    raise _Mismatch
            elif k == 17 or k == 18 or k == 19:  # i64_const, f32_const, f64_const
                if k == 17:  # i64_const
                    b = code[pos]
                    pos += 1
                    if b & 0x80:
                        _, pos = _sleb_slow(code, pos - 1, 64)
                    t = I64
                elif k == 18:  # f32_const
                    pos += 4
                    t = F32
                else:
                    pos += 8
                    t = F64
                if pos > len(code):
                    raise IndexError
                vals[sp] = t
                b = cum[sp] + SZ[t]
                sp += 1
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif k == 20 or k == 21:  # cvt, un
                if not enabled[op]:
                    raise _Malformed("illegal opcode", p)
                if k == 21:  # un
                    t = OPT_[op]
                    if not (sp > fh and vals[sp - 1] == t):
                        sp = _pop_expect(vals, sp, fh, unreach, (t,))
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                        if sp > maxsp:
                            maxsp = sp
                else:
                    t = OPT_[op]
                    a = CVT_IN[op]
                    if sp > fh and vals[sp - 1] == a:
                        vals[sp - 1] = t
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (a,))
                        vals[sp] = t
                        sp += 1
                        if sp > maxsp:
                            maxsp = sp
                    b = cum[sp - 1] + SZ[t]
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
            elif k == 27 or k == 28:  # select, select_t
                if k == 28:  # select_t
                    if not enabled[op]:
                        raise _Malformed("illegal opcode", p)
                    n, pos = _uleb_slow(code, pos)
                    if n != 1:
                        raise ValidationError("invalid result arity", base + p, fidx)
                    st = code[pos]
                    pos += 1
                    if st not in _SZ_VALID or (st == EXTERNREF and not cfg.reference_types):
                        raise _Malformed("malformed value type", pos - 1)
                    sp = _pop_expect(vals, sp, fh, unreach, (st, st, I32))
                    t = st
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                    t1 = vals[sp - 1] if sp > fh else UNKNOWN
                    if sp > fh:
                        sp -= 1
                    elif not unreach:
                        raise _Mismatch
                    t2 = vals[sp - 1] if sp > fh else UNKNOWN
                    if sp > fh:
                        sp -= 1
                    elif not unreach:
                        raise _Mismatch
                    if t1 in _REFS or t2 in _REFS:
                        raise _Mismatch
                    if t1 != t2 and t1 != UNKNOWN and t2 != UNKNOWN:
                        raise _Mismatch
                    t = t2 if t1 == UNKNOWN else t1
                vals[sp] = t
                sp += 1
                cum[sp] = cum[sp - 1] + SZ[t]
            elif k == 25:  # else
                fr = ctrl[-1]
                if fr[0] != F_IF:
                    raise _Malformed("illegal opcode (else without if)", p)
                rt = fr[2]
                s2 = _pop_expect(vals, sp, fh, unreach, rt)
                if s2 != fh:
                    raise _Mismatch
                fr[0] = F_ELSE
                fr[8] = live
                sp = fh
                if sp + len(fr[1]) >= cap:
                    cap = _grow(vals, cum, sp + len(fr[1]) + len(code))
                for t in fr[1]:
                    vals[sp] = t
                    sp += 1
                    cum[sp] = cum[sp - 1] + SZ[t]
                unreach = False
                if fr[5]:
                    if live:
                        wmap += (len(out), base + run, base + p)
                        out += code[run:p]
                        if gas_on:
                            if cost:
                                out[blk:blk] = _pack_gas(spec.GAS, cost)
                                _wmap_shift(wmap, blk)
                            cost = 0
                    else:
                        cost = W[op]
                        maxsp, maxb = saved_max
                        if sp > maxsp:
                            maxsp = sp
                        if cum[sp] > maxb:
                            maxb = cum[sp]
                    out.append(0x05)
                    run = pos
                    blk = len(out)
                    live = True
            elif k == 34:  # nop
                if live:
                    wmap += (len(out), base + run, base + p)
                    out += code[run:p]
                    run = pos
            elif k == 33:  # fc
                sub, pos = _uleb_slow(code, pos)
                fop = spec.BY_FC.get(sub)
                if fop is None or not ctx.feat[fop.feature]:
                    raise _Malformed("illegal opcode", p)
                cost += FW[sub] - W[op]
                pr: tuple[int, ...]
                rr: tuple[int, ...]
                if sub < 8:
                    assert fop.params is not None and fop.results is not None
                    pr, rr = fop.params, fop.results
                elif sub == 8 or sub == 9:  # memory.init / data.drop (spec §3.3.7)
                    x, pos = _uleb_slow(code, pos)
                    if sub == 8:
                        if code[pos] != 0:
                            raise _Malformed("zero byte expected", pos)
                        pos += 1
                    if ctx.data_count is None:
                        raise _Malformed("data count section required", p)
                    if sub == 8 and not has_mem:
                        raise ValidationError("unknown memory 0", base + p, fidx)
                    if x >= ctx.data_count:
                        raise ValidationError(f"unknown data segment {x}", base + p, fidx)
                    pr, rr = ((I32, I32, I32), ()) if sub == 8 else ((), ())
                elif sub == 10 or sub == 11:  # memory.copy / memory.fill
                    for _ in range(2 if sub == 10 else 1):
                        if code[pos] != 0:
                            raise _Malformed("zero byte expected", pos)
                        pos += 1
                    if not has_mem:
                        raise ValidationError("unknown memory 0", base + p, fidx)
                    pr, rr = (I32, I32, I32), ()
                elif sub == 12 or sub == 13:  # table.init / elem.drop (spec §3.3.6)
                    x, pos = _uleb_slow(code, pos)
                    if sub == 12:
                        tab, pos = _uleb_slow(code, pos)
                        if tab >= len(ctx.tables):
                            raise ValidationError(f"unknown table {tab}", base + p, fidx)
                    if x >= len(ctx.elem_types):
                        raise ValidationError(f"unknown elem segment {x}", base + p, fidx)
                    if sub == 12:
                        if ctx.elem_types[x] != ctx.tables[tab]:
                            raise _Mismatch
                        pr, rr = (I32, I32, I32), ()
                    else:
                        pr, rr = (), ()
                elif sub == 14:  # table.copy
                    td, pos = _uleb_slow(code, pos)
                    ts, pos = _uleb_slow(code, pos)
                    for tab in (td, ts):
                        if tab >= len(ctx.tables):
                            raise ValidationError(f"unknown table {tab}", base + p, fidx)
                    if ctx.tables[td] != ctx.tables[ts]:
                        raise _Mismatch
                    pr, rr = (I32, I32, I32), ()
                else:  # table.grow / table.size / table.fill
                    tab, pos = _uleb_slow(code, pos)
                    if tab >= len(ctx.tables):
                        raise ValidationError(f"unknown table {tab}", base + p, fidx)
                    et = ctx.tables[tab]
                    if sub == 15:
                        pr, rr = (et, I32), (I32,)
                    elif sub == 16:
                        pr, rr = (), (I32,)
                    else:
                        pr, rr = (I32, et, I32), ()
                if pr:
                    sp = _pop_expect(vals, sp, fh, unreach, pr)
                for t in rr:
                    vals[sp] = t
                    b = cum[sp] + SZ[t]
                    sp += 1
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
                if sp > maxsp:
                    maxsp = sp
            elif k == 30:  # call_indirect
                ti, pos = _uleb_slow(code, pos)
                if enabled[0x25]:
                    tab, pos = _uleb_slow(code, pos)
                else:
                    tab = code[pos]
                    pos += 1
                    if tab != 0:
                        raise _Malformed("zero byte expected", pos - 1)
                if tab >= len(ctx.tables):
                    raise ValidationError(f"unknown table {tab}", base + p, fidx)
                if ti >= len(types):
                    raise ValidationError(f"unknown type {ti}", base + p, fidx)
                if ctx.tables[tab] != FUNCREF:
                    raise _Mismatch
                cp, cr = types[ti]
                sp = _pop_expect(vals, sp, fh, unreach, (*cp, I32))
                if sp + len(cr) >= cap:
                    cap = _grow(vals, cum, sp + len(cr) + len(code))
                for t in cr:
                    vals[sp] = t
                    b = cum[sp] + SZ[t]
                    sp += 1
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
                if sp > maxsp:
                    maxsp = sp
            elif k == 29:  # br_table
                n, pos = _uleb_slow(code, pos)
                if n > len(code) - pos:
                    raise _Malformed("length out of bounds", p + 1)
                targets = [0] * (2 * n + 2)
                nctrl = len(ctrl)
                for i in range(n + 1):
                    x = code[pos]
                    pos += 1
                    if x >= 0x80:
                        x, pos = _uleb_slow(code, pos - 1)
                    if x >= nctrl:
                        raise ValidationError(f"unknown label {x}", base + p, fidx)
                    targets[2 * i] = x
                if sp > fh and vals[sp - 1] == I32:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                dfr = ctrl[nctrl - 1 - targets[2 * n]]
                dlt = dfr[7]
                arity = len(dlt)
                checked = {dlt}
                for i in range(n + 1):
                    fr = ctrl[nctrl - 1 - targets[2 * i]]
                    lt = fr[7]
                    targets[2 * i + 1] = fr[3]
                    if lt is not dlt and lt not in checked:
                        if len(lt) != arity:
                            raise _Mismatch
                        _check_top(vals, sp, fh, unreach, lt)
                        checked.add(lt)
                    if live:
                        fr[6] = True
                _pop_expect(vals, sp, fh, unreach, dlt)
                if live:
                    wmap += (len(out), base + run, base + p)
                    out += code[run:p]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    out.append(0x0E)
                    out += struct.pack(f"<II{2 * n + 2}I", n, arity, *targets)
                    live = False
                    saved_max = (maxsp, maxb)
                sp = fh
                unreach = True
            elif k == 31 or k == 32:  # memsize, memgrow
                if code[pos] != 0:
                    raise _Malformed("zero byte expected", pos)
                pos += 1
                if not has_mem:
                    raise ValidationError("unknown memory 0", base + p, fidx)
                if k == 32:  # memgrow
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                vals[sp] = I32
                sp += 1
                b = cum[sp - 1] + 4
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif k == 36 or k == 38 or k == 39:  # ref_null, ref_func, table_get
                if not enabled[op]:
                    raise _Malformed("illegal opcode", p)
                if k == 36:  # ref_null
                    t = code[pos]
                    pos += 1
                    if t not in _REFS:
                        raise _Malformed("malformed reference type", pos - 1)
                elif k == 38:  # ref_func
                    x, pos = _uleb_slow(code, pos)
                    if x >= nfuncs:
                        raise ValidationError(f"unknown function {x}", base + p, fidx)
                    if x not in ctx.refs:
                        raise ValidationError("undeclared function reference", base + p, fidx)
                    t = FUNCREF
                else:
                    tab, pos = _uleb_slow(code, pos)
                    if tab >= len(ctx.tables):
                        raise ValidationError(f"unknown table {tab}", base + p, fidx)
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                    t = ctx.tables[tab]
                vals[sp] = t
                b = cum[sp] + 8
                sp += 1
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif k == 37:  # ref_is_null
                if not enabled[op]:
                    raise _Malformed("illegal opcode", p)
                if sp > fh:
                    t = vals[sp - 1]
                    if t != UNKNOWN and t not in _REFS:
                        raise _Mismatch
                    sp -= 1
                elif not unreach:
                    raise _Mismatch
                vals[sp] = I32
                sp += 1
                cum[sp] = cum[sp - 1] + 4
            elif k == 40:  # table_set
                if not enabled[op]:
                    raise _Malformed("illegal opcode", p)
                tab, pos = _uleb_slow(code, pos)
                if tab >= len(ctx.tables):
                    raise ValidationError(f"unknown table {tab}", base + p, fidx)
                sp = _pop_expect(vals, sp, fh, unreach, (I32, ctx.tables[tab]))
            elif k == 41:  # simd
                raise DecodeError("SIMD is not supported (0xFD prefix)", base + p, fidx)
            else:
                raise _Malformed("illegal opcode", p)
    except _Mismatch:
        raise ValidationError("type mismatch", base + p, fidx) from None
    except _Malformed as e:
        raise DecodeError(e.msg, base + e.pos, fidx) from None
    except IndexError:
        if p >= len(code):
            # Like the reference interpreter, which reads on past the body: at the end of the
            # input that is an unexpected end; a following 0x0B would end the function too late.
            if bend >= len(data):
                msg = "unexpected end of section or function"
            elif data[bend] == 0x0B:
                msg = "section size mismatch"
            else:
                msg = "END opcode expected"
            raise DecodeError(msg, base + len(code), fidx) from None
        raise DecodeError("unexpected end of section or function", base + len(code), fidx) from None
    if pos != len(code):
        raise DecodeError("section size mismatch", base + pos, fidx)
    lim = cfg.max_blocks_per_function
    if lim is not None and nblocks > lim:
        raise LimitError(f"too many blocks: {nblocks} > {lim}", "max_blocks_per_function", bstart, fidx)
    ctx.blocks_total += nblocks
    lim = cfg.max_blocks_per_module
    if lim is not None and ctx.blocks_total > lim:
        raise LimitError(f"too many blocks: {ctx.blocks_total} > {lim}", "max_blocks_per_module", bstart, fidx)
    frame_cost = frame_bytes + maxb
    if frame_cost >= 1 << 32:
        raise LimitError("frame too large", "frame_cost", bstart, fidx)
    out[1:5] = _pack_u32(frame_cost)
    head = bytearray(_pack_u32(len(groups)))
    for cnt, t in groups:
        head += _pack_u32(cnt)
        head.append(t)
    head += _pack_3u32(maxsp, maxctrl, frame_cost)
    head += _pack_u32(len(out))
    head += out
    ctx.wmap = wmap
    return bytes(head)


_SZ_VALID = frozenset({I32, I64, F32, F64, FUNCREF, EXTERNREF})
_VOID_BT: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())


def _grow(vals: list[int], cum: list[int], need: int) -> int:
    extra = need + 16 - len(vals)
    if extra > 0:
        vals.extend([0] * extra)
        cum.extend([0] * extra)
    return len(vals)


# ---- the fast body loop ------------------------------------------------------------------------

class _Bail(Exception):
    """Internal: the fast loop gives a body up (it is invalid, or takes a path left to the exact loop)."""


def _leb_tail(nx: Any, it: Any, b: int) -> int:
    """The rest of an unsigned 32-bit LEB128 whose first byte ``b`` (>= 0x80) was read from ``it``."""
    result = b & 0x7F
    shift = 7
    while True:
        b = nx(it)
        if shift == 28:  # fifth byte: no continuation, unused high bits zero (spec §5.2.2)
            if b > 0x0F:
                raise _Bail
            return result | (b << 28)
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result


def _leb_skip(nx: Any, it: Any) -> None:
    """Skip the rest of an unsigned 32-bit LEB128 whose first two bytes had the continuation bit."""
    for _ in range(2):  # third and fourth bytes
        if nx(it) < 0x80:
            return
    if nx(it) > 0x0F:  # fifth byte: no continuation, unused high bits zero (spec §5.2.2)
        raise _Bail


def _sleb_skip(nx: Any, it: Any, maxlen: int, rem: int, k: int = 1) -> None:
    """Skip the rest of a signed LEB128 of at most ``maxlen`` bytes whose last byte holds ``rem``
    meaningful bits (spec §5.2.2 checks); its first ``k`` bytes were read and had the continuation bit."""
    while True:
        b = nx(it)
        k += 1
        if k == maxlen:
            if b & 0x80:
                raise _Bail
            top = b >> (rem - 1)
            if top != 0 and top != (0x7F >> (rem - 1)):
                raise _Bail
            return
        if b < 0x80:
            return


def _local_slow(nx: Any, it: Any, x: int, ltypes: Any, lfast: int, nlocals: int, gstarts: list[int],
                gtypes: list[int]) -> int:
    if x >= 0x80:
        x = _leb_tail(nx, it, x)
    if x < lfast:
        return ltypes[x]  # type: ignore[no-any-return]
    if x < nlocals:
        return gtypes[bisect_right(gstarts, x) - 1]
    raise _Bail


_pack_br = struct.Struct("<BIII").pack
_NONES: list[int | None] = [None] * 256


def _ops_table(pred: Any) -> list[bool]:
    return [bool(pred(c)) for c in range(256)]


#: The fast loop's group tests (see there): numeric, control, end, br_if, block/loop/if, else,
#: br/return/unreachable, br_table, loads/stores.
_GROUPS = (_ops_table(lambda c: c > 0x44), _ops_table(lambda c: c < 0x12), _ops_table(lambda c: c == 0x0B),
           _ops_table(lambda c: c == 0x0D), _ops_table(lambda c: 2 <= c <= 4), _ops_table(lambda c: c == 0x05),
           _ops_table(lambda c: c in (0x0C, 0x0F, 0x00)), _ops_table(lambda c: c == 0x0E),
           _ops_table(lambda c: 0x28 <= c <= 0x3E))
_BT1 = {t: ((), (t,)) for t in (I32, I64, F32, F64, FUNCREF, EXTERNREF)}


def _lower_body_fast(ctx: _Ctx, fidx: int, data: bytes, bstart: int, bend: int) -> bytearray | None:
    """``_lower_body_exact``'s work for a body it accepts, or None (then the exact loop runs).

    The same algorithm and the same output, specialised for speed (docs/design.md "Frontend
    speed"): the body is read through a bytes iterator (``for op in it``) with no per-instruction
    offset (the offset is recomputed from the iterator at control ops only); short LEBs are read
    inline; the most frequent opcodes are tested first; disabled features are folded into the
    per-Config kind table; any error or unusual case just gives up (``_Bail``), so no error
    reporting is needed here. Without gas, live ``end``/``else`` do not break the run of copied
    bytes (their bytes are their own encoding).
    """
    try:
        return (_fast if ctx.gas is not None else _fast_nogas)(ctx, fidx, data, bstart, bend)
    except (_Bail, _Mismatch, _Malformed, IndexError, StopIteration, ValidationError, DecodeError):
        return None


def _fast(ctx: _Ctx, fidx: int, data: bytes, bstart: int, bend: int) -> bytearray:
    cfg = ctx.config
    ti = ctx.func_types[fidx]
    params, results = ctx.types[ti]
    # -- locals (spec §5.5.13) --
    p = bstart
    ngroups = data[p]
    if ngroups < 0x80:
        p += 1
    else:
        ngroups, p = _uleb_slow(data, p)
    total = 0
    groups: list[tuple[int, int]] = []
    for _ in range(ngroups):
        cnt = data[p]
        if cnt < 0x80:
            p += 1
        else:
            cnt, p = _uleb_slow(data, p)
        t = data[p]
        p += 1
        if t not in _SZ_VALID or (t == EXTERNREF and not cfg.reference_types):
            raise _Bail
        total += cnt
        if total > MAX_LOCALS:
            raise _Bail
        if cnt:
            groups.append((cnt, t))
    if p > bend:
        raise _Bail
    lim = cfg.max_locals_per_function
    if lim is not None and total > lim:
        raise _Bail
    lim = cfg.max_locals_per_module
    if lim is not None and ctx.locals_total + total > lim:
        raise _Bail
    base = p
    budget = bend - base + 16
    # What the loop needs about the locals, derived once per (type, local declarations): most
    # functions of a module share a few of those.
    key = (ti, data[bstart:base])
    hit = ctx.lcache.get(key)
    if hit is None:
        hit = ctx.lcache[key] = _locals_info(ctx, ti, params, groups, budget)
    frame_bytes, ltypes, lfast, lt, nlocals, gstarts, gtypes, head0 = hit

    # -- body loop state --
    env = ctx.fenv
    if env is None:
        env = ctx.fenv = (ctx.types, ctx.func_types, len(ctx.func_types), ctx.globals, len(ctx.globals),
                          ctx.n_memories > 0, ctx.weights, ctx.gas is not None, ctx.kind, ctx.bt_enc1, ctx.fvals,
                          ctx.fcum)
    types, func_types, nfuncs, globs, nglobs, has_mem, W, gas_on, KIND_, benc, vals, cum = env
    OPT_ = OPT
    SZ = _SZ
    cap = len(vals)
    if cap < budget:
        cap = _grow(vals, cum, budget)
    sp = 0
    maxsp = 0
    maxb = 0
    fh = 0
    fh1 = 1  # fh + 1: two values above the frame base when sp > fh1
    unreach = False
    ctrl: list[list[Any]] = [[F_FUNC, (), results, 0, False, True, False, results, False]]
    nctrl = 1
    maxctrl = 1
    nblocks = 0
    out = bytearray(b"\xe0\x00\x00\x00\x00")  # STACK, frame cost patched at the end
    wmap: list[int] = []  # (bytecode start, wasm start, wasm end) of each copied run: _wmap_shift
    live = True
    run = base
    blk = 5
    cost = ctx.frame_init_per_word * ((frame_bytes + 7) // 8) if gas_on else 0
    saved_max = (0, 0)
    it = iter(data)
    it.__setstate__(base)
    lh = it.__length_hint__
    N = len(data)
    nx = next
    g_num, g_ctrl, g_end, g_br_if, g_block, g_else, g_jump, g_br_table, g_mem = _GROUPS
    pos = 0
    # Dispatch: a tree over opcode ranges with the frequent opcodes first (no per-instruction kind
    # lookup for local.get/local.set/i32.const). A test that guards a long branch is a lookup in a
    # table of bools (``_GROUPS``), not a comparison: CPython 3.11 specialises a comparison for ints
    # only when a short conditional jump follows it, and a long branch needs an EXTENDED_ARG jump.
    # Every ``cost += W[op]`` line is removed from the variant used without gas (``_fast_nogas``,
    # generated from this function's source).
    for op in it:
        if op == 0x20:  # local.get
            x = nx(it)
            t = lt[x]
            try:
                b = cum[sp] + SZ[t]
            except TypeError:  # not a one-byte index of the flat list (None there)
                t = _local_slow(nx, it, x, ltypes, lfast, nlocals, gstarts, gtypes)
                b = cum[sp] + SZ[t]
            vals[sp] = t
            sp += 1
            cum[sp] = b
            if sp > maxsp:
                maxsp = sp
            if b > maxb:
                maxb = b
            cost += W[op]
        elif op == 0x21:  # local.set
            x = nx(it)
            t = lt[x]
            if sp > fh and vals[sp - 1] == t:
                sp -= 1
            else:
                if t is None:
                    t = _local_slow(nx, it, x, ltypes, lfast, nlocals, gstarts, gtypes)
                sp = _pop_expect(vals, sp, fh, unreach, (t,))
            cost += W[op]
        elif g_num[op]:  # numeric (> 0x44), references, 0xFC, 0xFD
            cost += W[op]
            k = KIND_[op]
            if k == 2:  # bin
                t = OPT_[op]
                if sp > fh1 and vals[sp - 1] == t and vals[sp - 2] == t:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (t, t))
                    vals[sp] = t
                    sp += 1
                    cum[sp] = cum[sp - 1] + SZ[t]
            elif k == 8:  # rel
                t = OPT_[op]
                if sp > fh1 and vals[sp - 1] == t and vals[sp - 2] == t:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (t, t)) + 1
                vals[sp - 1] = I32
                cum[sp] = cum[sp - 1] + 4
            elif k == 20:  # cvt
                t = OPT_[op]
                a = CVT_IN[op]
                if sp > fh and vals[sp - 1] == a:
                    vals[sp - 1] = t
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (a,))
                    vals[sp] = t
                    sp += 1
                    if sp > maxsp:
                        maxsp = sp
                b = cum[sp - 1] + SZ[t]
                cum[sp] = b
                if b > maxb:
                    maxb = b
            elif k == 9:  # test
                t = OPT_[op]
                if not (sp > fh and vals[sp - 1] == t):
                    sp = _pop_expect(vals, sp, fh, unreach, (t,)) + 1
                    if sp > maxsp:
                        maxsp = sp
                vals[sp - 1] = I32
                cum[sp] = cum[sp - 1] + 4
            elif k == 21:  # un
                t = OPT_[op]
                if not (sp > fh and vals[sp - 1] == t):
                    sp = _pop_expect(vals, sp, fh, unreach, (t,))
                    vals[sp] = t
                    sp += 1
                    cum[sp] = cum[sp - 1] + SZ[t]
                    if sp > maxsp:
                        maxsp = sp
            else:  # references, 0xFC, SIMD, illegal
                sp, maxsp, maxb, dcost = _fast_rare(ctx, k, op, it, vals, cum, sp, fh, unreach, maxsp, maxb,
                                                    budget)
                cap = len(vals)
                cost += dcost
        elif op == 0x41:  # i32.const
            if nx(it) >= 0x80 and nx(it) >= 0x80:  # (two bytes are always a valid s32)
                _sleb_skip(nx, it, 5, 4, 2)
            vals[sp] = I32
            b = cum[sp] + 4
            sp += 1
            cum[sp] = b
            if sp > maxsp:
                maxsp = sp
            if b > maxb:
                maxb = b
            cost += W[op]
        elif g_ctrl[op]:  # control (< 0x12)
            cost += W[op]
            if g_end[op]:  # end
                fr = ctrl.pop()
                rt = fr[2]
                if rt:
                    n = len(rt)
                    if not (sp - fh == n and n == 1 and vals[fh] == rt[0]):
                        if _pop_expect(vals, sp, fh, unreach, rt) != fh:
                            raise _Bail
                    sp = fh
                    if sp + n >= cap:
                        cap = _grow(vals, cum, sp + n + budget)
                    for t in rt:
                        vals[sp] = t
                        b = cum[sp] + SZ[t]
                        sp += 1
                        cum[sp] = b
                        if b > maxb:
                            maxb = b
                    if sp > maxsp:
                        maxsp = sp
                elif sp != fh:
                    if _pop_expect(vals, sp, fh, unreach, rt) != fh:
                        raise _Bail
                    sp = fh
                kind = fr[0]
                if kind == F_IF and fr[1] != rt:
                    raise _Bail  # an if without else: params must equal results (§3.3.8.5)
                if fr[5]:
                    was_live = live
                    if live:
                        if gas_on:
                            pos = N - lh()
                            wmap += (len(out), run, pos)
                            out += data[run:pos]  # through this END (its own encoding)
                            run = pos
                            if cost:
                                out[blk:blk] = _pack_gas(spec.GAS, cost)
                                _wmap_shift(wmap, blk)
                            cost = 0
                            blk = len(out)
                        # Live at a live end: still live after it (fall-through); the run goes on.
                    else:
                        pos = N - lh()
                        out.append(0x0B)
                        run = pos
                        blk = len(out)
                        if kind == F_LOOP:
                            reach = False
                        elif kind == F_IF:
                            reach = True  # implicit else arm falls through
                        elif kind == F_ELSE:
                            reach = fr[6] or fr[8]
                        else:
                            reach = fr[6]
                        live = reach
                        if live:
                            cost = W[op]
                            maxsp, maxb = saved_max
                            if sp > maxsp:
                                maxsp = sp
                            if cum[sp] > maxb:
                                maxb = cum[sp]
                        else:
                            cost = 0
                nctrl -= 1
                if not nctrl:
                    if not was_live:
                        maxsp, maxb = saved_max
                    break
                parent = ctrl[-1]
                fh = parent[3]
                fh1 = fh + 1
                unreach = parent[4]
            elif g_br_if[op]:  # br_if
                x = nx(it)
                if x >= 0x80:
                    x = _leb_tail(nx, it, x)
                if x >= nctrl:
                    raise _Bail
                fr = ctrl[-1 - x]
                lt_ = fr[7]
                if sp > fh and vals[sp - 1] == I32:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                if lt_:
                    sp = _pop_expect(vals, sp, fh, unreach, lt_)
                    if sp + len(lt_) >= cap:
                        cap = _grow(vals, cum, sp + len(lt_) + budget)
                    for t in lt_:
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                if live:
                    pos = N - lh()
                    wmap += (len(out), run, pos - (2 if x < 0x80 else _leb_size(data, pos)))
                    out += data[run:pos - (2 if x < 0x80 else _leb_size(data, pos))]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    out += _pack_br(0x0D, x, len(lt_), fr[3])
                    run = pos
                    blk = len(out)
                    fr[6] = True
            elif g_block[op]:  # block, loop, if
                b = nx(it)
                if b == 0x40:
                    bt: tuple[tuple[int, ...], tuple[int, ...]] = _VOID_BT
                    blen = 2
                elif b in _BT1:
                    if b == EXTERNREF and not cfg.reference_types:
                        raise _Bail
                    bt = _BT1[b]
                    blen = 2
                else:
                    ti = b
                    blen = 2
                    if b & 0x80:  # a multi-byte type index
                        pos = N - lh()
                        ti, q = _sleb_slow(data, pos - 1, 33)
                        it.__setstate__(q)
                        blen = q - pos + 2
                    elif b & 0x40:
                        raise _Bail  # a negative one-byte index: malformed
                    if ti < 0 or ti >= len(types) or not cfg.multi_value:
                        raise _Bail
                    bt = types[ti]
                nblocks += 1
                if op == 4:  # if
                    if sp > fh and vals[sp - 1] == I32:
                        sp -= 1
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                bp = bt[0]
                if bp:
                    sp = _pop_expect(vals, sp, fh, unreach, bp)
                    nh = sp
                    if sp + len(bp) >= cap:
                        cap = _grow(vals, cum, sp + len(bp) + budget)
                    for t in bp:
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                else:
                    nh = sp
                ctrl[-1][4] = unreach
                if op == 3:  # loop: branches carry its params
                    ctrl.append([F_LOOP, bp, bt[1], nh, False, live, False, bp, False])
                else:
                    ctrl.append([op - 1, bp, bt[1], nh, False, live, False, bt[1], False])  # F_BLOCK, F_IF
                nctrl += 1
                if nctrl > maxctrl:
                    maxctrl = nctrl
                fh = nh
                fh1 = nh + 1
                unreach = False
                if live:
                    pos = N - lh()
                    wmap += (len(out), run, pos - blen)
                    out += data[run:pos - blen]
                    if op != 2 and gas_on:  # loop, if: the block they open starts after them
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    enc = benc.get(op * 256 + b) if blen == 2 else None
                    if enc is None:
                        enc = ctx.bt_enc.get((op, bt))
                        if enc is None:
                            enc = ctx.bt_enc[(op, bt)] = _pack_op_u32(op, ctx.block_type_index(bt))
                        if blen == 2:
                            benc[op * 256 + b] = enc
                    out += enc
                    run = pos
                    if op != 2:
                        blk = len(out)
            elif op == 0x10:  # call
                x = nx(it)
                if x >= 0x80:
                    x = _leb_tail(nx, it, x)
                if x >= nfuncs:
                    raise _Bail
                cp, cr = types[func_types[x]]
                if cp:
                    sp = _pop_expect(vals, sp, fh, unreach, cp)
                if cr:
                    if sp + len(cr) >= cap:
                        cap = _grow(vals, cum, sp + len(cr) + budget)
                    for t in cr:
                        vals[sp] = t
                        b = cum[sp] + SZ[t]
                        sp += 1
                        cum[sp] = b
                        if b > maxb:
                            maxb = b
                    if sp > maxsp:
                        maxsp = sp
            elif g_else[op]:  # else
                fr = ctrl[-1]
                if fr[0] != F_IF:
                    raise _Bail
                rt = fr[2]
                n = len(rt)
                if not (sp - fh == n and (n == 0 or (n == 1 and vals[fh] == rt[0]))):
                    if _pop_expect(vals, sp, fh, unreach, rt) != fh:
                        raise _Bail
                fr[0] = F_ELSE
                fr[8] = live
                sp = fh
                bp = fr[1]
                if bp:
                    if sp + len(bp) >= cap:
                        cap = _grow(vals, cum, sp + len(bp) + budget)
                    for t in bp:
                        vals[sp] = t
                        sp += 1
                        cum[sp] = cum[sp - 1] + SZ[t]
                unreach = False
                if fr[5]:
                    if live:
                        if gas_on:
                            pos = N - lh()
                            wmap += (len(out), run, pos)
                            out += data[run:pos]  # through this ELSE (its own encoding)
                            run = pos
                            if cost:
                                out[blk:blk] = _pack_gas(spec.GAS, cost)
                                _wmap_shift(wmap, blk)
                            cost = 0
                            blk = len(out)
                    else:
                        pos = N - lh()
                        cost = W[op]
                        maxsp, maxb = saved_max
                        if sp > maxsp:
                            maxsp = sp
                        if cum[sp] > maxb:
                            maxb = cum[sp]
                        out.append(0x05)
                        run = pos
                        blk = len(out)
                        live = True
            elif g_jump[op]:  # br, return, unreachable
                if op == 0x0C:  # br
                    x = nx(it)
                    if x >= 0x80:
                        x = _leb_tail(nx, it, x)
                    if x >= nctrl:
                        raise _Bail
                    fr = ctrl[-1 - x]
                    lt_ = fr[7]
                    if lt_:
                        _pop_expect(vals, sp, fh, unreach, lt_)
                elif op == 0x0F:  # return
                    if results:
                        _pop_expect(vals, sp, fh, unreach, results)
                if live:
                    pos = N - lh()
                    if op == 0x0C:  # br
                        wmap += (len(out), run, pos - (2 if x < 0x80 else _leb_size(data, pos)))
                        out += data[run:pos - (2 if x < 0x80 else _leb_size(data, pos))]
                    else:  # return, unreachable: their own encoding
                        wmap += (len(out), run, pos)
                        out += data[run:pos]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    if op == 0x0C:  # br
                        out += _pack_br(0x0C, x, len(lt_), fr[3])
                        fr[6] = True
                    live = False
                    # Dead code never runs: its stack use must not count (restored when live again).
                    saved_max = (maxsp, maxb)
                sp = fh
                unreach = True
            elif g_br_table[op]:  # br_table
                pos = N - lh()
                p = pos - 1
                n, pos = _uleb_slow(data, pos)
                if n > bend - pos:
                    raise _Bail
                it.__setstate__(pos)
                targets = [0] * (2 * n + 2)
                for i in range(n + 1):
                    x = nx(it)
                    if x >= 0x80:
                        x = _leb_tail(nx, it, x)
                    if x >= nctrl:
                        raise _Bail
                    targets[2 * i] = x
                if sp > fh and vals[sp - 1] == I32:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                dfr = ctrl[nctrl - 1 - targets[2 * n]]
                dlt = dfr[7]
                arity = len(dlt)
                checked = {dlt}
                for i in range(n + 1):
                    fr = ctrl[nctrl - 1 - targets[2 * i]]
                    lt_ = fr[7]
                    targets[2 * i + 1] = fr[3]
                    if lt_ is not dlt and lt_ not in checked:
                        if len(lt_) != arity:
                            raise _Bail
                        _check_top(vals, sp, fh, unreach, lt_)
                        checked.add(lt_)
                    if live:
                        fr[6] = True
                _pop_expect(vals, sp, fh, unreach, dlt)
                if live:
                    wmap += (len(out), run, p)
                    out += data[run:p]
                    if gas_on:
                        if cost:
                            out[blk:blk] = _pack_gas(spec.GAS, cost)
                            _wmap_shift(wmap, blk)
                        cost = 0
                    out.append(0x0E)
                    out += struct.pack(f"<II{2 * n + 2}I", n, arity, *targets)
                    live = False
                    saved_max = (maxsp, maxb)
                sp = fh
                unreach = True
            elif op == 0x01:  # nop: dropped
                if live:
                    pos = N - lh()
                    wmap += (len(out), run, pos - 1)
                    out += data[run:pos - 1]
                    run = pos
            else:  # call_indirect, illegal
                sp, maxsp, maxb, dcost = _fast_rare(ctx, KIND_[op], op, it, vals, cum, sp, fh, unreach, maxsp,
                                                    maxb, budget)
                cap = len(vals)
        else:  # 0x12..0x44: variables, memory, constants, parametric
            cost += W[op]
            if g_mem[op]:  # load, store
                a = nx(it)
                if a >= 0x80:
                    a = _leb_tail(nx, it, a)
                if nx(it) >= 0x80 and nx(it) >= 0x80:  # offset (two bytes are always a valid u32)
                    _leb_skip(nx, it)
                if a > ALIGN[op] or not has_mem:
                    raise _Bail
                t = OPT_[op]
                if op <= 0x35:  # load
                    if sp > fh and vals[sp - 1] == I32:
                        vals[sp - 1] = t
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                        vals[sp] = t
                        sp += 1
                        if sp > maxsp:
                            maxsp = sp
                    b = cum[sp - 1] + SZ[t]
                    cum[sp] = b
                    if b > maxb:
                        maxb = b
                elif sp > fh1 and vals[sp - 1] == t and vals[sp - 2] == I32:
                    sp -= 2
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32, t))
            elif op == 0x22:  # local.tee
                x = nx(it)
                t = lt[x]
                if not (sp > fh and vals[sp - 1] == t):
                    if t is None:
                        t = _local_slow(nx, it, x, ltypes, lfast, nlocals, gstarts, gtypes)
                    if not (sp > fh and vals[sp - 1] == t):
                        sp = _pop_expect(vals, sp, fh, unreach, (t,))
                        vals[sp] = t
                        sp += 1
                        b = cum[sp - 1] + SZ[t]
                        cum[sp] = b
                        if sp > maxsp:
                            maxsp = sp
                        if b > maxb:
                            maxb = b
            elif op == 0x23 or op == 0x24:  # global.get, global.set
                x = nx(it)
                if x >= 0x80:
                    x = _leb_tail(nx, it, x)
                if x >= nglobs:
                    raise _Bail
                t, mut = globs[x]
                if op == 0x23:  # global.get
                    vals[sp] = t
                    b = cum[sp] + SZ[t]
                    sp += 1
                    cum[sp] = b
                    if sp > maxsp:
                        maxsp = sp
                    if b > maxb:
                        maxb = b
                else:
                    if not mut:
                        raise _Bail
                    if sp > fh and vals[sp - 1] == t:
                        sp -= 1
                    else:
                        sp = _pop_expect(vals, sp, fh, unreach, (t,))
            elif op >= 0x42:  # i64.const, f32.const, f64.const
                if op == 0x42:  # i64.const
                    if nx(it) >= 0x80 and nx(it) >= 0x80:
                        _sleb_skip(nx, it, 10, 1, 2)
                    t = I64
                else:
                    # f32/f64: 4/8 raw bytes, skipped by moving the iterator.
                    w = 4 if op == 0x43 else 8
                    r = lh()
                    if r < w:
                        raise _Bail
                    it.__setstate__(N - r + w)
                    t = F32 if op == 0x43 else F64
                vals[sp] = t
                b = cum[sp] + SZ[t]
                sp += 1
                cum[sp] = b
                if sp > maxsp:
                    maxsp = sp
                if b > maxb:
                    maxb = b
            elif op == 0x1A:  # drop
                if sp > fh:
                    sp -= 1
                elif not unreach:
                    raise _Bail
            elif op == 0x1B:  # select
                if sp > fh and vals[sp - 1] == I32:
                    sp -= 1
                else:
                    sp = _pop_expect(vals, sp, fh, unreach, (I32,))
                t1 = vals[sp - 1] if sp > fh else UNKNOWN
                if sp > fh:
                    sp -= 1
                elif not unreach:
                    raise _Bail
                t2 = vals[sp - 1] if sp > fh else UNKNOWN
                if sp > fh:
                    sp -= 1
                elif not unreach:
                    raise _Bail
                if t1 in _REFS or t2 in _REFS:
                    raise _Bail
                if t1 != t2 and t1 != UNKNOWN and t2 != UNKNOWN:
                    raise _Bail
                t = t2 if t1 == UNKNOWN else t1
                vals[sp] = t
                sp += 1
                cum[sp] = cum[sp - 1] + SZ[t]
            else:  # typed select, tables, memory.size/grow, illegal
                sp, maxsp, maxb, dcost = _fast_rare(ctx, KIND_[op], op, it, vals, cum, sp, fh, unreach, maxsp,
                                                    maxb, budget)
                cap = len(vals)
    else:
        raise _Bail  # ran off the end of the input
    pos = N - lh()
    if pos != bend:
        raise _Bail
    if run < pos:
        wmap += (len(out), run, pos)
        out += data[run:pos]
    lim = cfg.max_blocks_per_function
    if lim is not None and nblocks > lim:
        raise _Bail
    lim = cfg.max_blocks_per_module
    if lim is not None and ctx.blocks_total + nblocks > lim:
        raise _Bail
    frame_cost = frame_bytes + maxb
    if frame_cost >= 1 << 32:
        raise _Bail
    ctx.blocks_total += nblocks
    ctx.locals_total += total
    out[1:5] = _pack_u32(frame_cost)
    head = bytearray(head0)
    head += _pack_4u32(maxsp, maxctrl, frame_cost, len(out))
    head += out
    ctx.wmap = wmap
    return head


def _locals_info(ctx: _Ctx, ti: int, params: tuple[int, ...], groups: list[tuple[int, int]],
                 budget: int) -> tuple[Any, ...]:
    """The fast loop's facts about a function's locals (cached per type and local declarations):
    frame bytes, the flat list of local types and its length, the 256-entry one-byte-index table,
    the number of locals, the group starts and types, and the body record's local-groups prefix.

    Local types come from a flat list for the first ~body-size locals, beyond it by bisection over
    the declared groups, so every per-function cost is bounded by the body's own bytes, never by the
    signature or the declared counts: the flat list holds at most ``budget`` locals (a body of B
    bytes names at most B locals; a cached entry made for a smaller body only sends more locals to
    the bisection), a signature with more params than that is used as the flat list itself (a tuple,
    no copy), and the params' frame bytes are computed once per type index."""
    nparams = len(params)
    frame_bytes = ctx.param_bytes[ti]
    if frame_bytes < 0:
        frame_bytes = 64
        for t in params:
            frame_bytes += _SZ[t]
        ctx.param_bytes[ti] = frame_bytes
    gstarts = [0]
    gtypes = [0]
    acc = nparams
    head0 = bytearray(_pack_u32(len(groups)))
    ltypes: list[int] | tuple[int, ...]
    if not groups or nparams >= budget:
        ltypes = params
        for cnt, t in groups:
            frame_bytes += cnt * _SZ[t]
            gstarts.append(acc)
            gtypes.append(t)
            acc += cnt
            head0 += _pack_u32(cnt)
            head0.append(t)
    else:
        lt = list(params)
        for cnt, t in groups:
            frame_bytes += cnt * _SZ[t]
            if len(lt) < budget:
                lt.extend([t] * min(cnt, budget - len(lt)))
            gstarts.append(acc)
            gtypes.append(t)
            acc += cnt
            head0 += _pack_u32(cnt)
            head0.append(t)
        ltypes = lt
    lfast = len(ltypes)
    # ``table[x]`` for any byte x: the type of local x for one-byte indices of the flat list, None
    # for everything else (multi-byte LEBs, locals beyond the flat list, unknown locals: _local_slow).
    lf = lfast if lfast < 0x80 else 0x80
    table: list[int | None] = [*ltypes[:lf], *_NONES[lf:]]
    return frame_bytes, ltypes, lfast, table, acc, gstarts, gtypes, bytes(head0)


def _without_gas_weights(fn: Any) -> Any:
    """``fn`` recompiled from its source without its ``cost += W[op]`` statements: the fast loop's
    variant for ``Config(gas=None)`` (the weights are all 0 there; this saves a lookup and an add per
    instruction). Line numbers are kept. Without the source (e.g. a sourceless install) ``fn`` itself
    is used, which gives the same output."""
    try:
        lines, first = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or "<fast loop>"
    except (OSError, TypeError):
        return fn

    class _Strip(ast.NodeTransformer):
        def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | None:
            if (isinstance(node.target, ast.Name) and node.target.id == "cost" and isinstance(node.op, ast.Add)
                    and ast.unparse(node.value) == "W[op]"):
                return None
            return node

    tree = _Strip().visit(ast.parse(textwrap.dedent("".join(lines))))
    ast.increment_lineno(tree, first - 1)
    ns: dict[str, Any] = {}
    exec(compile(tree, filename, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True),  # noqa: S102
         fn.__globals__, ns)
    return ns[fn.__name__]


def _leb_size(data: bytes, end: int) -> int:
    """Length of the LEB128 ending just before ``end`` plus its 1-byte opcode (br/br_if label)."""
    q = end - 1
    while data[q - 1] & 0x80:
        q -= 1
    return end - q + 1


def _u32(it: Any) -> int:
    b = next(it)
    return b if b < 0x80 else _leb_tail(next, it, b)


def _fast_rare(ctx: _Ctx, k: int, op: int, it: Any, vals: list[int], cum: list[int], sp: int, fh: int,
               unreach: bool, maxsp: int, maxb: int, budget: int) -> tuple[int, int, int, int]:
    """The fast loop's rare instructions: returns (sp, maxsp, maxb, gas weight adjustment)."""
    nx = next
    dcost = 0
    tables = ctx.tables
    has_mem = ctx.n_memories > 0
    rr: tuple[int, ...]
    if k == 30:  # call_indirect
        ti = _u32(it)
        if ctx.enabled[0x25]:
            tab = _u32(it)
        else:
            tab = nx(it)
            if tab != 0:
                raise _Bail
        if tab >= len(tables) or ti >= len(ctx.types) or tables[tab] != FUNCREF:
            raise _Bail
        cp, rr = ctx.types[ti]
        sp = _pop_expect(vals, sp, fh, unreach, (*cp, I32))
    elif k == 31 or k == 32:  # memory.size, memory.grow
        if nx(it) != 0 or not has_mem:
            raise _Bail
        if k == 32:
            sp = _pop_expect(vals, sp, fh, unreach, (I32,))
        rr = (I32,)
    elif k == 33:  # 0xFC prefix
        sub = _u32(it)
        fop = spec.BY_FC.get(sub)
        if fop is None or not ctx.feat[fop.feature]:
            raise _Bail
        dcost = ctx.fc_weights[sub] - ctx.weights[op]
        pr: tuple[int, ...]
        if sub < 8:
            assert fop.params is not None and fop.results is not None
            pr, rr = fop.params, fop.results
        elif sub == 8 or sub == 9:  # memory.init / data.drop
            x = _u32(it)
            if sub == 8 and nx(it) != 0:
                raise _Bail
            if ctx.data_count is None or (sub == 8 and not has_mem) or x >= ctx.data_count:
                raise _Bail
            pr, rr = ((I32, I32, I32), ()) if sub == 8 else ((), ())
        elif sub == 10 or sub == 11:  # memory.copy / memory.fill
            for _ in range(2 if sub == 10 else 1):
                if nx(it) != 0:
                    raise _Bail
            if not has_mem:
                raise _Bail
            pr, rr = (I32, I32, I32), ()
        elif sub == 12 or sub == 13:  # table.init / elem.drop
            x = _u32(it)
            if sub == 12:
                tab = _u32(it)
                if tab >= len(tables):
                    raise _Bail
            if x >= len(ctx.elem_types):
                raise _Bail
            if sub == 12:
                if ctx.elem_types[x] != tables[tab]:
                    raise _Bail
                pr, rr = (I32, I32, I32), ()
            else:
                pr, rr = (), ()
        elif sub == 14:  # table.copy
            td = _u32(it)
            ts = _u32(it)
            if td >= len(tables) or ts >= len(tables) or tables[td] != tables[ts]:
                raise _Bail
            pr, rr = (I32, I32, I32), ()
        else:  # table.grow / table.size / table.fill
            tab = _u32(it)
            if tab >= len(tables):
                raise _Bail
            et = tables[tab]
            if sub == 15:
                pr, rr = (et, I32), (I32,)
            elif sub == 16:
                pr, rr = (), (I32,)
            else:
                pr, rr = (I32, et, I32), ()
        if pr:
            sp = _pop_expect(vals, sp, fh, unreach, pr)
    elif k == 28:  # select t
        if _u32(it) != 1:
            raise _Bail
        st = nx(it)
        if st not in _SZ_VALID or (st == EXTERNREF and not ctx.config.reference_types):
            raise _Bail
        sp = _pop_expect(vals, sp, fh, unreach, (st, st, I32))
        vals[sp] = st
        sp += 1
        cum[sp] = cum[sp - 1] + _SZ[st]
        return sp, maxsp, maxb, 0
    elif k == 36:  # ref.null
        t = nx(it)
        if t not in _REFS:
            raise _Bail
        rr = (t,)
    elif k == 37:  # ref.is_null
        if sp > fh:
            t = vals[sp - 1]
            if t != UNKNOWN and t not in _REFS:
                raise _Bail
            sp -= 1
        elif not unreach:
            raise _Bail
        vals[sp] = I32
        sp += 1
        cum[sp] = cum[sp - 1] + 4
        return sp, maxsp, maxb, 0
    elif k == 38:  # ref.func
        x = _u32(it)
        if x >= len(ctx.func_types) or x not in ctx.refs:
            raise _Bail
        rr = (FUNCREF,)
    elif k == 39:  # table.get
        tab = _u32(it)
        if tab >= len(tables):
            raise _Bail
        sp = _pop_expect(vals, sp, fh, unreach, (I32,))
        rr = (tables[tab],)
    elif k == 40:  # table.set
        tab = _u32(it)
        if tab >= len(tables):
            raise _Bail
        sp = _pop_expect(vals, sp, fh, unreach, (I32, tables[tab]))
        rr = ()
    else:  # illegal opcodes, disabled features, SIMD: the exact loop reports them
        raise _Bail
    if rr:
        if sp + len(rr) >= len(vals):
            _grow(vals, cum, sp + len(rr) + budget)
        for t in rr:
            vals[sp] = t
            b = cum[sp] + _SZ[t]
            sp += 1
            cum[sp] = b
            if b > maxb:
                maxb = b
        if sp > maxsp:
            maxsp = sp
    return sp, maxsp, maxb, dcost


_fast_nogas = _without_gas_weights(_fast)


#: False: every body goes through the exact loop (tests compare the two loops with this).
_USE_FAST = True


def _lower_body(ctx: _Ctx, fidx: int, data: bytes, bstart: int, bend: int) -> bytes | bytearray:
    """Validate, meter and lower one function body: the fast loop, else the exact one.

    Either loop also leaves the body's bytecode-to-wasm offset map in ``ctx.wmap`` (appended to
    ``ctx.wmaps``; see :func:`nearvm.wasm.module.wasm_offset`).
    """
    r = _lower_body_fast(ctx, fidx, data, bstart, bend) if _USE_FAST else None
    if r is None:
        r = _lower_body_exact(ctx, fidx, data, bstart, bend)
    ctx.wmaps.append(ctx.wmap)
    return r


def _wmap_shift(wmap: list[int], blk: int) -> None:
    """A GAS op was inserted at bytecode offset ``blk``: the runs copied at or after it move up.

    They are the last entries of the map (runs are recorded in bytecode order and a gas block's
    GAS op goes in front of the runs copied since the block began), so this walks a short suffix.
    """
    k = len(wmap) - 3
    while k >= 0 and wmap[k] >= blk:
        wmap[k] += _GAS_OP_SIZE
        k -= 3


# ---- module level (spec §3.4) ------------------------------------------------------------------

def _const(raw: RawConst, want: int, nglob_visible: int, globs: list[GlobalType], nfuncs: int,
           refs: set[int] | None, pos: int) -> ConstExpr:
    """Validate a constant expression of type ``want`` (spec §3.3.10, 2.0: one instruction)."""
    result: ConstExpr | None = None
    t = UNKNOWN
    for code, sub, imm, p in raw:
        if sub is not None:
            raise ValidationError("constant expression required", p)
        if code == 0x41:
            assert isinstance(imm, int)
            result, t = ("i32.const", imm & 0xFFFF_FFFF), I32
        elif code == 0x42:
            assert isinstance(imm, int)
            result, t = ("i64.const", imm & 0xFFFF_FFFF_FFFF_FFFF), I64
        elif code == 0x43:
            assert isinstance(imm, int)
            result, t = ("f32.const", imm), F32
        elif code == 0x44:
            assert isinstance(imm, int)
            result, t = ("f64.const", imm), F64
        elif code == 0xD0:
            assert isinstance(imm, ValType)
            result, t = ("ref.null", imm), int(imm)
        elif code == 0xD2:
            assert isinstance(imm, int)
            if imm >= nfuncs:
                raise ValidationError(f"unknown function {imm}", p)
            if refs is not None:
                refs.add(imm)
            result, t = ("ref.func", imm), FUNCREF
        elif code == 0x23:
            assert isinstance(imm, int)
            if imm >= nglob_visible:
                raise ValidationError(f"unknown global {imm}", p)
            g = globs[imm]
            if g.mutable:
                raise ValidationError("constant expression required", p)
            result, t = ("global.get", imm), int(g.content)
        else:
            raise ValidationError("constant expression required", p)
    if len(raw) != 1 or result is None or t != want:
        raise ValidationError("type mismatch", raw[-1][3] if raw else pos)
    return result


def _mem_type(lim: Any, pos: int) -> MemoryType:
    mn, mx = lim
    if mn > MAX_PAGES or (mx is not None and mx > MAX_PAGES):
        raise ValidationError("memory size must be at most 65536 pages (4GiB)", pos)
    if mx is not None and mn > mx:
        raise ValidationError("size minimum must not be greater than maximum", pos)
    return MemoryType(mn, mx)


def _limit(config: Config, name: str, value: int, what: str, pos: int | None = None) -> None:
    lim = getattr(config, name)
    if lim is not None and value > lim:
        raise LimitError(f"too many {what}: {value} > {lim}", name, pos)


def validate_module(raw: RawModule, config: Config) -> tuple[ModuleInfo, set[int], list[int]]:
    """Module-level validation (spec §3.4) into a ModuleInfo (program not yet built)."""
    m = ModuleInfo()
    m.types = raw.types
    ntypes = len(raw.types)
    imp_globals: list[GlobalType] = []
    for mod, nm, kind, desc, pos in raw.imports:
        if kind == "func":
            assert isinstance(desc, int)
            if desc >= ntypes:
                raise ValidationError(f"unknown type {desc}", pos)
            m.func_types.append(desc)
            ity: Any = raw.types[desc]
            m.num_imported_funcs += 1
        elif kind == "table":
            ity = desc
            m.tables.append(desc)  # type: ignore[arg-type]
            m.num_imported_tables += 1
        elif kind == "memory":
            ity = _mem_type(desc, pos)
            m.memories.append(ity)
            m.num_imported_memories += 1
        else:
            assert isinstance(desc, GlobalType)
            if desc.mutable and not config.mutable_globals:
                raise ValidationError("mutable globals are not enabled", pos)
            ity = desc
            m.globals.append(desc)
            imp_globals.append(desc)
            m.num_imported_globals += 1
        m.imports.append(Import(mod, nm, kind, ity))  # type: ignore[arg-type]
    for ti, pos in raw.funcs:
        if ti >= ntypes:
            raise ValidationError(f"unknown type {ti}", pos)
        m.func_types.append(ti)
    for tt, _pos in raw.tables:
        m.tables.append(tt)
    if len(m.tables) > 1 and not config.reference_types:
        raise ValidationError("multiple tables", raw.tables[-1][1] if raw.tables else None)
    for lim, pos in raw.memories:
        m.memories.append(_mem_type(lim, pos))
    if len(m.memories) > 1:
        raise ValidationError("multiple memories", raw.memories[-1][1] if raw.memories else None)
    # Configured limits (LimitError names the Config field).
    _limit(config, "max_functions", len(m.func_types), "functions")
    _limit(config, "max_tables", len(m.tables), "tables")
    _limit(config, "max_globals", len(m.globals) + len(raw.globals), "globals")
    _limit(config, "max_exports", len(raw.exports), "exports")
    _limit(config, "max_elem_segments", len(raw.elems), "element segments")
    _limit(config, "max_data_segments", len(raw.datas), "data segments")
    if config.max_table_elements is not None:
        for t in m.tables:
            _limit(config, "max_table_elements", t.minimum, "table elements")
    if config.max_memory_pages is not None and not config.near_prepare:
        for mt in m.memories:
            _limit(config, "max_memory_pages", mt.minimum, "memory pages")
            if mt.maximum is not None:
                _limit(config, "max_memory_pages", mt.maximum, "memory pages")
    if config.max_params_per_module is not None:
        _limit(config, "max_params_per_module",
               sum(len(raw.types[t].params) for t in m.func_types), "params")
    nfuncs = len(m.func_types)
    refs: set[int] = set()
    n_imp_glob = len(m.globals)
    for gt, init, pos in raw.globals:
        if gt.mutable and not config.mutable_globals:
            # Spec 1.0 + mutable-global proposal: only imports/exports were gated; definitions are fine.
            pass
        m.global_inits.append(_const(init, int(gt.content), n_imp_glob, imp_globals, nfuncs, refs, pos))
        m.globals.append(gt)
    seen: set[str] = set()
    for ex, pos in raw.exports:
        if ex.name in seen:
            raise ValidationError("duplicate export name", pos)
        seen.add(ex.name)
        n = {"func": nfuncs, "table": len(m.tables), "memory": len(m.memories), "global": len(m.globals)}[ex.kind]
        if ex.index >= n:
            what = "function" if ex.kind == "func" else ex.kind
            raise ValidationError(f"unknown {what} {ex.index}", pos)
        if ex.kind == "func":
            refs.add(ex.index)
        elif ex.kind == "global" and m.globals[ex.index].mutable and not config.mutable_globals:
            raise ValidationError("mutable globals cannot be exported", pos)
        m.exports.append(Export(ex.name, ex.kind, ex.index))
    if raw.start is not None:
        si, pos = raw.start
        if si >= nfuncs:
            raise ValidationError(f"unknown function {si}", pos)
        ft = m.types[m.func_types[si]]
        if ft.params or ft.results:
            raise ValidationError("start function", pos)
        m.start = si
    elem_types: list[int] = []
    for e in raw.elems:
        et = int(e.elem_type)
        items = tuple(_const(it, et, n_imp_glob, imp_globals, nfuncs, refs, e.pos) for it in e.items)
        off: ConstExpr | None = None
        if e.mode == "active":
            if e.table_index >= len(m.tables):
                raise ValidationError(f"unknown table {e.table_index}", e.pos)
            assert e.offset is not None
            off = _const(e.offset, I32, n_imp_glob, imp_globals, nfuncs, refs, e.pos)
            if int(m.tables[e.table_index].element) != et:
                raise ValidationError("type mismatch", e.pos)
        m.elems.append(ElemSegment(e.mode, e.elem_type, items, e.table_index, off))  # type: ignore[arg-type]
        elem_types.append(et)
    for d in raw.datas:
        doff: ConstExpr | None = None
        if d.mode == "active":
            if d.memory_index >= len(m.memories):
                raise ValidationError(f"unknown memory {d.memory_index}", d.pos)
            assert d.offset is not None
            doff = _const(d.offset, I32, n_imp_glob, imp_globals, nfuncs, refs, d.pos)
        m.datas.append(DataSegment(d.mode, d.data, d.memory_index, doff))  # type: ignore[arg-type]
    m.data_count = raw.data_count
    m.customs = raw.customs
    m.func_names = raw.func_names
    m.body_offsets = [s for s, _ in raw.bodies]
    return m, refs, elem_types


def _near_prepare(m: ModuleInfo, config: Config) -> None:
    """NEAR's contract preparation (docs/design.md "NEAR profile"): "env" function imports only, and the
    module's own memory becomes the import ("env", "memory", MemoryType(min, max))."""
    for imp in m.imports:
        if imp.module != "env":
            raise LimitError(f"import module {imp.module!r} is not allowed (only \"env\")", "near_prepare")
        if imp.kind != "func":
            raise LimitError(f"{imp.kind} imports are not allowed", "near_prepare")
    mt = MemoryType(config.near_memory_min, config.near_memory_max)
    m.memories = [mt]
    m.num_imported_memories = 1
    m.imports.append(Import("env", "memory", "memory", mt))
    # The contract's exports of its memory keep referring to memory 0, now the import.


def _build_program(ctx: _Ctx, m: ModuleInfo, bodies: list[bytes]) -> bytes:
    pk = _pack_u32
    out = bytearray()
    out += struct.pack("<III", spec.MAGIC, spec.FORMAT_VERSION, spec.FLAG_GAS if ctx.gas is not None else 0)
    out += pk(len(ctx.ext_types))
    # Equal types are one shared tuple (interned by the decoder), so each distinct object is
    # encoded once, found by its id (no tuple hashing), and the rest is C-level iteration: a module
    # of 100,000 copies of a few signatures costs well under a microsecond per type.
    ext = ctx.ext_types
    enc = {k: pk(len(t[0])) + bytes(t[0]) + pk(len(t[1])) + bytes(t[1])
           for k, t in dict(zip(map(id, ext), ext)).items()}
    out += b"".join(map(enc.__getitem__, map(id, ext)))
    out += pk(m.num_imported_funcs)
    out += pk(len(m.func_types))
    out += struct.pack(f"<{len(m.func_types)}I", *m.func_types)
    out += pk(len(m.tables))
    for i, t in enumerate(m.tables):
        out += struct.pack("<BBBBII", int(t.element), int(i < m.num_imported_tables), int(t.maximum is not None), 0,
                           t.minimum, t.maximum or 0)
    out += pk(len(m.memories))
    for i, mt in enumerate(m.memories):
        out += struct.pack("<BBHII", int(i < m.num_imported_memories), int(mt.maximum is not None), 0,
                           mt.minimum, mt.maximum or 0)
    out += pk(len(m.globals))
    for i, g in enumerate(m.globals):
        out += struct.pack("<BBBB", int(g.content), int(g.mutable), int(i < m.num_imported_globals), 0)
    out += pk(len(m.elems))
    out += pk(len(m.datas))
    out += pk(len(bodies))
    for b in bodies:
        out += pk(len(b))
        out += b
    return bytes(out)


def translate(data: bytes, config: Config | None = None) -> ModuleInfo:
    """Decode, validate, meter and lower a module: the frontend's one entry point."""
    if config is None:
        config = Config()
    raw = decode_module(data, config)
    data = bytes(data)
    m, refs, elem_types = validate_module(raw, config)
    had_memories = len(m.memories)
    if config.near_prepare:
        _near_prepare(m, config)
    ctx = _Ctx(config, m, refs, elem_types, raw.sigs)
    # Bodies are validated against the module as written (NEAR validates before preparing).
    ctx.n_memories = had_memories
    nimp = m.num_imported_funcs
    bodies = [_lower_body(ctx, nimp + i, data, s, e) for i, (s, e) in enumerate(raw.bodies)]
    m.program = _build_program(ctx, m, bodies)
    m.wasm_offsets = ctx.wmaps
    return m
