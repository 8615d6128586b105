// traits_a64.h — the aarch64 answers to the backend contract's questions (jit/masm.h). No
// asmjit: codegen and unit tests read it as plain data.
#pragma once

#include <cstdint>
#include <cstring>

#include "jit/a64/regs_a64.h"
#include "jit/masm.h"

namespace nvm::jit::a64 {

// Whether `v` (of `width` bits) is an AArch64 bitmask immediate (AND/ORR/EOR/TST): a rotated run
// of ones inside an element of 2, 4, ..., width bits, repeated across the register.
constexpr bool is_logical_imm(uint64_t v, unsigned width) {
  if (width == 32) v &= 0xFFFFFFFFull;
  const uint64_t all = width == 64 ? ~0ull : 0xFFFFFFFFull;
  if (v == 0 || v == all) return false;
  unsigned e = width;
  // The smallest element size the pattern repeats with.
  while (e > 2) {
    unsigned h = e / 2;
    uint64_t mask = (uint64_t(1) << h) - 1;
    if ((v & mask) != ((v >> h) & mask)) break;
    bool repeats = true;
    for (unsigned i = h; i < width; i += h)
      if (((v >> i) & mask) != (v & mask)) { repeats = false; break; }
    if (!repeats) break;
    e = h;
  }
  const uint64_t emask = e == 64 ? ~0ull : (uint64_t(1) << e) - 1;
  const uint64_t elem = v & emask;
  for (unsigned r = 0; r < e; ++r) {
    uint64_t rot = r == 0 ? elem : (((elem >> r) | (elem << (e - r))) & emask);
    if (rot != 0 && rot != emask && (rot & (rot + 1)) == 0) return true;  // 0..01..1
  }
  return false;
}
// An ADD/SUB/CMP immediate: 12 bits, optionally shifted left by 12.
constexpr bool is_addsub_imm(uint64_t v) { return v < 4096 || ((v & 0xFFF) == 0 && v < (uint64_t(1) << 24)); }

struct TraitsA64 : RegsA64 {
  static constexpr Isa kIsa = Isa::A64;

  // ---- immediates ---------------------------------------------------------------------------
  // The masm receives immediates as int32_t (sign-extended for 64-bit operations), so an
  // immediate must also be an int32 for i64 operations.
  static constexpr bool fits_int32(uint64_t bits) {
    return int64_t(bits) >= INT32_MIN && int64_t(bits) <= INT32_MAX;
  }
  static constexpr uint64_t value_of(W w, uint64_t bits) { return w == W::k32 ? (bits & 0xFFFFFFFFull) : bits; }
  static constexpr uint64_t negated(W w, uint64_t bits) { return value_of(w, 0 - bits); }
  static constexpr bool alu_imm_ok(IntOp op, W w, uint64_t bits) {
    if (w == W::k64 && !fits_int32(bits)) return false;
    uint64_t v = value_of(w, bits);
    switch (op) {
      case IntOp::Add: case IntOp::Sub: return is_addsub_imm(v) || is_addsub_imm(negated(w, bits));
      case IntOp::And: case IntOp::Or: case IntOp::Xor: return is_logical_imm(v, w == W::k32 ? 32 : 64);
      case IntOp::Mul: return false;
    }
    return false;
  }
  static constexpr bool cmp_imm_ok(W w, uint64_t bits) {
    if (w == W::k64 && !fits_int32(bits)) return false;
    return is_addsub_imm(value_of(w, bits)) || is_addsub_imm(negated(w, bits));
  }
  // Stores have no immediate form; zero is the zero register.
  static constexpr bool store_imm_ok(StoreKind k, uint64_t bits) {
    unsigned n = access_size(k);
    uint64_t mask = n == 8 ? ~0ull : (uint64_t(1) << (8 * n)) - 1;
    return (bits & mask) == 0;
  }
  // Slot writes (never trap sites) may materialise the value in a private temporary: the same
  // sign-extended-int32 rule as x64, so codegen's choice between the forms is ISA-independent.
  static constexpr bool slot_imm_ok(uint64_t bits, bool wide) {
    return bits <= 0x7FFFFFFFull || (wide && int64_t(bits) >= INT32_MIN && int64_t(bits) < 0);
  }

  // ---- addresses and memory operands --------------------------------------------------------
  // One load/store encodes [base, #imm] (unsigned imm12 scaled by the size, or signed imm9
  // unscaled) or [base, Xindex{, lsl #log2(size)}] — never an index and a displacement together.
  static constexpr unsigned log2_size(unsigned size) { return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0; }
  static constexpr bool disp_ok(int32_t disp, unsigned size) {
    return (disp >= -256 && disp <= 255) ||
           (disp >= 0 && disp % int32_t(size) == 0 && disp / int32_t(size) < 4096);
  }
  static constexpr bool address_ok(Address a, unsigned size) {
    if (a.index == kNoReg) return disp_ok(a.disp, size);
    return a.disp == 0 && (a.shift == 0 || a.shift == log2_size(size));
  }
  static constexpr bool kAluMemOperand = false;  // load/store architecture
  static constexpr bool kFpMemOperand = false;
  static constexpr bool kCmpMemOperand = false;

  // ---- frame ----------------------------------------------------------------------------------
  // The prologue reserves the frame with `movz x16, #lo; movk x16, #hi, lsl #16; sub sp, sp, x16`
  // (MasmA64::sub_sp_patchable): the two 16-bit immediates (bits 5..20) are patched.
  static constexpr uint64_t kMaxFrameSize = 0x7FFFFFF0ull;
  static void patch_frame_size(uint8_t* code, uint32_t at, uint64_t frame_size) {
    for (unsigned k = 0; k < 2; ++k) {
      uint32_t insn;
      std::memcpy(&insn, code + at + 4 * k, 4);
      insn = (insn & ~(0xFFFFu << 5)) | (uint32_t((frame_size >> (16 * k)) & 0xFFFF) << 5);
      std::memcpy(code + at + 4 * k, &insn, 4);
    }
  }

  // ---- branches -----------------------------------------------------------------------------
  // b.cond / cbz / cbnz reach ±1 MiB (imm19 words).
  static constexpr uint64_t kCondBranchRange = uint64_t(1) << 20;

  // ---- entry prefix (masm.h kEntryArgSlotsOffset) -----------------------------------------------
  static constexpr uint32_t kCodeAlign = 16;
  static constexpr uint32_t kEntryPrefixSize = 16;
  static constexpr uint8_t kEntryPrefixFill[4] = {0, 0, 0, 0};  // udf #0
};

static_assert(check_backend_traits<TraitsA64>());
static_assert(is_logical_imm(0xFF, 32) && is_logical_imm(0x7FFFFFFF, 32) && is_logical_imm(0x80000000, 32) &&
              is_logical_imm(0x5555555555555555ull, 64) && !is_logical_imm(0x12345, 32) && !is_logical_imm(0, 64),
              "bitmask immediates");

}  // namespace nvm::jit::a64
