// masm_a64.cpp — aarch64 lowering of the masm contract. Baseline: ARMv8.0-A with FP/AdvSIMD
// (no LSE, no FEAT_CSSC: popcount goes through a vector register).
//
// The semantics are those of x64/masm_x64.cpp, instruction for instruction where the ISAs
// differ: aarch64 division and float->int conversion never trap, so every wasm trap condition
// is an explicit check; float results are canonicalised by the same lazy rule in codegen (the
// default NaN of ARM is already the positive canonical one, but the rule stays one rule).
#include "jit/a64/masm_a64.h"

#include <cstring>

#include "jit/frame_layout.h"
#include "runtime/vmctx.h"

namespace nvm::jit::a64 {

using namespace asmjit;
namespace aj = asmjit::a64;
using aj::CondCode;

namespace {
CondCode cc_of(Cond c) {
  switch (c) {
    case Cond::Eq: return CondCode::kEQ;
    case Cond::Ne: return CondCode::kNE;
    case Cond::LtS: return CondCode::kLT;
    case Cond::LtU: return CondCode::kLO;
    case Cond::GtS: return CondCode::kGT;
    case Cond::GtU: return CondCode::kHI;
    case Cond::LeS: return CondCode::kLE;
    case Cond::LeU: return CondCode::kLS;
    case Cond::GeS: return CondCode::kGE;
    case Cond::GeU: return CondCode::kHS;
  }
  return CondCode::kEQ;
}
uint64_t double_bits(double d) { uint64_t b; std::memcpy(&b, &d, 8); return b; }
const aj::Gp kS = aj::x16, kS2 = aj::x17;   // codegen-visible scratch (traits)
const aj::Gp kT = aj::x14;                   // private value temporary (RegsA64::kValTemp)
const aj::Gp kA = aj::x15;                   // private address temporary (RegsA64::kAddrTemp)
const aj::Gp kFp = aj::x29;
const aj::Gp kCtx = aj::x20;                 // RegsA64::kVmctx
constexpr uint32_t kV = 29;                    // private vector temporary (RegsA64::kFpTemp)
static_assert(RegsA64::kValTemp == 14 && RegsA64::kAddrTemp == 15 && reg_index(RegsA64::kFpTemp) == kV &&
              RegsA64::kVmctx == 20 && RegsA64::kScratch == 16 && RegsA64::kScratch2 == 17, "register names");

// Materialises a constant with movz/movn + movk (the fewest instructions for the value).
// A 32-bit value is built in the W view of the register (so its upper half ends up zero).
void materialize(aj::Assembler& a, const aj::Gp& reg, uint64_t v, bool is64) {
  const aj::Gp r = is64 ? aj::Gp(reg.x()) : aj::Gp(reg.w());
  const unsigned n = is64 ? 4 : 2;
  if (!is64) v &= 0xFFFFFFFFull;
  uint16_t h[4];
  unsigned zeros = 0, ones = 0;
  for (unsigned i = 0; i < n; ++i) {
    h[i] = uint16_t(v >> (16 * i));
    zeros += h[i] == 0;
    ones += h[i] == 0xFFFF;
  }
  if (zeros == n) { a.movz(r, Imm(0)); return; }
  const bool inverted = ones > zeros;
  const uint16_t skip = inverted ? 0xFFFF : 0;
  bool first = true;
  for (unsigned i = 0; i < n; ++i) {
    if (h[i] == skip) continue;
    if (first) {
      if (inverted) a.movn(r, Imm(uint16_t(~h[i])), aj::lsl(16 * i));
      else a.movz(r, Imm(h[i]), aj::lsl(16 * i));
      first = false;
    } else {
      a.movk(r, Imm(h[i]), aj::lsl(16 * i));
    }
  }
  if (first) a.movn(r, Imm(0));  // all ones
}
}  // namespace

aj::Mem MasmA64::mem(Address m, unsigned size) {
  const aj::Gp base = gp(m.base);
  if (m.index == kNoReg) {
    if (Traits::disp_ok(m.disp, size)) return aj::ptr(base, m.disp);
    materialize(a_, kA, uint64_t(int64_t(m.disp)), true);
    return aj::ptr(base, kA);
  }
  const aj::Gp index = gp(m.index);
  if (m.disp == 0 && (m.shift == 0 || m.shift == Traits::log2_size(size))) {
    return m.shift ? aj::ptr(base, index, aj::lsl(m.shift)) : aj::ptr(base, index);
  }
  // [base + index << shift + disp]: base + scaled index first, then the displacement.
  a_.add(kA, base, index, aj::lsl(m.shift));
  if (Traits::disp_ok(m.disp, size)) return aj::ptr(kA, m.disp);
  materialize(a_, kT, uint64_t(int64_t(m.disp)), true);
  return aj::ptr(kA, kT);
}

void MasmA64::function_prefix(uint32_t arg_slots) {
  a_.align(AlignMode::kCode, Traits::kCodeAlign);
  auto prefix = entry_prefix<Traits>(arg_slots);
  a_.embed(prefix.data(), prefix.size());
}

void MasmA64::call_mem(Address addr) {
  a_.ldr(kS, mem(addr, 8));
  a_.blr(kS);
}

void MasmA64::mov(W w, Reg dst, Reg src) {
  // A 32-bit move of a register to itself still clears the upper half (the i32 invariant).
  if (dst != src || w == W::k32) a_.mov(gpw(w, dst), gpw(w, src));
}

void MasmA64::mov_imm(W w, Reg dst, uint64_t imm) {
  const bool wide = w == W::k64 && imm > 0xFFFFFFFFull;
  materialize(a_, gp(dst), wide ? imm : (imm & 0xFFFFFFFFull), wide);
}

void MasmA64::fmov(Reg dst, Reg src) {
  if (dst != src) a_.fmov(vd(dst), vd(src));
}

void MasmA64::load_fp_bits(FW w, Reg dst, uint64_t bits) {
  if (w == FW::kF32) { materialize(a_, kS.w(), bits, false); a_.fmov(vs(dst), kS.w()); }
  else { materialize(a_, kS, bits, true); a_.fmov(vd(dst), kS); }
}

void MasmA64::fconst(FW w, Reg dst, uint64_t bits) {
  if (bits == 0) { a_.fmov(vd(dst), aj::xzr); return; }
  load_fp_bits(w, dst, bits);
}

void MasmA64::gp_to_fp(FW w, Reg dst, Reg src) {
  if (w == FW::kF32) a_.fmov(vs(dst), gp32(src)); else a_.fmov(vd(dst), gp(src));
}
void MasmA64::fp_to_gp(FW w, Reg dst, Reg src) {
  if (w == FW::kF32) a_.fmov(gp32(dst), vs(src)); else a_.fmov(gp(dst), vd(src));
}

void MasmA64::load(LoadKind k, Reg dst, Address m) {
  const aj::Mem p = mem(m, access_size(k));
  switch (k) {
    case LoadKind::I32: a_.ldr(gp32(dst), p); break;
    case LoadKind::I64: a_.ldr(gp(dst), p); break;
    case LoadKind::F32: a_.ldr(vs(dst), p); break;
    case LoadKind::F64: a_.ldr(vd(dst), p); break;
    case LoadKind::I32_8S: a_.ldrsb(gp32(dst), p); break;
    case LoadKind::I32_8U: a_.ldrb(gp32(dst), p); break;
    case LoadKind::I32_16S: a_.ldrsh(gp32(dst), p); break;
    case LoadKind::I32_16U: a_.ldrh(gp32(dst), p); break;
    case LoadKind::I64_8S: a_.ldrsb(gp(dst), p); break;
    case LoadKind::I64_8U: a_.ldrb(gp32(dst), p); break;
    case LoadKind::I64_16S: a_.ldrsh(gp(dst), p); break;
    case LoadKind::I64_16U: a_.ldrh(gp32(dst), p); break;
    case LoadKind::I64_32S: a_.ldrsw(gp(dst), p); break;
    case LoadKind::I64_32U: a_.ldr(gp32(dst), p); break;
  }
}

void MasmA64::store(StoreKind k, Address m, Reg src) {
  const aj::Mem p = mem(m, access_size(k));
  switch (k) {
    case StoreKind::B8: a_.strb(gp32(src), p); break;
    case StoreKind::B16: a_.strh(gp32(src), p); break;
    case StoreKind::B32: a_.str(gp32(src), p); break;
    case StoreKind::B64: a_.str(gp(src), p); break;
    case StoreKind::F32: a_.str(vs(src), p); break;
    case StoreKind::F64: a_.str(vd(src), p); break;
  }
}

// Linear-memory stores of a constant: only zero (Traits::store_imm_ok), from the zero register,
// so the store stays the one (faulting) instruction.
void MasmA64::store_imm(StoreKind k, Address m, int32_t imm) {
  (void)imm;
  const aj::Mem p = mem(m, access_size(k));
  switch (k) {
    case StoreKind::B8: a_.strb(aj::wzr, p); break;
    case StoreKind::B16: a_.strh(aj::wzr, p); break;
    case StoreKind::B32: case StoreKind::F32: a_.str(aj::wzr, p); break;
    case StoreKind::B64: case StoreKind::F64: a_.str(aj::xzr, p); break;
  }
}

// Frame slots and outgoing arguments (never trap sites): a nonzero value goes through kValTemp.
void MasmA64::store_imm32(W w, Address m, int32_t imm) {
  const unsigned size = w == W::k64 ? 8 : 4;
  if (imm == 0) {
    a_.str(w == W::k64 ? aj::Gp(aj::xzr) : aj::Gp(aj::wzr), mem(m, size));
    return;
  }
  materialize(a_, kT, uint64_t(int64_t(imm)), w == W::k64);
  a_.str(gpw(w, Reg(kT.id())), mem(m, size));
}

void MasmA64::copy_slot(Address dst, Address src) {
  a_.ldr(kS, mem(src, 8));
  a_.str(kS, mem(dst, 8));
}

void MasmA64::int_op(IntOp op, W w, Reg dst, Reg lhs, Reg rhs) {
  auto d = gpw(w, dst), l = gpw(w, lhs), r = gpw(w, rhs);
  switch (op) {
    case IntOp::Add: a_.add(d, l, r); break;
    case IntOp::Sub: a_.sub(d, l, r); break;
    case IntOp::Mul: a_.mul(d, l, r); break;
    case IntOp::And: a_.and_(d, l, r); break;
    case IntOp::Or: a_.orr(d, l, r); break;
    case IntOp::Xor: a_.eor(d, l, r); break;
  }
}

void MasmA64::int_op_imm(IntOp op, W w, Reg dst, Reg lhs, int32_t imm) {
  auto d = gpw(w, dst), l = gpw(w, lhs);
  const uint64_t v = Traits::value_of(w, uint64_t(int64_t(imm)));
  const unsigned width = w == W::k32 ? 32 : 64;
  switch (op) {
    case IntOp::Add:
    case IntOp::Sub: {
      // x + imm == x - (-imm) modulo 2^width: whichever of the two encodes.
      uint64_t neg = Traits::value_of(w, 0 - v);
      bool add = op == IntOp::Add;
      if (is_addsub_imm(v)) { add ? a_.add(d, l, Imm(v)) : a_.sub(d, l, Imm(v)); return; }
      if (is_addsub_imm(neg)) { add ? a_.sub(d, l, Imm(neg)) : a_.add(d, l, Imm(neg)); return; }
      break;
    }
    case IntOp::And: if (is_logical_imm(v, width)) { a_.and_(d, l, Imm(v)); return; } break;
    case IntOp::Or: if (is_logical_imm(v, width)) { a_.orr(d, l, Imm(v)); return; } break;
    case IntOp::Xor: if (is_logical_imm(v, width)) { a_.eor(d, l, Imm(v)); return; } break;
    case IntOp::Mul: break;
  }
  materialize(a_, gpw(w, Reg(kT.id())), v, w == W::k64);
  int_op(op, w, dst, lhs, Reg(kT.id()));
}

void MasmA64::int_op_mem(IntOp op, W w, Reg dst, Reg lhs, Address rhs) {
  a_.ldr(gpw(w, Reg(kT.id())), mem(rhs, w == W::k64 ? 8 : 4));
  int_op(op, w, dst, lhs, Reg(kT.id()));
}

// lslv/asrv/lsrv/rorv take the count modulo the width, as wasm does (spec §4.3.2 ishl etc.).
void MasmA64::shift(ShiftOp op, W w, Reg dst, Reg lhs, Reg count) {
  auto d = gpw(w, dst), l = gpw(w, lhs), c = gpw(w, count);
  switch (op) {
    case ShiftOp::Shl: a_.lsl(d, l, c); break;
    case ShiftOp::ShrS: a_.asr(d, l, c); break;
    case ShiftOp::ShrU: a_.lsr(d, l, c); break;
    case ShiftOp::Rotr: a_.ror(d, l, c); break;
    case ShiftOp::Rotl:
      // rotl(x, n) == rotr(x, -n mod width), and rorv reduces the count modulo the width.
      a_.neg(gpw(w, Reg(kT.id())), c);
      a_.ror(d, l, gpw(w, Reg(kT.id())));
      break;
  }
}

void MasmA64::shift_imm(ShiftOp op, W w, Reg dst, Reg lhs, uint8_t count) {
  auto d = gpw(w, dst), l = gpw(w, lhs);
  const unsigned width = w == W::k64 ? 64 : 32;
  count &= uint8_t(width - 1);  // spec: shift count modulo the bit width
  if (count == 0) { mov(w, dst, lhs); return; }
  switch (op) {
    case ShiftOp::Shl: a_.lsl(d, l, Imm(count)); break;
    case ShiftOp::ShrS: a_.asr(d, l, Imm(count)); break;
    case ShiftOp::ShrU: a_.lsr(d, l, Imm(count)); break;
    case ShiftOp::Rotl: a_.ror(d, l, Imm(width - count)); break;
    case ShiftOp::Rotr: a_.ror(d, l, Imm(count)); break;
  }
}

// Spec §4.3.2 idiv/irem: division by zero traps; INT_MIN / -1 overflows (trap) for div_s, and
// rem_s gives 0 there. sdiv never traps (INT_MIN / -1 = INT_MIN, x / 0 = 0), so both trap
// conditions are explicit; the remainder is lhs - (lhs / rhs) * rhs (msub), which is 0 for
// INT_MIN % -1 with no special case.
void MasmA64::div(DivOp op, W w, Reg dst, Reg lhs, Reg rhs, const Label& div_by_zero, const Label& overflow) {
  auto d = gpw(w, dst), l = gpw(w, lhs), r = gpw(w, rhs), t = gpw(w, Reg(kT.id()));
  cbz(r, div_by_zero);
  switch (op) {
    case DivOp::DivS: {
      Label normal = a_.newLabel();
      a_.cmn(r, Imm(1));        // rhs == -1?
      a_.b_ne(normal);
      a_.cmp(l, Imm(1));        // lhs - 1 overflows exactly when lhs == INT_MIN
      bcc(CondCode::kVS, overflow);
      a_.bind(normal);
      a_.sdiv(d, l, r);
      break;
    }
    case DivOp::DivU: a_.udiv(d, l, r); break;
    case DivOp::RemS: a_.sdiv(t, l, r); a_.msub(d, t, r, l); break;
    case DivOp::RemU: a_.udiv(t, l, r); a_.msub(d, t, r, l); break;
  }
}

void MasmA64::clz(W w, Reg dst, Reg src) { a_.clz(gpw(w, dst), gpw(w, src)); }

void MasmA64::ctz(W w, Reg dst, Reg src) {
  a_.rbit(gpw(w, dst), gpw(w, src));
  a_.clz(gpw(w, dst), gpw(w, dst));
}

// No scalar popcount in ARMv8.0: count the bits of each byte in a vector register, then add the
// byte counts.
void MasmA64::popcnt(W w, Reg dst, Reg src) {
  const aj::Vec v = aj::v(kV);
  if (w == W::k32) a_.fmov(aj::s(kV), gp32(src)); else a_.fmov(aj::d(kV), gp(src));
  a_.cnt(v.b8(), v.b8());
  a_.addv(aj::VecB(kV), v.b8());
  a_.fmov(gp32(dst), aj::s(kV));
}

void MasmA64::eqz(W w, Reg dst, Reg src) {
  a_.cmp(gpw(w, src), Imm(0));
  a_.cset(gp32(dst), CondCode::kEQ);
}

void MasmA64::cmp_imm(W w, Reg lhs, int64_t imm) {
  const uint64_t v = Traits::value_of(w, uint64_t(imm));
  const uint64_t neg = Traits::value_of(w, 0 - v);
  if (is_addsub_imm(v)) a_.cmp(gpw(w, lhs), Imm(v));
  else if (is_addsub_imm(neg)) a_.cmn(gpw(w, lhs), Imm(neg));
  else { materialize(a_, gpw(w, Reg(kT.id())), v, w == W::k64); a_.cmp(gpw(w, lhs), gpw(w, Reg(kT.id()))); }
}

void MasmA64::compare(Cond c, W w, Reg dst, Reg lhs, Reg rhs) {
  a_.cmp(gpw(w, lhs), gpw(w, rhs));
  a_.cset(gp32(dst), cc_of(c));
}

void MasmA64::compare_imm(Cond c, W w, Reg dst, Reg lhs, int32_t imm) {
  cmp_imm(w, lhs, imm);
  a_.cset(gp32(dst), cc_of(c));
}

void MasmA64::compare_mem(Cond c, W w, Reg dst, Reg lhs, Address rhs) {
  a_.ldr(gpw(w, Reg(kT.id())), mem(rhs, w == W::k64 ? 8 : 4));
  compare(c, w, dst, lhs, Reg(kT.id()));
}

void MasmA64::sign_extend(W w, unsigned from_bits, Reg dst, Reg src) {
  if (from_bits == 8) a_.sxtb(gpw(w, dst), gp32(src));
  else if (from_bits == 16) a_.sxth(gpw(w, dst), gp32(src));
  else a_.sxtw(gp(dst), gp32(src));
}

void MasmA64::zero_extend_32(Reg dst, Reg src) { a_.mov(gp32(dst), gp32(src)); }

void MasmA64::select(W w, Reg dst, Reg cond, Reg if_true, Reg if_false) {
  a_.cmp(gp32(cond), Imm(0));
  a_.csel(gpw(w, dst), gpw(w, if_true), gpw(w, if_false), CondCode::kNE);
}

void MasmA64::fselect(Reg dst, Reg cond, Reg if_true, Reg if_false) {
  a_.cmp(gp32(cond), Imm(0));
  a_.fcsel(vd(dst), vd(if_true), vd(if_false), CondCode::kNE);
}

void MasmA64::cmp_flags(W w, Reg lhs, Reg rhs) { a_.cmp(gpw(w, lhs), gpw(w, rhs)); }
void MasmA64::cmp_flags_imm(W w, Reg lhs, int32_t imm) { cmp_imm(w, lhs, imm); }
void MasmA64::cmp_flags_mem(W w, Reg lhs, Address rhs) {
  a_.ldr(gpw(w, Reg(kT.id())), mem(rhs, w == W::k64 ? 8 : 4));
  a_.cmp(gpw(w, lhs), gpw(w, Reg(kT.id())));
}
void MasmA64::cmov(Cond c, W w, Reg dst, Reg src) {
  a_.csel(gpw(w, dst), gpw(w, src), gpw(w, dst), cc_of(c));
}

// Conditional branches reach ±1 MiB. In a function that may be larger (use_long_branches), each
// becomes the inverted condition over an unconditional `b` (±128 MiB).
void MasmA64::bcc(CondCode cc, const Label& l) {
  if (!long_branches_) { a_.b(cc, l); return; }
  Label skip = a_.newLabel();
  a_.b(negateCond(cc), skip);
  a_.b(l);
  a_.bind(skip);
}
void MasmA64::cbz(const aj::Gp& r, const Label& l) {
  if (!long_branches_) { a_.cbz(r, l); return; }
  Label skip = a_.newLabel();
  a_.cbnz(r, skip);
  a_.b(l);
  a_.bind(skip);
}
void MasmA64::cbnz(const aj::Gp& r, const Label& l) {
  if (!long_branches_) { a_.cbnz(r, l); return; }
  Label skip = a_.newLabel();
  a_.cbz(r, skip);
  a_.b(l);
  a_.bind(skip);
}

void MasmA64::branch_zero(W w, Reg r, const Label& l) { cbz(gpw(w, r), l); }
void MasmA64::branch_nonzero(W w, Reg r, const Label& l) { cbnz(gpw(w, r), l); }

void MasmA64::branch_cmp(Cond c, W w, Reg lhs, Reg rhs, const Label& l) {
  a_.cmp(gpw(w, lhs), gpw(w, rhs));
  bcc(cc_of(c), l);
}
void MasmA64::branch_cmp_imm(Cond c, W w, Reg r, int32_t imm, const Label& l) {
  if (imm == 0 && c == Cond::Eq) { cbz(gpw(w, r), l); return; }
  if (imm == 0 && c == Cond::Ne) { cbnz(gpw(w, r), l); return; }
  cmp_imm(w, r, imm);
  bcc(cc_of(c), l);
}
void MasmA64::branch_cmp_mem(Cond c, W w, Reg r, Address m, const Label& l) {
  a_.ldr(gpw(w, Reg(kT.id())), mem(m, w == W::k64 ? 8 : 4));
  branch_cmp(c, w, r, Reg(kT.id()), l);
}

// A relative jump table (position-independent): entries are 32-bit deltas from the table.
void MasmA64::jump_table(Reg index, const Label* targets, uint32_t n) {
  Label table = a_.newLabel();
  a_.adr(kS, table);
  a_.ldrsw(kS2, aj::ptr(kS, gp(index), aj::lsl(2)));
  a_.add(kS, kS, kS2);
  a_.br(kS);
  a_.align(AlignMode::kData, 4);
  a_.bind(table);
  for (uint32_t i = 0; i < n; ++i) a_.embedLabelDelta(targets[i], table, 4);
}

void MasmA64::fp_op(FpOp op, FW w, Reg dst, Reg lhs, Reg rhs) {
  auto d = vf(w, dst), l = vf(w, lhs), r = vf(w, rhs);
  switch (op) {
    case FpOp::Add: a_.fadd(d, l, r); break;
    case FpOp::Sub: a_.fsub(d, l, r); break;
    case FpOp::Mul: a_.fmul(d, l, r); break;
    case FpOp::Div: a_.fdiv(d, l, r); break;
    // fmin/fmax are IEEE 754-2008 minimum/maximum: NaN if either operand is NaN (codegen
    // canonicalises it), fmin(-0, +0) = -0 and fmax(-0, +0) = +0: spec §4.3.3 fmin/fmax exactly.
    case FpOp::Min: a_.fmin(d, l, r); break;
    case FpOp::Max: a_.fmax(d, l, r); break;
    case FpOp::Copysign:
      // Bit operations on the sign (spec: copysign never canonicalises).
      if (w == FW::kF32) {
        a_.fmov(kS.w(), vs(lhs));
        a_.fmov(kS2.w(), vs(rhs));
        a_.and_(kS.w(), kS.w(), Imm(0x7FFFFFFFu));
        a_.and_(kS2.w(), kS2.w(), Imm(0x80000000u));
        a_.orr(kS.w(), kS.w(), kS2.w());
        a_.fmov(vs(dst), kS.w());
      } else {
        a_.fmov(kS, vd(lhs));
        a_.fmov(kS2, vd(rhs));
        a_.and_(kS, kS, Imm(0x7FFFFFFFFFFFFFFFull));
        a_.and_(kS2, kS2, Imm(0x8000000000000000ull));
        a_.orr(kS, kS, kS2);
        a_.fmov(vd(dst), kS);
      }
      break;
  }
}

void MasmA64::fp_op_mem(FpOp op, FW w, Reg dst, Reg lhs, Address rhs) {
  const Reg t = RegsA64::kFpTemp;
  if (w == FW::kF32) a_.ldr(vs(t), mem(rhs, 4)); else a_.ldr(vd(t), mem(rhs, 8));
  fp_op(op, w, dst, lhs, t);
}

void MasmA64::fp_unop(FpUnOp op, FW w, Reg dst, Reg src) {
  auto d = vf(w, dst), s = vf(w, src);
  switch (op) {
    // fabs/fneg only clear/flip the sign bit (no NaN processing: spec abs/neg are bit ops).
    case FpUnOp::Abs: a_.fabs(d, s); break;
    case FpUnOp::Neg: a_.fneg(d, s); break;
    case FpUnOp::Sqrt: a_.fsqrt(d, s); break;
    case FpUnOp::Ceil: a_.frintp(d, s); break;
    case FpUnOp::Floor: a_.frintm(d, s); break;
    case FpUnOp::Trunc: a_.frintz(d, s); break;
    case FpUnOp::Nearest: a_.frintn(d, s); break;  // ties to even
  }
}

void MasmA64::branch_if_nan(FW w, Reg r, const Label& l) {
  a_.fcmp(vf(w, r), vf(w, r));
  bcc(CondCode::kVS, l);  // unordered with itself <=> NaN
}

void MasmA64::load_canonical_nan(FW w, Reg r) {
  load_fp_bits(w, r, w == FW::kF32 ? 0x7FC00000ull : 0x7FF8000000000000ull);
}

// After fcmp, unordered sets C and V (N = Z = 0), so: eq/mi/ls are false for NaN, ne is true,
// gt/ge (which test N == V) are false.
void MasmA64::fp_compare(FpCond c, FW w, Reg dst, Reg lhs, Reg rhs) {
  a_.fcmp(vf(w, lhs), vf(w, rhs));
  CondCode cc = CondCode::kEQ;
  switch (c) {
    case FpCond::Eq: cc = CondCode::kEQ; break;
    case FpCond::Ne: cc = CondCode::kNE; break;
    case FpCond::Lt: cc = CondCode::kMI; break;
    case FpCond::Gt: cc = CondCode::kGT; break;
    case FpCond::Le: cc = CondCode::kLS; break;
    case FpCond::Ge: cc = CondCode::kGE; break;
  }
  a_.cset(gp32(dst), cc);
}

void MasmA64::promote(Reg dst, Reg src) { a_.fcvt(vd(dst), vs(src)); }
void MasmA64::demote(Reg dst, Reg src) { a_.fcvt(vs(dst), vd(src)); }

// scvtf/ucvtf round to nearest-even in one step for every source width (no u64 fix-up needed).
void MasmA64::int_to_fp(FW to, W from, bool is_signed, Reg dst, Reg src) {
  auto d = vf(to, dst);
  auto s = gpw(from, src);
  if (is_signed) a_.scvtf(d, s); else a_.ucvtf(d, s);
}

// Spec §4.3.3 trunc (trapping) and trunc_sat. fcvtzs/fcvtzu are exactly trunc_sat (NaN -> 0,
// saturating at the bounds). The trapping forms check first, like x64: NaN -> invalid, then the
// input widened exactly to f64 against the exclusive bounds -> overflow.
void MasmA64::fp_to_int(TruncKind k, Reg dst, Reg src, const Label& invalid, const Label& overflow) {
  auto d = gpw(k.to, dst);
  if (k.saturating) {
    auto s = vf(k.from, src);
    if (k.is_signed) a_.fcvtzs(d, s); else a_.fcvtzu(d, s);
    return;
  }
  const aj::Vec x = aj::d(kV), bound = vd(RegsA64::kFpScratch);
  if (k.from == FW::kF32) a_.fcvt(x, vs(src)); else a_.fmov(x, vd(src));
  double lo, hi;
  if (k.to == W::k32) { lo = k.is_signed ? -2147483649.0 : -1.0; hi = k.is_signed ? 2147483648.0 : 4294967296.0; }
  else { lo = k.is_signed ? -9223372036854777856.0 : -1.0; hi = k.is_signed ? 9223372036854775808.0 : 18446744073709551616.0; }
  a_.fcmp(x, x);
  bcc(CondCode::kVS, invalid);
  materialize(a_, kS, double_bits(lo), true);
  a_.fmov(bound, kS);
  a_.fcmp(x, bound);
  bcc(CondCode::kLS, overflow);  // x <= lo
  materialize(a_, kS, double_bits(hi), true);
  a_.fmov(bound, kS);
  a_.fcmp(x, bound);
  bcc(CondCode::kGE, overflow);  // x >= hi
  if (k.is_signed) a_.fcvtzs(d, x); else a_.fcvtzu(d, x);
}

// movz/movk of the frame size into x16, then sp -= x16 (Traits::patch_frame_size fills both
// immediates once the body is compiled). Returns the movz's offset.
uint32_t MasmA64::sub_sp_patchable() {
  uint32_t at = offset();
  a_.movz(kS, Imm(0));
  a_.movk(kS, Imm(0), aj::lsl(16));
  a_.sub(aj::sp, aj::sp, kS);
  return at;
}

void MasmA64::zero_fill(Address start, uint32_t n_qwords) {
  // kA walks the area with post-indexed pair stores of the zero register.
  if (start.disp >= 0) a_.add(kA, gp(start.base), Imm(uint64_t(start.disp)));
  else if (is_addsub_imm(uint64_t(-int64_t(start.disp)))) a_.sub(kA, gp(start.base), Imm(uint64_t(-int64_t(start.disp))));
  else { materialize(a_, kT, uint64_t(int64_t(start.disp)), true); a_.add(kA, gp(start.base), kT); }
  uint32_t pairs = n_qwords / 2;
  if (pairs <= 32) {
    for (uint32_t k = 0; k < pairs; ++k) a_.stp(aj::xzr, aj::xzr, aj::ptr_post(kA, 16));
  } else {
    Label loop = a_.newLabel();
    materialize(a_, kT, pairs, false);
    a_.bind(loop);
    a_.stp(aj::xzr, aj::xzr, aj::ptr_post(kA, 16));
    a_.subs(kT.w(), kT.w(), Imm(1));
    a_.b_ne(loop);
  }
  if (n_qwords & 1) a_.str(aj::xzr, aj::ptr(kA));
}

// Trap exit (docs/runtime-abi.md "Traps"): act = ctx->store->activation; act->trap_code = code;
// act->trap_pc = x17; sp = act->entry_sp; jump act->landing.
void MasmA64::trap_exit(uint32_t trap_code, bool out_of_gas) {
  if (out_of_gas) a_.mov(gp(RegsA64::kGasReg), aj::xzr);
  materialize(a_, kT.w(), trap_code, false);
  a_.ldr(kS, aj::ptr(kCtx, rt::kVmctxStoreOffset));
  a_.ldr(kS, aj::ptr(kS, rt::kStoreActivationOffset));
  a_.str(kT.w(), aj::ptr(kS, rt::kActivationTrapCodeOffset));
  a_.str(kS2, aj::ptr(kS, rt::kActivationTrapPcOffset));
  a_.str(kFp, aj::ptr(kS, rt::kActivationSavedFpOffset));
  a_.ldr(kT, aj::ptr(kS, rt::kActivationEntrySpOffset));
  a_.mov(aj::sp, kT);
  a_.ldr(kT, aj::ptr(kS, rt::kActivationLandingOffset));
  a_.br(kT);
}

void MasmA64::trap_exit_with_code_in_return_reg() {
  a_.ldr(kS, aj::ptr(kCtx, rt::kVmctxStoreOffset));
  a_.ldr(kS, aj::ptr(kS, rt::kStoreActivationOffset));
  a_.str(aj::w0, aj::ptr(kS, rt::kActivationTrapCodeOffset));
  a_.str(kS2, aj::ptr(kS, rt::kActivationTrapPcOffset));
  a_.str(kFp, aj::ptr(kS, rt::kActivationSavedFpOffset));
  a_.ldr(kT, aj::ptr(kS, rt::kActivationEntrySpOffset));
  a_.mov(aj::sp, kT);
  a_.ldr(kT, aj::ptr(kS, rt::kActivationLandingOffset));
  a_.br(kT);
}

// STACK: this frame's budget = the caller's budget - frame_cost, trapping when negative (the
// same five steps as x64: the budget slot is [fp - 16] in every frame).
void MasmA64::stack_check(uint32_t frame_cost, const Label& overflow) {
  a_.ldr(kS, aj::ptr(kFp));
  a_.ldur(kS2, aj::ptr(kS, FrameLayout::kBudgetSlot));
  if (is_addsub_imm(frame_cost)) {
    a_.subs(kS2, kS2, Imm(frame_cost));
  } else {
    materialize(a_, kT, frame_cost, false);
    a_.subs(kS2, kS2, kT);
  }
  bcc(CondCode::kLT, overflow);
  a_.stur(kS2, aj::ptr(kFp, FrameLayout::kBudgetSlot));
}

// GAS: the gas left is in kGasReg; a block costing more than is left traps OUT_OF_GAS without
// being charged. subs sets C = no borrow, so `lo` is "cost > gas left", for any u64 cost.
void MasmA64::charge_gas(uint64_t cost, const Label& out_of_gas) {
  auto g = gp(RegsA64::kGasReg);
  if (is_addsub_imm(cost)) {
    a_.subs(g, g, Imm(cost));
  } else {
    materialize(a_, kT, cost, true);
    a_.subs(g, g, kT);
  }
  bcc(CondCode::kLO, out_of_gas);
}

// Interrupts (unmetered code only): one load of the vmctx's flag and a branch not taken unless
// another thread asked this Store to stop.
void MasmA64::interrupt_check(const Label& interrupted) {
  a_.ldr(kS.w(), aj::ptr(kCtx, rt::kVmctxInterruptOffset));
  cbnz(kS.w(), interrupted);  // the long form in functions beyond b.cond's range
}

void MasmA64::gas_to_store() {
  a_.ldr(kS, aj::ptr(kCtx, rt::kVmctxStoreOffset));
  a_.ldr(kS2, aj::ptr(kS, rt::kStoreGasLimitOffset));
  a_.sub(kS2, kS2, gp(RegsA64::kGasReg));
  a_.str(kS2, aj::ptr(kS, rt::kStoreGasUsedOffset));
}

void MasmA64::gas_from_store() {
  auto g = gp(RegsA64::kGasReg);
  a_.ldr(kS, aj::ptr(kCtx, rt::kVmctxStoreOffset));
  a_.ldr(g, aj::ptr(kS, rt::kStoreGasLimitOffset));
  a_.ldr(kS2, aj::ptr(kS, rt::kStoreGasUsedOffset));
  a_.sub(g, g, kS2);
}

// [fp] = the caller's fp, [fp + 8] = the return address (lr): the x64 frame shape, so
// FrameLayout (arguments at [fp + 16 + 8i]) is the same.
void MasmA64::prologue() {
  a_.stp(kFp, aj::x30, aj::ptr_pre(aj::sp, -16));
  a_.mov(kFp, aj::sp);
}

void MasmA64::epilogue_return() {
  a_.mov(aj::sp, kFp);
  a_.ldp(kFp, aj::x30, aj::ptr_post(aj::sp, 16));
  a_.ret(aj::x30);
}

// A RuntimeHelpers entry in the host C ABI (AAPCS64 on Linux and Apple for these non-variadic
// integer signatures): x0 = vmctx, then up to seven 8-byte values from the outgoing area.
void MasmA64::call_helper(int32_t helper_offset, uint32_t n_args) {
  (void)abi_;
  a_.mov(aj::x0, kCtx);
  for (uint32_t i = 0; i < n_args && i + 1 < 8; ++i)
    a_.ldr(aj::x(i + 1), aj::ptr(aj::sp, int32_t(8 * i)));
  a_.ldr(kS, aj::ptr(kCtx, rt::kVmctxHelpersOffset));
  a_.ldr(kS, mem(Address{RegsA64::kScratch, kNoReg, helper_offset}, 8));
  a_.blr(kS);
}

}  // namespace nvm::jit::a64
