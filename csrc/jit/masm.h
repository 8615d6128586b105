// masm.h — the backend contract: what ISA-neutral codegen (codegen_impl.h) may ask of an ISA
// backend, and what it must ask the backend before asking. Winch's MacroAssembler trait and
// Liftoff's per-ISA assembler headers are the models.
//
// A backend is two things, selected at compile time (codegen is a template over the masm, so a
// backend pays nothing for the indirection — no virtual calls, no run-time ISA tests):
//
//  1. `Masm::Traits`, a struct of constants and constexpr functions (checked by
//     check_backend_traits below): the register file (ids, sizes, pinned, scratch, allocatable,
//     local homes, fixed registers per operation) and the ISA's answers to the questions
//     codegen must not answer itself — which immediates an operation encodes, which addresses
//     a memory access encodes, which operations take a memory operand, how the frame size is
//     patched into the prologue, what the bytes before a function's entry look like.
//     x64/regs_x64.h + x64/traits_x64.h are the x64 answers.
//  2. `Masm`, the operations (three-operand form, Winch's rule: `op(dst, lhs, rhs)`; a
//     two-operand ISA does its own `dst == lhs` shuffling). The operation list is declared once,
//     NVM_MASM_OPERATIONS at the end of this file, which every backend class expands in its
//     public section (so every backend has the same names and signatures) and defines in its
//     .cpp; codegen calls nothing else (no raw assembler access).
//
// Rules codegen relies on, and a backend must keep:
//  - A masm operation clobbers only its `dst` and the Traits' scratch registers (kScratch,
//    kScratch2, kFpScratch, kFpScratch2), plus whatever the operation's comment says for the few
//    prologue/exit operations. A backend that needs more temporaries keeps private ones outside
//    the allocatable set (they are never named to codegen).
//  - Operations that take an immediate are only called with values the matching Traits
//    predicate accepted (alu_imm_ok, cmp_imm_ok, store_imm_ok, slot_imm_ok).
//  - The *_mem operations (a memory operand as the rhs) and call_mem are only called when the
//    Traits flag says the ISA has that form (kAluMemOperand, kFpMemOperand, kCmpMemOperand);
//    otherwise codegen loads the operand into a register first.
//  - An Address codegen passes to a linear-memory access satisfies Traits::address_ok, so the
//    access is one instruction and the trap site codegen records at masm.offset() just before
//    it is the faulting pc. Frame and VM-structure addresses need not (a backend may form them
//    with a private temporary: nothing faults there).
//  - Fixed registers (x64 div: rax/rdx, shifts: rcx) are data in the Traits
//    (kDivNeedsFixedRegs, kShiftNeedsFixedCount and the registers); codegen reserves them through
//    the allocator *before* calling the masm. The masm receives registers only, never the
//    allocator.
//  - i32 values in GP registers keep a zero upper half (every i32 producer writes a 32-bit
//    register); 64-bit moves of them and their use as a 64-bit memory index rely on it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "jit/target.h"

namespace nvm::jit {

// Register ids are ISA-neutral small integers: general-purpose register i is id i (i < 32),
// floating-point register i is id kFpRegBase + i. Each ISA declares how many of each it has
// (Traits::kNumGpRegs / kNumFpRegs <= 32; x64 16 + 16, aarch64 32 + 32), and allocatable masks
// are bit sets over the register index within its class.
using Reg = uint8_t;
inline constexpr Reg kNoReg = 0xFF;
inline constexpr unsigned kMaxRegsPerClass = 32;
inline constexpr Reg kFpRegBase = 32;
enum class RegClass : uint8_t { Gp = 0, Fp = 1 };
constexpr RegClass reg_class(Reg r) { return r >= kFpRegBase ? RegClass::Fp : RegClass::Gp; }
constexpr unsigned reg_index(Reg r) { return r >= kFpRegBase ? unsigned(r - kFpRegBase) : unsigned(r); }
constexpr Reg reg_of(RegClass c, unsigned index) { return Reg(c == RegClass::Fp ? kFpRegBase + index : index); }
inline constexpr unsigned kMaxRegIds = kFpRegBase + kMaxRegsPerClass;

enum class W : uint8_t { k32, k64 };  // integer operand width
enum class FW : uint8_t { kF32, kF64 };  // float operand width

// A frame-relative or register-relative memory operand: [base + (index << shift) + disp].
// Which combinations one instruction encodes is Traits::address_ok's answer.
struct Address {
  Reg base;
  Reg index = kNoReg;  // 64-bit index register (a zero-extended wasm address or table index)
  int32_t disp = 0;
  uint8_t shift = 0;   // index scale as a shift count (0..3)
};

enum class IntOp : uint8_t { Add, Sub, Mul, And, Or, Xor };
enum class ShiftOp : uint8_t { Shl, ShrS, ShrU, Rotl, Rotr };
enum class DivOp : uint8_t { DivS, DivU, RemS, RemU };
enum class Cond : uint8_t { Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU };
// The condition that holds exactly when `c` does not (integer compares have no unordered case).
inline Cond negate(Cond c) {
  switch (c) {
    case Cond::Eq: return Cond::Ne;
    case Cond::Ne: return Cond::Eq;
    case Cond::LtS: return Cond::GeS;
    case Cond::LtU: return Cond::GeU;
    case Cond::GtS: return Cond::LeS;
    case Cond::GtU: return Cond::LeU;
    case Cond::LeS: return Cond::GtS;
    case Cond::LeU: return Cond::GtU;
    case Cond::GeS: return Cond::LtS;
    case Cond::GeU: return Cond::LtU;
  }
  return Cond::Eq;
}
enum class FpOp : uint8_t { Add, Sub, Mul, Div, Min, Max, Copysign };
enum class FpUnOp : uint8_t { Abs, Neg, Sqrt, Ceil, Floor, Trunc, Nearest };
enum class FpCond : uint8_t { Eq, Ne, Lt, Gt, Le, Ge };
enum class LoadKind : uint8_t {
  I32, I64, F32, F64, I32_8S, I32_8U, I32_16S, I32_16U,
  I64_8S, I64_8U, I64_16S, I64_16U, I64_32S, I64_32U
};
enum class StoreKind : uint8_t { B8, B16, B32, B64, F32, F64 };
// Bytes a load or store touches (Traits::address_ok may depend on it: aarch64 scales offsets).
constexpr unsigned access_size(LoadKind k) {
  switch (k) {
    case LoadKind::I64: case LoadKind::F64: return 8;
    case LoadKind::I32: case LoadKind::F32: case LoadKind::I64_32S: case LoadKind::I64_32U: return 4;
    case LoadKind::I32_16S: case LoadKind::I32_16U: case LoadKind::I64_16S: case LoadKind::I64_16U: return 2;
    default: return 1;
  }
}
constexpr unsigned access_size(StoreKind k) {
  switch (k) {
    case StoreKind::B8: return 1;
    case StoreKind::B16: return 2;
    case StoreKind::B32: case StoreKind::F32: return 4;
    default: return 8;
  }
}
// Float -> int truncations: trapping (Trap) or saturating (Sat), signed/unsigned.
struct TruncKind { FW from; W to; bool is_signed; bool saturating; };

// The bytes before every function entry (and the host-call stub's): Traits::kEntryPrefixSize
// bytes, padding (Traits::kEntryPrefixFill, an instruction that traps if ever executed) then
// the u32 argument-slot count max(n_params, n_results) at entry - 4, which the entry trampoline
// reads to size the argument area (docs/runtime-abi.md "Entry").
inline constexpr int32_t kEntryArgSlotsOffset = -4;

// The prefix bytes of a function whose argument area has `slots` slots.
template <class T>
std::array<uint8_t, T::kEntryPrefixSize> entry_prefix(uint32_t slots) {
  std::array<uint8_t, T::kEntryPrefixSize> p{};
  for (uint32_t i = 0; i + 4 <= T::kEntryPrefixSize - 4; i += 4) std::memcpy(p.data() + i, T::kEntryPrefixFill, 4);
  std::memcpy(p.data() + T::kEntryPrefixSize - 4, &slots, 4);
  return p;
}

// Compile-time check that a Traits struct answers every question codegen asks (an ISA that
// forgets one fails to build instead of behaving like x64 by accident).
template <class T>
constexpr bool check_backend_traits() {
  // Target and register file.
  static_assert(std::is_same_v<decltype(T::kIsa), const Isa>, "Traits::kIsa");
  static_assert(T::kNumGpRegs <= kMaxRegsPerClass && T::kNumFpRegs <= kMaxRegsPerClass, "register file size");
  static_assert(T::kNumGpRegs == 32 || (T::kGpAllocatable >> T::kNumGpRegs) == 0, "GP allocatable mask");
  static_assert(T::kNumFpRegs == 32 || (T::kFpAllocatable >> T::kNumFpRegs) == 0, "FP allocatable mask");
  static_assert(reg_class(T::kVmctx) == RegClass::Gp && reg_class(T::kMemBase) == RegClass::Gp &&
                reg_class(T::kFramePointer) == RegClass::Gp && reg_class(T::kStackPointer) == RegClass::Gp &&
                reg_class(T::kScratch) == RegClass::Gp && reg_class(T::kScratch2) == RegClass::Gp &&
                reg_class(T::kGasReg) == RegClass::Gp && reg_class(T::kReturnReg) == RegClass::Gp,
                "GP registers of the contract");
  static_assert(reg_class(T::kFpScratch) == RegClass::Fp && reg_class(T::kFpScratch2) == RegClass::Fp,
                "FP scratch registers");
  static_assert(!((T::kGpAllocatable >> reg_index(T::kScratch)) & 1) &&
                !((T::kGpAllocatable >> reg_index(T::kScratch2)) & 1) &&
                !((T::kGpAllocatable >> reg_index(T::kVmctx)) & 1) &&
                !((T::kFpAllocatable >> reg_index(T::kFpScratch)) & 1) &&
                !((T::kFpAllocatable >> reg_index(T::kFpScratch2)) & 1),
                "scratch and pinned registers are never allocatable");
  static_assert(sizeof(T::kLocalHomes) / sizeof(Reg) == T::kNumLocalHomes &&
                sizeof(T::kFpLocalHomes) / sizeof(Reg) == T::kNumFpLocalHomes, "home lists");
  static_assert(T::kNumHostVolatileHomes <= T::kNumLocalHomes + T::kNumFpLocalHomes, "host-volatile homes");
  // Fixed registers per operation (read by codegen; the registers only matter when needed).
  static_assert(std::is_same_v<decltype(T::kDivNeedsFixedRegs), const bool> &&
                std::is_same_v<decltype(T::kShiftNeedsFixedCount), const bool>, "fixed-register flags");
  // Memory operands.
  static_assert(std::is_same_v<decltype(T::kAluMemOperand), const bool> &&
                std::is_same_v<decltype(T::kFpMemOperand), const bool> &&
                std::is_same_v<decltype(T::kCmpMemOperand), const bool>, "memory-operand flags");
  // Immediates and addresses (constexpr predicates).
  static_assert(T::alu_imm_ok(IntOp::Add, W::k32, 0) && T::cmp_imm_ok(W::k32, 0) &&
                T::slot_imm_ok(0, true), "immediate predicates accept zero");
  static_assert(T::address_ok(Address{T::kMemBase, kNoReg, 0}, 8) &&
                T::address_ok(Address{T::kMemBase, T::kScratch2, 0}, 8),
                "[base] and [base + index] are always addresses (codegen's fallback form)");
  // Frame-size patching and the entry prefix.
  static_assert(T::kMaxFrameSize > 0 && T::kMaxFrameSize % 16 == 0, "kMaxFrameSize");
  static_assert(T::kCondBranchRange >= (uint64_t(1) << 12), "conditional-branch range (Masm::use_long_branches)");
  static_assert(T::kEntryPrefixSize >= 4 && T::kEntryPrefixSize % 4 == 0 && T::kCodeAlign % 4 == 0 &&
                T::kEntryPrefixSize % T::kCodeAlign == 0, "entry prefix keeps the entry aligned");
  return true;
}

}  // namespace nvm::jit

// The operation list of the masm (2. above). A backend class `MasmX` expands it in its public
// section, next to its own `Traits`, `Assembler`, `kAsmjitArch`, constructor and private state
// (the assembler `a_`, the helpers' C ABI `abi_`), and defines every operation: the ones with a
// body here are common to all backends; jmp, call, use_long_branches and label_address are
// defined inline in the backend's header (one instruction, different per ISA); the rest in its
// .cpp. (A macro, not a base class: the operations are non-virtual members of each backend class,
// so codegen's calls stay direct and inlinable.)
#define NVM_MASM_OPERATIONS                                                                        \
  using Label = asmjit::Label;                                                                     \
                                                                                                   \
  uint32_t offset() const { return uint32_t(a_.offset()); }                                        \
  /* Aligns to Traits::kCodeAlign and emits the entry prefix (entry_prefix above); the next */     \
  /* instruction is the function's entry. */                                                       \
  void function_prefix(uint32_t arg_slots);                                                        \
  /* Conditional branches of the next function(s) in their long form, for an ISA whose */          \
  /* short form does not reach every label (Traits::kCondBranchRange). */                          \
  void use_long_branches(bool on);                                                                 \
  Label new_label() { return a_.newLabel(); }                                                      \
  void bind(const Label& l) { a_.bind(l); }                                                        \
  void jmp(const Label& l);                                                                        \
  void call(const Label& l);                                                                       \
  void call_mem(Address addr); /* call the code pointer stored at addr */                          \
                                                                                                   \
  /* Moves and constants. */                                                                       \
  void mov(W w, Reg dst, Reg src);                                                                 \
  void mov_imm(W w, Reg dst, uint64_t imm);                                                        \
  void fmov(Reg dst, Reg src);                                                                     \
  void fconst(FW w, Reg dst, uint64_t bits);                                                       \
  void gp_to_fp(FW w, Reg dst, Reg src); /* bit copy */                                            \
  void fp_to_gp(FW w, Reg dst, Reg src); /* bit copy */                                            \
  void load(LoadKind k, Reg dst, Address a);                                                       \
  void store(StoreKind k, Address a, Reg src);                                                     \
  void store_imm32(W w, Address a, int32_t imm); /* 64-bit: sign-extended */                       \
  /* A store of k's width from an immediate (B64/F64: the sign-extended imm32). */                 \
  void store_imm(StoreKind k, Address a, int32_t imm);                                             \
  void load_ptr(Reg dst, Address a) { load(LoadKind::I64, dst, a); }                               \
  void copy_slot(Address dst, Address src); /* 8 bytes through the scratch register */             \
                                                                                                   \
  /* Integer arithmetic. */                                                                        \
  void int_op(IntOp op, W w, Reg dst, Reg lhs, Reg rhs);                                           \
  void int_op_imm(IntOp op, W w, Reg dst, Reg lhs, int32_t imm);                                   \
  void int_op_mem(IntOp op, W w, Reg dst, Reg lhs, Address rhs); /* rhs: w-sized operand */        \
  /* With Traits::kShiftNeedsFixedCount, count == Traits::kShiftCount. */                          \
  void shift(ShiftOp op, W w, Reg dst, Reg lhs, Reg count);                                        \
  void shift_imm(ShiftOp op, W w, Reg dst, Reg lhs, uint8_t count);                                \
  /* With Traits::kDivNeedsFixedRegs, dst is Traits::kDivDividend (quotient) or */                 \
  /* Traits::kDivRemainder, lhs == kDivDividend and rhs is neither. */                             \
  void div(DivOp op, W w, Reg dst, Reg lhs, Reg rhs, const Label& div_by_zero, const Label& overflow); \
  void clz(W w, Reg dst, Reg src);                                                                 \
  void ctz(W w, Reg dst, Reg src);                                                                 \
  void popcnt(W w, Reg dst, Reg src);                                                              \
  void eqz(W w, Reg dst, Reg src);                                                                 \
  void compare(Cond c, W w, Reg dst, Reg lhs, Reg rhs);                                            \
  void compare_imm(Cond c, W w, Reg dst, Reg lhs, int32_t imm);                                    \
  void compare_mem(Cond c, W w, Reg dst, Reg lhs, Address rhs);                                    \
  void sign_extend(W w, unsigned from_bits, Reg dst, Reg src);                                     \
  void zero_extend_32(Reg dst, Reg src);                                                           \
  void select(W w, Reg dst, Reg cond, Reg if_true, Reg if_false); /* dst may equal if_true */      \
  /* Flags only (a fused compare), then a conditional move on them. */                             \
  void cmp_flags(W w, Reg lhs, Reg rhs);                                                           \
  void cmp_flags_imm(W w, Reg lhs, int32_t imm);                                                   \
  void cmp_flags_mem(W w, Reg lhs, Address rhs);                                                   \
  void cmov(Cond c, W w, Reg dst, Reg src);                                                        \
  void fselect(Reg dst, Reg cond, Reg if_true, Reg if_false);                                      \
                                                                                                   \
  /* Branches. */                                                                                  \
  void branch_zero(W w, Reg r, const Label& l);                                                    \
  void branch_nonzero(W w, Reg r, const Label& l);                                                 \
  void branch_cmp(Cond c, W w, Reg lhs, Reg rhs, const Label& l);                                  \
  void branch_cmp_imm(Cond c, W w, Reg r, int32_t imm, const Label& l);                            \
  void branch_cmp_mem(Cond c, W w, Reg r, Address m, const Label& l);                              \
  void jump_table(Reg index, const Label* targets, uint32_t n); /* index already < n */            \
                                                                                                   \
  /* Floats. */                                                                                    \
  void fp_op(FpOp op, FW w, Reg dst, Reg lhs, Reg rhs);                                            \
  void fp_op_mem(FpOp op, FW w, Reg dst, Reg lhs, Address rhs); /* Add/Sub/Mul/Div only */         \
  void fp_unop(FpUnOp op, FW w, Reg dst, Reg src);                                                 \
  /* NaN fix-ups, split for out-of-line code: jump to `l` when r is NaN; load the canonical NaN. */ \
  void branch_if_nan(FW w, Reg r, const Label& l);                                                 \
  void load_canonical_nan(FW w, Reg r);                                                            \
  void fp_compare(FpCond c, FW w, Reg dst, Reg lhs, Reg rhs);                                      \
  void promote(Reg dst, Reg src);                                                                  \
  void demote(Reg dst, Reg src);                                                                   \
  void int_to_fp(FW to, W from, bool is_signed, Reg dst, Reg src);                                 \
  void fp_to_int(TruncKind k, Reg dst, Reg src, const Label& invalid, const Label& overflow);      \
                                                                                                   \
  /* Frame and runtime. */                                                                         \
  /* Reserves the frame; returns the offset Traits::patch_frame_size patches once the size is */   \
  /* known. */                                                                                     \
  uint32_t sub_sp_patchable();                                                                     \
  /* Prologue only; the registers it clobbers besides the scratch ones are in the backend's */     \
  /* header. */                                                                                    \
  void zero_fill(Address start, uint32_t n_qwords);                                                \
  void trap_exit(uint32_t trap_code, bool out_of_gas); /* expects the trap pc in kScratch2 */      \
  /* The same with the trap code in Traits::kReturnReg (a helper's or the host dispatcher's). */   \
  void trap_exit_with_code_in_return_reg(); /* expects the trap pc in kScratch2 */                 \
  void stack_check(uint32_t frame_cost, const Label& overflow);                                    \
  void charge_gas(uint64_t cost, const Label& out_of_gas);                                         \
  void interrupt_check(const Label& interrupted); /* vmctx->interrupt != 0: jump to it */          \
  void gas_to_store();   /* store->gas_used = gas_limit - kGasReg (before a runtime helper) */     \
  void gas_from_store(); /* kGasReg = gas_limit - gas_used (after it) */                           \
  void prologue();                                                                                 \
  void epilogue_return();                                                                          \
  void call_helper(int32_t helper_offset, uint32_t n_args); /* result in Traits::kReturnReg */     \
  /* dst = the address of label l (position-independent). */                                       \
  void label_address(Reg dst, const Label& l);
