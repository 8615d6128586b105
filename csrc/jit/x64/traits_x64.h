// traits_x64.h — the x64 answers to the backend contract's questions (jit/masm.h): the register
// file (regs_x64.h) plus immediate ranges, addressing modes, memory operands, frame-size
// patching and the entry prefix. No asmjit: codegen and unit tests read it as plain data.
#pragma once

#include <cstdint>
#include <cstring>

#include "jit/masm.h"
#include "jit/x64/regs_x64.h"

namespace nvm::jit::x64 {

struct TraitsX64 : RegsX64 {
  static constexpr Isa kIsa = Isa::X64;

  // ---- immediates ---------------------------------------------------------------------------
  // ALU and compare immediates are imm32, sign-extended in 64-bit operations (so an i32 op takes
  // any 32-bit value, an i64 op the values of int32). The masm receives them as int32_t.
  static constexpr bool fits_int32(uint64_t bits) {
    return int64_t(bits) >= INT32_MIN && int64_t(bits) <= INT32_MAX;
  }
  static constexpr bool alu_imm_ok(IntOp, W w, uint64_t bits) { return w == W::k32 || fits_int32(bits); }
  static constexpr bool cmp_imm_ok(W w, uint64_t bits) { return w == W::k32 || fits_int32(bits); }
  // `mov [m], imm` of a store's width: narrow stores take any value of their width, 8-byte stores
  // a sign-extended imm32.
  static constexpr bool store_imm_ok(StoreKind k, uint64_t bits) {
    return !(k == StoreKind::B64 || k == StoreKind::F64) || fits_int32(bits);
  }
  // A constant written as a whole 8-byte slot with one sign-extending `mov qword [m], imm32`:
  // any value below 2^31, and for 8-byte values the negative int32 ones too (a 4-byte value
  // >= 2^31 would get a nonzero upper half).
  static constexpr bool slot_imm_ok(uint64_t bits, bool wide) {
    return bits <= 0x7FFFFFFFull || (wide && int64_t(bits) >= INT32_MIN && int64_t(bits) < 0);
  }

  // ---- addresses and memory operands --------------------------------------------------------
  // [base + index*2^shift + disp32] is one operand of any load, store or ALU instruction.
  static constexpr bool address_ok(Address, unsigned /*size*/) { return true; }
  static constexpr bool kAluMemOperand = true;  // add/sub/imul/and/or/xor r, [m]
  static constexpr bool kFpMemOperand = true;   // adds/subs/muls/divs xmm, [m]
  static constexpr bool kCmpMemOperand = true;  // cmp r, [m]

  // ---- frame ----------------------------------------------------------------------------------
  // The prologue's `sub rsp, imm32` (MasmX64::sub_sp_patchable) is patched once the body is
  // compiled: the 4 immediate bytes at `at`.
  static constexpr uint64_t kMaxFrameSize = 0x7FFFFFF0ull;
  static void patch_frame_size(uint8_t* code, uint32_t at, uint64_t frame_size) {
    uint32_t v = uint32_t(frame_size);
    std::memcpy(code + at, &v, 4);
  }

  // ---- branches -----------------------------------------------------------------------------
  // jcc rel32 reaches ±2 GiB, beyond any code buffer: no long form is ever needed.
  static constexpr uint64_t kCondBranchRange = uint64_t(1) << 31;

  // ---- entry prefix (masm.h kEntryArgSlotsOffset) -----------------------------------------------
  static constexpr uint32_t kCodeAlign = 16;
  static constexpr uint32_t kEntryPrefixSize = 16;
  static constexpr uint8_t kEntryPrefixFill[4] = {0xCC, 0xCC, 0xCC, 0xCC};  // int3
};

static_assert(check_backend_traits<TraitsX64>());

}  // namespace nvm::jit::x64
