// masm_x64.cpp — x64 lowering of the masm contract. Baseline: x86-64-v2 (SSE4.1/4.2, POPCNT;
// no LZCNT/TZCNT, no AVX), so clz/ctz use bsr/bsf with explicit zero handling.
#include "jit/x64/masm_x64.h"

#include <cstring>

#include "jit/frame_layout.h"
#include "runtime/vmctx.h"

namespace nvm::jit::x64 {

using namespace asmjit;
using x86::CondCode;

namespace rt_offsets {
constexpr int32_t kStore = rt::kVmctxStoreOffset;
constexpr int32_t kHelpers = rt::kVmctxHelpersOffset;
constexpr int32_t kGasUsed = rt::kStoreGasUsedOffset;
constexpr int32_t kGasLimit = rt::kStoreGasLimitOffset;
constexpr int32_t kStackRemaining = rt::kStoreStackRemainingOffset;
constexpr int32_t kActivation = rt::kStoreActivationOffset;
constexpr int32_t kEntrySp = rt::kActivationEntrySpOffset;
constexpr int32_t kLanding = rt::kActivationLandingOffset;
constexpr int32_t kTrapCode = rt::kActivationTrapCodeOffset;
constexpr int32_t kTrapPc = rt::kActivationTrapPcOffset;
constexpr int32_t kSavedFp = rt::kActivationSavedFpOffset;
}  // namespace rt_offsets

namespace {
CondCode cc_of(Cond c) {
  switch (c) {
    case Cond::Eq: return CondCode::kE;
    case Cond::Ne: return CondCode::kNE;
    case Cond::LtS: return CondCode::kL;
    case Cond::LtU: return CondCode::kB;
    case Cond::GtS: return CondCode::kG;
    case Cond::GtU: return CondCode::kA;
    case Cond::LeS: return CondCode::kLE;
    case Cond::LeU: return CondCode::kBE;
    case Cond::GeS: return CondCode::kGE;
    case Cond::GeU: return CondCode::kAE;
  }
  return CondCode::kE;
}
uint64_t double_bits(double d) { uint64_t b; std::memcpy(&b, &d, 8); return b; }
const x86::Gp kS = x86::r11, kS2 = x86::r10;
const x86::Xmm kX = x86::xmm15, kX2 = x86::xmm14;
}  // namespace

x86::Mem MasmX64::mem(Address m, uint32_t size) {
  if (m.index != kNoReg) return x86::ptr(gp(m.base), gp(m.index), m.shift, m.disp, size);
  return x86::ptr(gp(m.base), m.disp, size);
}

void MasmX64::call_mem(Address addr) { a_.call(mem(addr, 8)); }

void MasmX64::function_prefix(uint32_t arg_slots) {
  a_.align(AlignMode::kCode, Traits::kCodeAlign);
  auto prefix = entry_prefix<Traits>(arg_slots);
  a_.embed(prefix.data(), prefix.size());
}

void MasmX64::mov(W w, Reg dst, Reg src) {
  if (dst != src || w == W::k32) a_.mov(gpw(w, dst), gpw(w, src));
}

void MasmX64::mov_imm(W w, Reg dst, uint64_t imm) {
  if (w == W::k32 || imm <= 0xFFFFFFFFull) a_.mov(gp32(dst), Imm(uint32_t(imm)));
  else a_.mov(gp(dst), Imm(int64_t(imm)));
}

void MasmX64::fmov(Reg dst, Reg src) {
  if (dst != src) a_.movaps(xmm(dst), xmm(src));
}

void MasmX64::fconst(FW w, Reg dst, uint64_t bits) {
  if (bits == 0) { a_.xorps(xmm(dst), xmm(dst)); return; }
  if (w == FW::kF32) { a_.mov(kS.r32(), Imm(uint32_t(bits))); a_.movd(xmm(dst), kS.r32()); }
  else { a_.mov(kS, Imm(int64_t(bits))); a_.movq(xmm(dst), kS); }
}

void MasmX64::gp_to_fp(FW w, Reg dst, Reg src) {
  if (w == FW::kF32) a_.movd(xmm(dst), gp32(src)); else a_.movq(xmm(dst), gp(src));
}
void MasmX64::fp_to_gp(FW w, Reg dst, Reg src) {
  if (w == FW::kF32) a_.movd(gp32(dst), xmm(src)); else a_.movq(gp(dst), xmm(src));
}

void MasmX64::load(LoadKind k, Reg dst, Address m) {
  switch (k) {
    case LoadKind::I32: a_.mov(gp32(dst), mem(m, 4)); break;
    case LoadKind::I64: a_.mov(gp(dst), mem(m, 8)); break;
    case LoadKind::F32: a_.movss(xmm(dst), mem(m, 4)); break;
    case LoadKind::F64: a_.movsd(xmm(dst), mem(m, 8)); break;
    case LoadKind::I32_8S: a_.movsx(gp32(dst), mem(m, 1)); break;
    case LoadKind::I32_8U: a_.movzx(gp32(dst), mem(m, 1)); break;
    case LoadKind::I32_16S: a_.movsx(gp32(dst), mem(m, 2)); break;
    case LoadKind::I32_16U: a_.movzx(gp32(dst), mem(m, 2)); break;
    case LoadKind::I64_8S: a_.movsx(gp(dst), mem(m, 1)); break;
    case LoadKind::I64_8U: a_.movzx(gp32(dst), mem(m, 1)); break;
    case LoadKind::I64_16S: a_.movsx(gp(dst), mem(m, 2)); break;
    case LoadKind::I64_16U: a_.movzx(gp32(dst), mem(m, 2)); break;
    case LoadKind::I64_32S: a_.movsxd(gp(dst), mem(m, 4)); break;
    case LoadKind::I64_32U: a_.mov(gp32(dst), mem(m, 4)); break;
  }
}

void MasmX64::store(StoreKind k, Address m, Reg src) {
  switch (k) {
    case StoreKind::B8: a_.mov(mem(m, 1), x86::gpb(src)); break;
    case StoreKind::B16: a_.mov(mem(m, 2), x86::gpw(src)); break;
    case StoreKind::B32: a_.mov(mem(m, 4), gp32(src)); break;
    case StoreKind::B64: a_.mov(mem(m, 8), gp(src)); break;
    case StoreKind::F32: a_.movss(mem(m, 4), xmm(src)); break;
    case StoreKind::F64: a_.movsd(mem(m, 8), xmm(src)); break;
  }
}

void MasmX64::store_imm(StoreKind k, Address m, int32_t imm) {
  switch (k) {
    case StoreKind::B8: a_.mov(mem(m, 1), Imm(int8_t(imm))); break;
    case StoreKind::B16: a_.mov(mem(m, 2), Imm(int16_t(imm))); break;
    case StoreKind::B32: case StoreKind::F32: a_.mov(mem(m, 4), Imm(imm)); break;
    case StoreKind::B64: case StoreKind::F64: a_.mov(mem(m, 8), Imm(imm)); break;  // sign-extended
  }
}

void MasmX64::store_imm32(W w, Address m, int32_t imm) {
  a_.mov(mem(m, w == W::k64 ? 8 : 4), Imm(imm));
}

void MasmX64::lea(Reg dst, Address m) { a_.lea(gp(dst), mem(m)); }

void MasmX64::copy_slot(Address dst, Address src) {
  a_.mov(kS, mem(src, 8));
  a_.mov(mem(dst, 8), kS);
}

void MasmX64::int_op(IntOp op, W w, Reg dst, Reg lhs, Reg rhs) {
  if (op == IntOp::Add && dst != lhs && dst != rhs) {
    // Three-operand add without the copy; a 32-bit lea wraps and zero-extends like `add r32`.
    a_.lea(gpw(w, dst), x86::ptr(gp(lhs), gp(rhs)));
    return;
  }
  bool commutative = op != IntOp::Sub;
  if (dst != lhs && dst == rhs) {
    if (commutative) std::swap(lhs, rhs);
    else { a_.mov(gpw(w, kS.id()), gpw(w, rhs)); rhs = Reg(kS.id()); }
  }
  if (dst != lhs) a_.mov(gpw(w, dst), gpw(w, lhs));
  auto d = gpw(w, dst), r = gpw(w, rhs);
  switch (op) {
    case IntOp::Add: a_.add(d, r); break;
    case IntOp::Sub: a_.sub(d, r); break;
    case IntOp::Mul: a_.imul(d, r); break;
    case IntOp::And: a_.and_(d, r); break;
    case IntOp::Or: a_.or_(d, r); break;
    case IntOp::Xor: a_.xor_(d, r); break;
  }
}

void MasmX64::int_op_imm(IntOp op, W w, Reg dst, Reg lhs, int32_t imm) {
  auto d = gpw(w, dst);
  if (op == IntOp::Mul) { a_.imul(d, gpw(w, lhs), Imm(imm)); return; }
  // dst = lhs +/- imm without the copy (`lea`; 32-bit: wraps and zero-extends like `add r32`).
  // -INT32_MIN has no imm32 form in 64-bit arithmetic.
  if (dst != lhs && (op == IntOp::Add || (op == IntOp::Sub && (w == W::k32 || imm != INT32_MIN)))) {
    int32_t disp = op == IntOp::Add ? imm : int32_t(0u - uint32_t(imm));
    a_.lea(d, x86::ptr(gp(lhs), disp));
    return;
  }
  if (dst != lhs) a_.mov(d, gpw(w, lhs));
  switch (op) {
    case IntOp::Add: a_.add(d, Imm(imm)); break;
    case IntOp::Sub: a_.sub(d, Imm(imm)); break;
    case IntOp::And: a_.and_(d, Imm(imm)); break;
    case IntOp::Or: a_.or_(d, Imm(imm)); break;
    case IntOp::Xor: a_.xor_(d, Imm(imm)); break;
    case IntOp::Mul: break;
  }
}

void MasmX64::int_op_mem(IntOp op, W w, Reg dst, Reg lhs, Address rhs) {
  auto d = gpw(w, dst);
  x86::Mem m = mem(rhs, w == W::k64 ? 8 : 4);
  if (dst != lhs) a_.mov(d, gpw(w, lhs));  // dst is never rhs's base/index (codegen's temps)
  switch (op) {
    case IntOp::Add: a_.add(d, m); break;
    case IntOp::Sub: a_.sub(d, m); break;
    case IntOp::Mul: a_.imul(d, m); break;
    case IntOp::And: a_.and_(d, m); break;
    case IntOp::Or: a_.or_(d, m); break;
    case IntOp::Xor: a_.xor_(d, m); break;
  }
}

void MasmX64::shift(ShiftOp op, W w, Reg dst, Reg lhs, Reg count) {
  // count is RegsX64::kShiftCount (cl), reserved by codegen; dst != count.
  (void)count;
  if (dst != lhs) a_.mov(gpw(w, dst), gpw(w, lhs));
  auto d = gpw(w, dst);
  switch (op) {
    case ShiftOp::Shl: a_.shl(d, x86::cl); break;
    case ShiftOp::ShrS: a_.sar(d, x86::cl); break;
    case ShiftOp::ShrU: a_.shr(d, x86::cl); break;
    case ShiftOp::Rotl: a_.rol(d, x86::cl); break;
    case ShiftOp::Rotr: a_.ror(d, x86::cl); break;
  }
}

void MasmX64::shift_imm(ShiftOp op, W w, Reg dst, Reg lhs, uint8_t count) {
  if (dst != lhs) a_.mov(gpw(w, dst), gpw(w, lhs));
  auto d = gpw(w, dst);
  count &= (w == W::k64 ? 63 : 31);  // spec: shift count modulo the bit width
  if (count == 0) { if (w == W::k32) a_.mov(d, d); return; }
  switch (op) {
    case ShiftOp::Shl: a_.shl(d, Imm(count)); break;
    case ShiftOp::ShrS: a_.sar(d, Imm(count)); break;
    case ShiftOp::ShrU: a_.shr(d, Imm(count)); break;
    case ShiftOp::Rotl: a_.rol(d, Imm(count)); break;
    case ShiftOp::Rotr: a_.ror(d, Imm(count)); break;
  }
}

// Spec §4.3.2 idiv/irem: division by zero traps; INT_MIN / -1 overflows (trap) for div_s, while
// rem_s gives 0 (x86 idiv would fault, so -1 is special-cased).
void MasmX64::div(DivOp op, W w, Reg dst, Reg lhs, Reg rhs, const Label& div_by_zero, const Label& overflow) {
  (void)lhs; (void)dst;
  auto r = gpw(w, rhs);
  auto ax = gpw(w, RegsX64::kDivDividend), dx = gpw(w, RegsX64::kDivRemainder);
  a_.test(r, r);
  a_.jz(div_by_zero);
  Label done = a_.newLabel();
  if (op == DivOp::DivS || op == DivOp::RemS) {
    Label normal = a_.newLabel();
    a_.cmp(r, Imm(-1));
    a_.jne(normal);
    if (op == DivOp::DivS) {
      if (w == W::k32) a_.cmp(ax, Imm(int32_t(0x80000000u)));
      else { a_.mov(kS, Imm(int64_t(0x8000000000000000ull))); a_.cmp(ax, kS); }
      a_.je(overflow);
      a_.neg(ax);  // x / -1 == -x when x != INT_MIN
    } else {
      a_.xor_(dx.r32(), dx.r32());  // x % -1 == 0
    }
    a_.jmp(done);
    a_.bind(normal);
    if (w == W::k32) a_.cdq(dx, ax); else a_.cqo(dx, ax);
    a_.idiv(dx, ax, r);
  } else {
    a_.xor_(dx.r32(), dx.r32());
    a_.div(dx, ax, r);
  }
  a_.bind(done);
}

void MasmX64::clz(W w, Reg dst, Reg src) {
  auto d = gpw(w, dst), s = gpw(w, src), t = gpw(w, kS.id());
  a_.mov(t, Imm(-1));
  a_.bsr(d, s);
  a_.cmovz(d, t);
  a_.neg(d);
  a_.add(d, Imm(w == W::k64 ? 63 : 31));
}

void MasmX64::ctz(W w, Reg dst, Reg src) {
  auto d = gpw(w, dst), s = gpw(w, src), t = gpw(w, kS.id());
  a_.mov(t, Imm(w == W::k64 ? 64 : 32));
  a_.bsf(d, s);
  a_.cmovz(d, t);
}

void MasmX64::popcnt(W w, Reg dst, Reg src) { a_.popcnt(gpw(w, dst), gpw(w, src)); }

void MasmX64::eqz(W w, Reg dst, Reg src) {
  a_.test(gpw(w, src), gpw(w, src));
  a_.sete(x86::gpb(dst));
  a_.movzx(gp32(dst), x86::gpb(dst));
}

void MasmX64::compare(Cond c, W w, Reg dst, Reg lhs, Reg rhs) {
  a_.cmp(gpw(w, lhs), gpw(w, rhs));
  a_.set(cc_of(c), x86::gpb(dst));
  a_.movzx(gp32(dst), x86::gpb(dst));
}

void MasmX64::compare_imm(Cond c, W w, Reg dst, Reg lhs, int32_t imm) {
  a_.cmp(gpw(w, lhs), Imm(imm));
  a_.set(cc_of(c), x86::gpb(dst));
  a_.movzx(gp32(dst), x86::gpb(dst));
}

void MasmX64::compare_mem(Cond c, W w, Reg dst, Reg lhs, Address rhs) {
  a_.cmp(gpw(w, lhs), mem(rhs, w == W::k64 ? 8 : 4));
  a_.set(cc_of(c), x86::gpb(dst));
  a_.movzx(gp32(dst), x86::gpb(dst));
}

void MasmX64::sign_extend(W w, unsigned from_bits, Reg dst, Reg src) {
  if (from_bits == 8) a_.movsx(gpw(w, dst), x86::gpb(src));
  else if (from_bits == 16) a_.movsx(gpw(w, dst), x86::gpw(src));
  else a_.movsxd(gp(dst), gp32(src));
}

void MasmX64::zero_extend_32(Reg dst, Reg src) { a_.mov(gp32(dst), gp32(src)); }

void MasmX64::select(W w, Reg dst, Reg cond, Reg if_true, Reg if_false) {
  if (dst != if_true) a_.mov(gpw(w, dst), gpw(w, if_true));
  a_.test(gp32(cond), gp32(cond));
  a_.cmovz(gpw(w, dst), gpw(w, if_false));
}

void MasmX64::fselect(Reg dst, Reg cond, Reg if_true, Reg if_false) {
  Label keep = a_.newLabel();
  if (dst != if_true) a_.movaps(xmm(dst), xmm(if_true));
  a_.test(gp32(cond), gp32(cond));
  a_.jnz(keep);
  a_.movaps(xmm(dst), xmm(if_false));
  a_.bind(keep);
}

void MasmX64::branch_zero(W w, Reg r, const Label& l) { a_.test(gpw(w, r), gpw(w, r)); a_.jz(l); }
void MasmX64::branch_nonzero(W w, Reg r, const Label& l) { a_.test(gpw(w, r), gpw(w, r)); a_.jnz(l); }
void MasmX64::cmp_flags(W w, Reg lhs, Reg rhs) { a_.cmp(gpw(w, lhs), gpw(w, rhs)); }
void MasmX64::cmp_flags_imm(W w, Reg lhs, int32_t imm) {
  if (imm == 0) a_.test(gpw(w, lhs), gpw(w, lhs)); else a_.cmp(gpw(w, lhs), Imm(imm));
}
void MasmX64::cmp_flags_mem(W w, Reg lhs, Address rhs) { a_.cmp(gpw(w, lhs), mem(rhs, w == W::k64 ? 8 : 4)); }
void MasmX64::cmov(Cond c, W w, Reg dst, Reg src) { a_.cmov(cc_of(c), gpw(w, dst), gpw(w, src)); }

void MasmX64::branch_cmp(Cond c, W w, Reg lhs, Reg rhs, const Label& l) {
  a_.cmp(gpw(w, lhs), gpw(w, rhs));
  a_.j(cc_of(c), l);
}
void MasmX64::branch_cmp_imm(Cond c, W w, Reg r, int32_t imm, const Label& l) {
  // Against zero, `test r, r` sets ZF/SF like `cmp r, 0` (CF = OF = 0 in both), one byte shorter.
  if (imm == 0) a_.test(gpw(w, r), gpw(w, r));
  else a_.cmp(gpw(w, r), Imm(imm));
  a_.j(cc_of(c), l);
}
void MasmX64::branch_cmp_mem(Cond c, W w, Reg r, Address m, const Label& l) {
  a_.cmp(gpw(w, r), mem(m, w == W::k64 ? 8 : 4));
  a_.j(cc_of(c), l);
}

// A relative jump table (position-independent): entries are 32-bit deltas from the table.
void MasmX64::jump_table(Reg index, const Label* targets, uint32_t n) {
  Label table = a_.newLabel();
  a_.lea(kS, x86::ptr(table));
  a_.movsxd(kS2, x86::dword_ptr(kS, gp(index), 2));
  a_.add(kS, kS2);
  a_.jmp(kS);
  a_.align(AlignMode::kData, 4);
  a_.bind(table);
  for (uint32_t i = 0; i < n; ++i) a_.embedLabelDelta(targets[i], table, 4);
}

void MasmX64::fp_op(FpOp op, FW w, Reg dst, Reg lhs, Reg rhs) {
  bool f32 = w == FW::kF32;
  if (op == FpOp::Copysign) {
    if (f32) {
      a_.movd(kS.r32(), xmm(lhs)); a_.and_(kS.r32(), Imm(0x7FFFFFFF));
      a_.movd(kS2.r32(), xmm(rhs)); a_.and_(kS2.r32(), Imm(int32_t(0x80000000u)));
      a_.or_(kS.r32(), kS2.r32()); a_.movd(xmm(dst), kS.r32());
    } else {
      a_.movq(kS, xmm(lhs)); a_.btr(kS, Imm(63));
      a_.movq(kS2, xmm(rhs)); a_.shr(kS2, Imm(63)); a_.shl(kS2, Imm(63));
      a_.or_(kS, kS2); a_.movq(xmm(dst), kS);
    }
    return;
  }
  bool commutative = op == FpOp::Add || op == FpOp::Mul;
  if (dst != lhs && dst == rhs) {
    if (commutative) std::swap(lhs, rhs);
    else { a_.movaps(kX, xmm(rhs)); rhs = RegsX64::kFpScratch; }
  }
  if (dst != lhs) a_.movaps(xmm(dst), xmm(lhs));
  auto d = xmm(dst), r = xmm(rhs);
  switch (op) {
    case FpOp::Add: f32 ? a_.addss(d, r) : a_.addsd(d, r); break;
    case FpOp::Sub: f32 ? a_.subss(d, r) : a_.subsd(d, r); break;
    case FpOp::Mul: f32 ? a_.mulss(d, r) : a_.mulsd(d, r); break;
    case FpOp::Div: f32 ? a_.divss(d, r) : a_.divsd(d, r); break;
    case FpOp::Min:
    case FpOp::Max: {
      // Spec §4.3.3 fmin/fmax: NaN if either is NaN; fmin(-0,+0) = -0, fmax(-0,+0) = +0.
      // x86 minss/maxss return the second operand for NaNs and equal zeros, so handle both.
      Label nan = a_.newLabel(), normal = a_.newLabel(), done = a_.newLabel();
      f32 ? a_.ucomiss(d, r) : a_.ucomisd(d, r);
      a_.jp(nan);
      a_.jne(normal);
      if (op == FpOp::Min) a_.orps(d, r); else a_.andps(d, r);
      a_.jmp(done);
      a_.bind(normal);
      if (op == FpOp::Min) f32 ? a_.minss(d, r) : a_.minsd(d, r);
      else f32 ? a_.maxss(d, r) : a_.maxsd(d, r);
      a_.jmp(done);
      a_.bind(nan);
      f32 ? a_.addss(d, r) : a_.addsd(d, r);  // a NaN; codegen canonicalises it
      a_.bind(done);
      break;
    }
    case FpOp::Copysign: break;
  }
}

void MasmX64::fp_op_mem(FpOp op, FW w, Reg dst, Reg lhs, Address rhs) {
  bool f32 = w == FW::kF32;
  if (dst != lhs) a_.movaps(xmm(dst), xmm(lhs));
  auto d = xmm(dst);
  x86::Mem m = mem(rhs, f32 ? 4 : 8);
  switch (op) {
    case FpOp::Add: f32 ? a_.addss(d, m) : a_.addsd(d, m); break;
    case FpOp::Sub: f32 ? a_.subss(d, m) : a_.subsd(d, m); break;
    case FpOp::Mul: f32 ? a_.mulss(d, m) : a_.mulsd(d, m); break;
    case FpOp::Div: f32 ? a_.divss(d, m) : a_.divsd(d, m); break;
    default: break;  // codegen never passes Min/Max/Copysign here
  }
}

void MasmX64::fp_unop(FpUnOp op, FW w, Reg dst, Reg src) {
  bool f32 = w == FW::kF32;
  auto d = xmm(dst), s = xmm(src);
  switch (op) {
    case FpUnOp::Abs:
    case FpUnOp::Neg:
      // Bit operations (spec: abs/neg never canonicalise NaNs).
      if (f32) {
        a_.movd(kS.r32(), s);
        if (op == FpUnOp::Abs) a_.and_(kS.r32(), Imm(0x7FFFFFFF));
        else a_.xor_(kS.r32(), Imm(int32_t(0x80000000u)));
        a_.movd(d, kS.r32());
      } else {
        a_.movq(kS, s);
        if (op == FpUnOp::Abs) a_.btr(kS, Imm(63)); else a_.btc(kS, Imm(63));
        a_.movq(d, kS);
      }
      break;
    case FpUnOp::Sqrt:
      if (dst != src) a_.xorps(d, d);  // sqrts/rounds write the low lane only: no false dependency
      f32 ? a_.sqrtss(d, s) : a_.sqrtsd(d, s);
      break;
    // roundss immediates: bit 3 suppresses the precision exception; low bits = mode.
    case FpUnOp::Ceil:
      if (dst != src) a_.xorps(d, d);
      f32 ? a_.roundss(d, s, Imm(0x0A)) : a_.roundsd(d, s, Imm(0x0A)); break;
    case FpUnOp::Floor:
      if (dst != src) a_.xorps(d, d);
      f32 ? a_.roundss(d, s, Imm(0x09)) : a_.roundsd(d, s, Imm(0x09)); break;
    case FpUnOp::Trunc:
      if (dst != src) a_.xorps(d, d);
      f32 ? a_.roundss(d, s, Imm(0x0B)) : a_.roundsd(d, s, Imm(0x0B)); break;
    case FpUnOp::Nearest:
      if (dst != src) a_.xorps(d, d);
      f32 ? a_.roundss(d, s, Imm(0x08)) : a_.roundsd(d, s, Imm(0x08)); break;
  }
}

// Determinism (docs/design.md): a NaN result of float arithmetic becomes the canonical NaN.
void MasmX64::canonicalize_nan(FW w, Reg r) {
  Label ok = a_.newLabel();
  if (w == FW::kF32) {
    a_.ucomiss(xmm(r), xmm(r));
    a_.jnp(ok);
    a_.mov(kS.r32(), Imm(0x7FC00000));
    a_.movd(xmm(r), kS.r32());
  } else {
    a_.ucomisd(xmm(r), xmm(r));
    a_.jnp(ok);
    a_.mov(kS, Imm(int64_t(0x7FF8000000000000ull)));
    a_.movq(xmm(r), kS);
  }
  a_.bind(ok);
}

void MasmX64::branch_if_nan(FW w, Reg r, const Label& l) {
  if (w == FW::kF32) a_.ucomiss(xmm(r), xmm(r)); else a_.ucomisd(xmm(r), xmm(r));
  a_.jp(l);  // unordered with itself <=> NaN
}

void MasmX64::load_canonical_nan(FW w, Reg r) {
  if (w == FW::kF32) { a_.mov(kS.r32(), Imm(0x7FC00000)); a_.movd(xmm(r), kS.r32()); }
  else { a_.mov(kS, Imm(int64_t(0x7FF8000000000000ull))); a_.movq(xmm(r), kS); }
}

void MasmX64::fp_compare(FpCond c, FW w, Reg dst, Reg lhs, Reg rhs) {
  bool f32 = w == FW::kF32;
  auto cmp = [&](Reg a, Reg b) { f32 ? a_.ucomiss(xmm(a), xmm(b)) : a_.ucomisd(xmm(a), xmm(b)); };
  auto d8 = x86::gpb(dst);
  switch (c) {
    case FpCond::Eq: cmp(lhs, rhs); a_.sete(d8); a_.setnp(kS.r8()); a_.and_(d8, kS.r8()); break;
    case FpCond::Ne: cmp(lhs, rhs); a_.setne(d8); a_.setp(kS.r8()); a_.or_(d8, kS.r8()); break;
    // Unordered sets ZF=PF=CF=1, so "above"/"above or equal" are false for NaNs.
    case FpCond::Lt: cmp(rhs, lhs); a_.seta(d8); break;
    case FpCond::Gt: cmp(lhs, rhs); a_.seta(d8); break;
    case FpCond::Le: cmp(rhs, lhs); a_.setae(d8); break;
    case FpCond::Ge: cmp(lhs, rhs); a_.setae(d8); break;
  }
  a_.movzx(gp32(dst), d8);
}

void MasmX64::promote(Reg dst, Reg src) {
  if (dst != src) a_.xorps(xmm(dst), xmm(dst));  // low-lane write: no false dependency on dst
  a_.cvtss2sd(xmm(dst), xmm(src));
}
void MasmX64::demote(Reg dst, Reg src) {
  if (dst != src) a_.xorps(xmm(dst), xmm(dst));
  a_.cvtsd2ss(xmm(dst), xmm(src));
}

void MasmX64::int_to_fp(FW to, W from, bool is_signed, Reg dst, Reg src) {
  bool f32 = to == FW::kF32;
  auto d = xmm(dst);
  auto cvt = [&](const x86::Gp& g) { f32 ? a_.cvtsi2ss(d, g) : a_.cvtsi2sd(d, g); };
  a_.xorps(d, d);  // breaks the false dependency on dst's upper bits
  if (is_signed) { cvt(gpw(from, src)); return; }
  if (from == W::k32) { a_.mov(kS.r32(), gp32(src)); cvt(kS); return; }
  // u64: values >= 2^63 are halved with the low bit kept sticky (round-to-odd), converted, doubled.
  Label big = a_.newLabel(), done = a_.newLabel();
  a_.test(gp(src), gp(src));
  a_.js(big);
  cvt(gp(src));
  a_.jmp(done);
  a_.bind(big);
  a_.mov(kS, gp(src)); a_.shr(kS, Imm(1));
  a_.mov(kS2, gp(src)); a_.and_(kS2.r32(), Imm(1));
  a_.or_(kS, kS2);
  cvt(kS);
  f32 ? a_.addss(d, d) : a_.addsd(d, d);
  a_.bind(done);
}

void MasmX64::load_fconst_scratch(FW w, double value, Reg scratch) {
  (void)w;
  a_.mov(kS, Imm(int64_t(double_bits(value))));
  a_.movq(xmm(scratch), kS);
}

// Spec §4.3.3 trunc_s/trunc_u (trapping) and trunc_sat: the input is widened exactly to f64,
// range-checked against exclusive bounds, then converted with cvttsd2si which cannot overflow.
void MasmX64::fp_to_int(TruncKind k, Reg dst, Reg src, const Label& invalid, const Label& overflow) {
  const Reg bound = RegsX64::kFpScratch2;
  if (k.from == FW::kF32) a_.cvtss2sd(kX, xmm(src)); else a_.movaps(kX, xmm(src));
  double lo, hi;
  if (k.to == W::k32) { lo = k.is_signed ? -2147483649.0 : -1.0; hi = k.is_signed ? 2147483648.0 : 4294967296.0; }
  else { lo = k.is_signed ? -9223372036854777856.0 : -1.0; hi = k.is_signed ? 9223372036854775808.0 : 18446744073709551616.0; }
  Label done = a_.newLabel();
  Label nan_lbl = k.saturating ? a_.newLabel() : invalid;
  Label low_lbl = k.saturating ? a_.newLabel() : overflow;
  Label high_lbl = k.saturating ? a_.newLabel() : overflow;
  a_.ucomisd(kX, kX);
  a_.jp(nan_lbl);
  load_fconst_scratch(FW::kF64, lo, bound);
  a_.ucomisd(kX, kX2);
  a_.jbe(low_lbl);
  load_fconst_scratch(FW::kF64, hi, bound);
  a_.ucomisd(kX, kX2);
  a_.jae(high_lbl);
  if (k.to == W::k32) {
    if (k.is_signed) a_.cvttsd2si(gp32(dst), kX);
    else { a_.cvttsd2si(gp(dst), kX); a_.mov(gp32(dst), gp32(dst)); }
  } else if (k.is_signed) {
    a_.cvttsd2si(gp(dst), kX);
  } else {
    Label big = a_.newLabel();
    load_fconst_scratch(FW::kF64, 9223372036854775808.0, bound);
    a_.ucomisd(kX, kX2);
    a_.jae(big);
    a_.cvttsd2si(gp(dst), kX);
    a_.jmp(done);
    a_.bind(big);
    a_.subsd(kX, kX2);
    a_.cvttsd2si(gp(dst), kX);
    a_.btc(gp(dst), Imm(63));
  }
  if (k.saturating) {
    uint64_t min = k.is_signed ? (k.to == W::k32 ? 0x80000000ull : 0x8000000000000000ull) : 0;
    uint64_t max = k.to == W::k32 ? (k.is_signed ? 0x7FFFFFFFull : 0xFFFFFFFFull)
                                  : (k.is_signed ? 0x7FFFFFFFFFFFFFFFull : ~0ull);
    W w = k.to;
    a_.jmp(done);
    a_.bind(nan_lbl);
    mov_imm(w, dst, 0);
    a_.jmp(done);
    a_.bind(low_lbl);
    mov_imm(w, dst, min);
    a_.jmp(done);
    a_.bind(high_lbl);
    mov_imm(w, dst, max);
  }
  a_.bind(done);
}

uint32_t MasmX64::sub_sp_patchable() {
  static const uint8_t kSubRspImm32[7] = {0x48, 0x81, 0xEC, 0, 0, 0, 0};
  uint32_t at = offset() + 3;
  a_.embed(kSubRspImm32, sizeof(kSubRspImm32));
  return at;
}

void MasmX64::add_mem_imm(W w, Address m, int32_t imm) { a_.add(mem(m, w == W::k64 ? 8 : 4), Imm(imm)); }
void MasmX64::sub_mem_imm(W w, Address m, int32_t imm) { a_.sub(mem(m, w == W::k64 ? 8 : 4), Imm(imm)); }

void MasmX64::zero_fill(Address start, uint32_t n_qwords) {
  if (n_qwords <= 64) {
    // Unrolled 16-byte stores of a zeroed scratch register: `rep stos` costs tens of cycles to
    // start, paid on every call of a function with many locals.
    a_.xorps(kX, kX);
    uint32_t k = 0;
    for (; k + 2 <= n_qwords; k += 2) a_.movups(x86::xmmword_ptr(gp(start.base), start.disp + int32_t(8 * k)), kX);
    if (k < n_qwords) a_.movsd(x86::qword_ptr(gp(start.base), start.disp + int32_t(8 * k)), kX);
    return;
  }
  a_.lea(x86::rdi, mem(start));
  a_.mov(x86::ecx, Imm(n_qwords));
  a_.xor_(x86::eax, x86::eax);
  a_.rep().stosq();
}


// Trap exit (docs/runtime-abi.md "Traps"): act = ctx->store->activation; act->trap_code = code;
// act->trap_pc = r10; sp = act->entry_sp; jump act->landing. Out of gas additionally sets
// gas_used = gas_limit (docs/design.md "Gas and stack semantics").
void MasmX64::trap_exit(uint32_t trap_code, bool out_of_gas) {
  // Out of gas: nothing left (the trampoline's landing writes gas_used = gas_limit - kGasReg).
  if (out_of_gas) a_.xor_(gp32(RegsX64::kGasReg), gp32(RegsX64::kGasReg));
  a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kStore));
  a_.mov(kS, x86::qword_ptr(kS, rt_offsets::kActivation));
  a_.mov(x86::dword_ptr(kS, rt_offsets::kTrapCode), Imm(trap_code));
  a_.mov(x86::qword_ptr(kS, rt_offsets::kTrapPc), kS2);
  a_.mov(x86::qword_ptr(kS, rt_offsets::kSavedFp), x86::rbp);
  a_.mov(x86::rsp, x86::qword_ptr(kS, rt_offsets::kEntrySp));
  a_.jmp(x86::qword_ptr(kS, rt_offsets::kLanding));
}

void MasmX64::trap_exit_with_code_in_return_reg() {
  a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kStore));
  a_.mov(kS, x86::qword_ptr(kS, rt_offsets::kActivation));
  a_.mov(x86::dword_ptr(kS, rt_offsets::kTrapCode), x86::eax);
  a_.mov(x86::qword_ptr(kS, rt_offsets::kTrapPc), kS2);
  a_.mov(x86::qword_ptr(kS, rt_offsets::kSavedFp), x86::rbp);
  a_.mov(x86::rsp, x86::qword_ptr(kS, rt_offsets::kEntrySp));
  a_.jmp(x86::qword_ptr(kS, rt_offsets::kLanding));
}

// STACK (docs/design.md): this frame's budget = the caller's budget - frame_cost, trapping
// (without taking it) when that would go below zero. The budget lives in each frame's
// kBudgetSlot, not in one store counter: a counter updated on every call and return was one
// serial chain through memory (store-forwarding latency twice per call), the dominant cost of
// call-heavy code. Nothing is given back at return: the slot dies with the frame. The entry
// trampoline seeds its own slot from store->stack_remaining, and the host-call stub publishes
// its caller's budget there for re-entrant calls (stubs_x64.cpp).
void MasmX64::stack_check(uint32_t frame_cost, const Label& overflow) {
  a_.mov(kS, x86::qword_ptr(x86::rbp));  // the caller's frame (a wasm function or a stub)
  a_.mov(kS2, x86::qword_ptr(kS, FrameLayout::kBudgetSlot));
  a_.sub(kS2, Imm(int64_t(frame_cost)));
  a_.jl(overflow);
  a_.mov(x86::qword_ptr(x86::rbp, FrameLayout::kBudgetSlot), kS2);
}

// GAS: the gas left is in kGasReg; a block costing more than is left traps OUT_OF_GAS without
// being charged (the runtime then sets gas_used = gas_limit). Exact for any u64 cost.
void MasmX64::charge_gas(uint64_t cost, const Label& out_of_gas) {
  auto g = gp(RegsX64::kGasReg);
  if (cost <= 0x7FFFFFFFull) {
    a_.sub(g, Imm(int32_t(cost)));
  } else {
    a_.mov(kS, Imm(int64_t(cost)));
    a_.sub(g, kS);
  }
  a_.jb(out_of_gas);  // borrow: cost > gas left
}

// Interrupts (unmetered code only): one compare of the vmctx's flag, not taken unless another
// thread asked this Store to stop.
void MasmX64::interrupt_check(const Label& interrupted) {
  a_.cmp(x86::dword_ptr(x86::r14, rt::kVmctxInterruptOffset), 0);
  a_.jne(interrupted);
}

// Around runtime helpers (which read and charge the Store's gas): publish gas_used, reload after.
void MasmX64::gas_to_store() {
  a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kStore));
  a_.mov(kS2, x86::qword_ptr(kS, rt_offsets::kGasLimit));
  a_.sub(kS2, gp(RegsX64::kGasReg));
  a_.mov(x86::qword_ptr(kS, rt_offsets::kGasUsed), kS2);
}

void MasmX64::gas_from_store() {
  auto g = gp(RegsX64::kGasReg);
  a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kStore));
  a_.mov(g, x86::qword_ptr(kS, rt_offsets::kGasLimit));
  a_.sub(g, x86::qword_ptr(kS, rt_offsets::kGasUsed));
}

void MasmX64::prologue() {
  a_.push(x86::rbp);
  a_.mov(x86::rbp, x86::rsp);
}

void MasmX64::epilogue_return() {
  a_.mov(x86::rsp, x86::rbp);
  a_.pop(x86::rbp);
  a_.ret();
}

// A call into a RuntimeHelpers entry in the host C ABI of the target (Win64 or SysV; Darwin
// x86_64 is SysV). Arguments: vmctx, then `n_args` 8-byte
// values from the outgoing argument area at [sp + 8*i]. The result is left in eax/rax.
void MasmX64::call_helper(int32_t helper_offset, uint32_t n_args) {
  if (abi_ == OsAbi::Win64) {
    static const x86::Gp kArgRegs[] = {x86::rcx, x86::rdx, x86::r8, x86::r9};
    const int32_t kShadow = 48;  // 32-byte shadow space + 2 stack arguments, 16-aligned
    a_.sub(x86::rsp, Imm(kShadow));
    a_.mov(kArgRegs[0], x86::r14);
    for (uint32_t i = 0; i < n_args; ++i) {
      x86::Mem src = x86::qword_ptr(x86::rsp, kShadow + int32_t(8 * i));
      if (i + 1 < 4) a_.mov(kArgRegs[i + 1], src);
      else { a_.mov(kS, src); a_.mov(x86::qword_ptr(x86::rsp, 32 + int32_t(8 * (i + 1 - 4))), kS); }
    }
    a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kHelpers));
    a_.call(x86::qword_ptr(kS, helper_offset));
    a_.add(x86::rsp, Imm(kShadow));
    return;
  }
  static const x86::Gp kArgRegs[] = {x86::rdi, x86::rsi, x86::rdx, x86::rcx, x86::r8, x86::r9};
  a_.mov(kArgRegs[0], x86::r14);
  for (uint32_t i = 0; i < n_args && i + 1 < 6; ++i)
    a_.mov(kArgRegs[i + 1], x86::qword_ptr(x86::rsp, int32_t(8 * i)));
  a_.mov(kS, x86::qword_ptr(x86::r14, rt_offsets::kHelpers));
  a_.call(x86::qword_ptr(kS, helper_offset));
}

}  // namespace nvm::jit::x64
