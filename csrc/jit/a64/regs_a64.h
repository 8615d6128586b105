// regs_a64.h — the aarch64 register file as data (the x64 counterpart is x64/regs_x64.h).
//
// AAPCS64 (Linux and Apple): x0-x7 arguments/results, x8-x17 temporaries (x16/x17 the
// intra-procedure-call scratch registers), x18 the platform register (reserved on Apple and
// Windows: never used here), x19-x28 callee-saved, x29 frame pointer, x30 link register; v8-v15
// callee-saved in their low 64 bits, every other vector register caller-saved.
#pragma once

#include <cstdint>

#include "jit/masm.h"

namespace nvm::jit::a64 {

inline constexpr Reg x(unsigned i) { return reg_of(RegClass::Gp, i); }
inline constexpr Reg v(unsigned i) { return reg_of(RegClass::Fp, i); }
// The stack pointer has GP id 31 (its encoding in address bases; never an ALU operand here).
inline constexpr Reg kSp = 31;

struct RegsA64 {
  static constexpr unsigned kNumGpRegs = 32;  // x0..x30 + sp
  static constexpr unsigned kNumFpRegs = 32;  // v0..v31
  // Pinned, all callee-saved in AAPCS64, so host helpers and the host-call stub's dispatch
  // preserve them with no code (docs/runtime-abi.md).
  static constexpr Reg kVmctx = x(20);
  static constexpr Reg kMemBase = x(21);
  static constexpr Reg kGasReg = x(22);
  static constexpr Reg kFramePointer = x(29);
  static constexpr Reg kStackPointer = kSp;
  // Codegen-visible scratch (the intra-procedure-call registers; never allocated).
  static constexpr Reg kScratch = x(16);
  static constexpr Reg kScratch2 = x(17);
  static constexpr Reg kFpScratch = v(31);
  static constexpr Reg kFpScratch2 = v(30);
  // Private to the masm (never named to codegen, never allocated): x15 forms addresses that no
  // instruction encodes, x14 holds immediates and intermediate values, v29 vector temporaries.
  static constexpr Reg kAddrTemp = x(15);
  static constexpr Reg kValTemp = x(14);
  static constexpr Reg kFpTemp = v(29);
  // Local homes: callee-saved in AAPCS64 as in the internal convention, so no host code can
  // clobber them and kHostVolatileHomes is empty. x22 holds the gas left in metered code and is
  // then skipped (codegen choose_homes), as r13 is on x64.
  static constexpr Reg kLocalHomes[] = {x(22), x(23), x(24), x(25), x(26), x(27), x(28)};
  static constexpr uint32_t kNumLocalHomes = 7;
  // d8-d15 are preserved (their low 64 bits, all an f32/f64 needs) by host code.
  static constexpr Reg kFpLocalHomes[] = {v(8), v(9), v(10), v(11), v(12), v(13), v(14), v(15)};
  static constexpr uint32_t kNumFpLocalHomes = 8;
  // No home is volatile in the host ABI. A zero-length array is not C++, so the list holds one
  // unused entry and the count says 0 (codegen and the stubs only index below the count).
  static constexpr Reg kHostVolatileHomes[1] = {kNoReg};
  static constexpr uint32_t kNumHostVolatileHomes = 0;
  // Allocatable: x0..x13 (x14/x15 private, x16/x17 scratch, x18 platform, x19.. callee-saved
  // pinned or homes); v0..v7 and v16..v28.
  static constexpr uint32_t kGpAllocatable = 0x3FFFu;
  static constexpr uint32_t kFpAllocatable = 0x000000FFu | 0x1FFF0000u;
  // No instruction needs a fixed register: sdiv/udiv, lslv/asrv/lsrv/rorv take any registers.
  static constexpr bool kShiftNeedsFixedCount = false;
  static constexpr bool kDivNeedsFixedRegs = false;
  static constexpr Reg kDivDividend = kNoReg;
  static constexpr Reg kDivRemainder = kNoReg;
  static constexpr Reg kShiftCount = kNoReg;
  static constexpr Reg kReturnReg = x(0);
};

}  // namespace nvm::jit::a64
