// regs_x64.h — the x64 register file as data (docs/design.md "JIT structure").
//
// Internal calling convention (docs/runtime-abi.md): vmctx in r14, arguments in memory, every
// register except rsp/rbp caller-saved. r10/r11 and xmm14/xmm15 are the masm's scratch set: the
// allocator never hands them out. rax/rdx (div/rem) and rcx (shift counts) are allocatable and
// reserved through the allocator by codegen before it calls the masm.
#pragma once

#include <cstdint>

#include "jit/masm.h"

namespace nvm::jit::x64 {

inline constexpr Reg rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7;
inline constexpr Reg r8 = 8, r9 = 9, r10 = 10, r11 = 11, r12 = 12, r13 = 13, r14 = 14, r15 = 15;
inline constexpr Reg xmm(unsigned i) { return reg_of(RegClass::Fp, i); }

struct RegsX64 {
  static constexpr unsigned kNumGpRegs = 16;  // rax..r15
  static constexpr unsigned kNumFpRegs = 16;  // xmm0..xmm15
  static constexpr Reg kVmctx = r14;          // pinned: current VMContext
  // Pinned in functions of modules with a memory: vmctx->memory_base. Set by whoever enters an
  // instance (the entry trampoline; call sites of imports and call_indirect, which also reload it
  // after the call). The base of an instance never changes (the memory is a fixed reservation,
  // memory.grow only commits pages), direct calls stay in the instance, and host helpers preserve
  // it (callee-saved in SysV and Win64), so nothing else reloads it. Allocatable in memory-less
  // modules.
  static constexpr Reg kMemBase = r15;
  static constexpr Reg kFramePointer = rbp;
  static constexpr Reg kStackPointer = rsp;
  static constexpr Reg kScratch = r11;        // masm scratch (never allocated)
  static constexpr Reg kScratch2 = r10;
  static constexpr Reg kFpScratch = xmm(15);
  static constexpr Reg kFpScratch2 = xmm(14);
  // Local homes: the hottest declared i32/i64 locals of a function live in these registers for
  // the whole body (codegen_impl.h choose_homes). They are callee-saved in the internal convention
  // (a function saves the caller's value in the homed local's own frame slot, which is otherwise
  // unused, and restores it before returning). rbx/r12/r13 are callee-saved in both host ABIs
  // too (so host helpers and the host-call stub preserve them). Never allocatable.
  // r8/r9 and the float homes are volatile in a host ABI (kHostVolatileHomes): the host-call
  // stub preserves them for its wasm caller, and codegen saves them around runtime-helper calls,
  // so every wasm-convention callee preserves every home register.
  static constexpr Reg kLocalHomes[] = {rbx, r12, r13, r8, r9};
  static constexpr uint32_t kNumLocalHomes = 5;
  // Metered code (bytecode GAS flag) keeps the gas left (gas_limit - gas_used) here for the whole
  // execution instead of charging a Store counter in memory: it is then not a local home. Callee-
  // saved in both host ABIs, so host code preserves it (docs/runtime-abi.md "Gas").
  static constexpr Reg kGasReg = r13;
  // Float local homes (f32/f64), callee-saved between wasm functions like the GP homes. Float
  // code keeps many values in locals (clang's output for a loop nest of f64 math has dozens), so
  // six registers are homes and eight stay allocatable for the operand stack.
  static constexpr Reg kFpLocalHomes[] = {xmm(13), xmm(12), xmm(11), xmm(10), xmm(9), xmm(8)};
  static constexpr uint32_t kNumFpLocalHomes = 6;
  // Home registers a host C function may clobber (SysV: all of these; Win64 keeps xmm6-15, but
  // one list for both ABIs keeps the generated code identical across OSes).
  static constexpr Reg kHostVolatileHomes[] = {r8, r9, xmm(8), xmm(9), xmm(10), xmm(11), xmm(12), xmm(13)};
  static constexpr uint32_t kNumHostVolatileHomes = 8;
  // Allocatable: every GP except rsp, rbp, r10, r11, r14 and the local homes; xmm0..xmm7.
  static constexpr uint32_t kGpAllocatable =
      (1u << rax) | (1u << rcx) | (1u << rdx) | (1u << rsi) | (1u << rdi) | (1u << r15);
  static constexpr uint32_t kFpAllocatable = 0x00FFu;  // xmm0..xmm7 (bit i = xmm i)
  // Fixed registers required by instructions, reserved through the allocator.
  static constexpr Reg kDivDividend = rax;   // div/idiv: rdx:rax / r -> quotient rax
  static constexpr Reg kDivRemainder = rdx;  //                        remainder rdx
  static constexpr Reg kShiftCount = rcx;    // shl/shr/sar/rol/ror by cl
  static constexpr bool kShiftNeedsFixedCount = true;
  static constexpr bool kDivNeedsFixedRegs = true;
  // Integer results of runtime helpers (host C ABI: rax in SysV and Win64).
  static constexpr Reg kReturnReg = rax;
};

}  // namespace nvm::jit::x64
