// masm_a64.h — the masm contract (jit/masm.h) over asmjit's a64::Assembler: the same operation
// list, names and signatures as x64/masm_x64.h (codegen_impl.h is a template over the masm).
#pragma once

#include <asmjit/a64.h>

#include <cstdint>

#include "jit/a64/traits_a64.h"
#include "jit/masm.h"

namespace nvm::jit::a64 {

class MasmA64 {
 public:
  using Label = asmjit::Label;
  using Traits = TraitsA64;
  using Assembler = asmjit::a64::Assembler;
  static constexpr asmjit::Arch kAsmjitArch = asmjit::Arch::kAArch64;
  // `abi` is the host C ABI of runtime helpers (AAPCS64 on Linux and Apple alike for the
  // helpers' non-variadic integer signatures).
  MasmA64(asmjit::a64::Assembler& a, OsAbi abi) : a_(a), abi_(abi) {}

  uint32_t offset() const { return uint32_t(a_.offset()); }
  void function_prefix(uint32_t arg_slots);
  // Conditional branches of the next function(s) in their long form (Traits::kCondBranchRange).
  void use_long_branches(bool on) { long_branches_ = on; }
  Label new_label() { return a_.newLabel(); }
  void bind(const Label& l) { a_.bind(l); }
  void jmp(const Label& l) { a_.b(l); }
  void call(const Label& l) { a_.bl(l); }
  void call_mem(Address addr);

  // Moves and constants.
  void mov(W w, Reg dst, Reg src);
  void mov_imm(W w, Reg dst, uint64_t imm);
  void fmov(Reg dst, Reg src);
  void fconst(FW w, Reg dst, uint64_t bits);
  void gp_to_fp(FW w, Reg dst, Reg src);
  void fp_to_gp(FW w, Reg dst, Reg src);
  void load(LoadKind k, Reg dst, Address a);
  void store(StoreKind k, Address a, Reg src);
  void store_imm32(W w, Address a, int32_t imm);
  void store_imm(StoreKind k, Address a, int32_t imm);
  void load_ptr(Reg dst, Address a) { load(LoadKind::I64, dst, a); }
  void copy_slot(Address dst, Address src);

  // Integer arithmetic.
  void int_op(IntOp op, W w, Reg dst, Reg lhs, Reg rhs);
  void int_op_imm(IntOp op, W w, Reg dst, Reg lhs, int32_t imm);
  void int_op_mem(IntOp op, W w, Reg dst, Reg lhs, Address rhs);
  void shift(ShiftOp op, W w, Reg dst, Reg lhs, Reg count);
  void shift_imm(ShiftOp op, W w, Reg dst, Reg lhs, uint8_t count);
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
  void select(W w, Reg dst, Reg cond, Reg if_true, Reg if_false);
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
  void jump_table(Reg index, const Label* targets, uint32_t n);

  // Floats.
  void fp_op(FpOp op, FW w, Reg dst, Reg lhs, Reg rhs);
  void fp_op_mem(FpOp op, FW w, Reg dst, Reg lhs, Address rhs);
  void fp_unop(FpUnOp op, FW w, Reg dst, Reg src);
  void branch_if_nan(FW w, Reg r, const Label& l);
  void load_canonical_nan(FW w, Reg r);
  void fp_compare(FpCond c, FW w, Reg dst, Reg lhs, Reg rhs);
  void promote(Reg dst, Reg src);
  void demote(Reg dst, Reg src);
  void int_to_fp(FW to, W from, bool is_signed, Reg dst, Reg src);
  void fp_to_int(TruncKind k, Reg dst, Reg src, const Label& invalid, const Label& overflow);

  // Frame and runtime.
  uint32_t sub_sp_patchable();
  void zero_fill(Address start, uint32_t n_qwords);  // prologue only
  void trap_exit(uint32_t trap_code, bool out_of_gas);  // expects the trap pc in kScratch2
  void trap_exit_with_code_in_return_reg();             // expects the trap pc in kScratch2
  void stack_check(uint32_t frame_cost, const Label& overflow);
  void charge_gas(uint64_t cost, const Label& out_of_gas);
  void interrupt_check(const Label& interrupted);  // vmctx->interrupt != 0: jump to `interrupted`
  void gas_to_store();
  void gas_from_store();
  void prologue();
  void epilogue_return();
  void call_helper(int32_t helper_offset, uint32_t n_args);
  void label_address(Reg dst, const Label& l) { a_.adr(gp(dst), l); }

  static asmjit::a64::Gp gp(Reg r) { return r == kSp ? asmjit::a64::sp : asmjit::a64::x(r); }
  static asmjit::a64::Gp gp32(Reg r) { return asmjit::a64::w(r); }
  static asmjit::a64::Gp gpw(W w, Reg r) { return w == W::k64 ? gp(r) : gp32(r); }
  static asmjit::a64::Vec vd(Reg r) { return asmjit::a64::d(reg_index(r)); }
  static asmjit::a64::Vec vs(Reg r) { return asmjit::a64::s(reg_index(r)); }
  static asmjit::a64::Vec vf(FW w, Reg r) { return w == FW::kF32 ? vs(r) : vd(r); }

 private:
  // A memory operand for an access of `size` bytes; an address no instruction encodes is
  // formed in the private kAddrTemp first (never for linear-memory accesses: codegen passes
  // only Traits::address_ok addresses there, so the access stays the faulting instruction).
  asmjit::a64::Mem mem(Address a, unsigned size);
  // `lhs - imm` into the flags (cmp/cmn, or through kValTemp when no immediate form fits).
  void cmp_imm(W w, Reg lhs, int64_t imm);
  void load_fp_bits(FW w, Reg dst, uint64_t bits);
  void bcc(asmjit::a64::CondCode cc, const Label& l);
  void cbz(const asmjit::a64::Gp& r, const Label& l);
  void cbnz(const asmjit::a64::Gp& r, const Label& l);
  asmjit::a64::Assembler& a_;
  OsAbi abi_;
  bool long_branches_ = false;
};

}  // namespace nvm::jit::a64
