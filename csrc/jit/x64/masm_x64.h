// masm_x64.h — the masm contract (jit/masm.h) over asmjit's x86::Assembler. Its public
// operations are the contract's operation list: every backend has the same names and
// signatures (codegen_impl.h is a template over the masm and calls nothing else).
#pragma once

#include <asmjit/x86.h>

#include <cstdint>

#include "jit/masm.h"
#include "jit/x64/traits_x64.h"

namespace nvm::jit::x64 {

class MasmX64 {
 public:
  using Label = asmjit::Label;
  using Traits = TraitsX64;
  using Assembler = asmjit::x86::Assembler;
  static constexpr asmjit::Arch kAsmjitArch = asmjit::Arch::kX64;
  // `abi` is the host C ABI of runtime helpers (call_helper); nothing else depends on the OS.
  MasmX64(asmjit::x86::Assembler& a, OsAbi abi) : a_(a), abi_(abi) {}

  uint32_t offset() const { return uint32_t(a_.offset()); }
  // Aligns to Traits::kCodeAlign and emits the entry prefix (masm.h entry_prefix); the next
  // instruction is the function's entry.
  void function_prefix(uint32_t arg_slots);
  // jcc has a rel32 form (Traits::kCondBranchRange): nothing to do.
  void use_long_branches(bool) {}
  Label new_label() { return a_.newLabel(); }
  void bind(const Label& l) { a_.bind(l); }
  void jmp(const Label& l) { a_.jmp(l); }
  void call(const Label& l) { a_.call(l); }
  void call_mem(Address addr);  // call the code pointer stored at addr (any ISA: a load + call)
  void ret() { a_.ret(); }

  // Moves and constants.
  void mov(W w, Reg dst, Reg src);
  void mov_imm(W w, Reg dst, uint64_t imm);
  void fmov(Reg dst, Reg src);
  void fconst(FW w, Reg dst, uint64_t bits);
  void gp_to_fp(FW w, Reg dst, Reg src);   // bit copy
  void fp_to_gp(FW w, Reg dst, Reg src);   // bit copy
  void load(LoadKind k, Reg dst, Address a);
  void store(StoreKind k, Address a, Reg src);
  void store_imm32(W w, Address a, int32_t imm);  // 64-bit: sign-extended
  // A store of k's width from an immediate (B64/F64: the sign-extended imm32).
  void store_imm(StoreKind k, Address a, int32_t imm);
  void load_ptr(Reg dst, Address a) { load(LoadKind::I64, dst, a); }
  void lea(Reg dst, Address a);
  void copy_slot(Address dst, Address src);  // 8 bytes through the scratch register

  // Integer arithmetic.
  void int_op(IntOp op, W w, Reg dst, Reg lhs, Reg rhs);
  void int_op_imm(IntOp op, W w, Reg dst, Reg lhs, int32_t imm);
  void int_op_mem(IntOp op, W w, Reg dst, Reg lhs, Address rhs);  // rhs: w-sized operand
  void shift(ShiftOp op, W w, Reg dst, Reg lhs, Reg count);  // count == Regs::kShiftCount
  void shift_imm(ShiftOp op, W w, Reg dst, Reg lhs, uint8_t count);
  // dst is kDivDividend (quotient) or kDivRemainder; lhs == kDivDividend; rhs is neither.
  void div(DivOp op, W w, Reg dst, Reg lhs, Reg rhs, const Label& div_by_zero, const Label& overflow);
  void clz(W w, Reg dst, Reg src);
  void ctz(W w, Reg dst, Reg src);
  void popcnt(W w, Reg dst, Reg src);
  void eqz(W w, Reg dst, Reg src);
  void compare(Cond c, W w, Reg dst, Reg lhs, Reg rhs);
  void compare_imm(Cond c, W w, Reg dst, Reg lhs, int32_t imm);
  void compare_mem(Cond c, W w, Reg dst, Reg lhs, Address rhs);
  void sign_extend(W w, unsigned from_bits, Reg dst, Reg src);
  void zero_extend_32(Reg dst, Reg src);
  void select(W w, Reg dst, Reg cond, Reg if_true, Reg if_false);  // dst may equal if_true
  // Flags only (a fused compare), then a conditional move on them.
  void cmp_flags(W w, Reg lhs, Reg rhs);
  void cmp_flags_imm(W w, Reg lhs, int32_t imm);
  void cmp_flags_mem(W w, Reg lhs, Address rhs);
  void cmov(Cond c, W w, Reg dst, Reg src);
  void fselect(Reg dst, Reg cond, Reg if_true, Reg if_false);

  // Branches.
  void branch_zero(W w, Reg r, const Label& l);
  void branch_nonzero(W w, Reg r, const Label& l);
  void branch_cmp(Cond c, W w, Reg lhs, Reg rhs, const Label& l);
  void branch_cmp_imm(Cond c, W w, Reg r, int32_t imm, const Label& l);
  void branch_cmp_mem(Cond c, W w, Reg r, Address m, const Label& l);
  void jump_table(Reg index, const Label* targets, uint32_t n);  // index already < n

  // Floats.
  void fp_op(FpOp op, FW w, Reg dst, Reg lhs, Reg rhs);
  void fp_op_mem(FpOp op, FW w, Reg dst, Reg lhs, Address rhs);  // Add/Sub/Mul/Div only
  void fp_unop(FpUnOp op, FW w, Reg dst, Reg src);
  void canonicalize_nan(FW w, Reg r);
  // The split form, for out-of-line fix-ups: jump to `l` when r is NaN; load the canonical NaN.
  void branch_if_nan(FW w, Reg r, const Label& l);
  void load_canonical_nan(FW w, Reg r);
  void fp_compare(FpCond c, FW w, Reg dst, Reg lhs, Reg rhs);
  void promote(Reg dst, Reg src);
  void demote(Reg dst, Reg src);
  void int_to_fp(FW to, W from, bool is_signed, Reg dst, Reg src);
  void fp_to_int(TruncKind k, Reg dst, Reg src, const Label& invalid, const Label& overflow);

  // Frame.
  // Reserves the frame; returns the offset Traits::patch_frame_size patches once the size is
  // known (x64: `sub rsp, imm32` with a forced 4-byte immediate, the immediate's offset).
  uint32_t sub_sp_patchable();
  void add_mem_imm(W w, Address a, int32_t imm);
  void sub_mem_imm(W w, Address a, int32_t imm);
  void zero_fill(Address start, uint32_t n_qwords);  // prologue only: clobbers rax, rcx, rdi, xmm15
  void trap_exit(uint32_t trap_code, bool out_of_gas);  // expects the trap pc in kScratch2
  // The same with the trap code in Traits::kReturnReg (a helper's or the host dispatcher's).
  void trap_exit_with_code_in_return_reg();             // expects the trap pc in kScratch2
  void stack_check(uint32_t frame_cost, const Label& overflow);
  void charge_gas(uint64_t cost, const Label& out_of_gas);
  void interrupt_check(const Label& interrupted);  // vmctx->interrupt != 0: jump to `interrupted`
  void gas_to_store();    // store->gas_used = gas_limit - kGasReg (before a runtime helper)
  void gas_from_store();  // kGasReg = gas_limit - gas_used (after it)
  void prologue();
  void epilogue_return();
  void call_helper(int32_t helper_offset, uint32_t n_args);  // result in Traits::kReturnReg
  // dst = the address of label l (position-independent).
  void label_address(Reg dst, const Label& l) { a_.lea(gp(dst), asmjit::x86::ptr(l)); }

  static asmjit::x86::Gp gp(Reg r) { return asmjit::x86::gpq(r); }
  static asmjit::x86::Gp gp32(Reg r) { return asmjit::x86::gpd(r); }
  static asmjit::x86::Gp gpw(W w, Reg r) { return w == W::k64 ? gp(r) : gp32(r); }
  static asmjit::x86::Xmm xmm(Reg r) { return asmjit::x86::xmm(reg_index(r)); }
  static asmjit::x86::Mem mem(Address a, uint32_t size = 0);

 private:
  void load_fconst_scratch(FW w, double value, Reg scratch);
  asmjit::x86::Assembler& a_;
  OsAbi abi_;
};

}  // namespace nvm::jit::x64
