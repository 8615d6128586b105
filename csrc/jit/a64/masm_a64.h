// masm_a64.h — the masm contract (jit/masm.h) over asmjit's a64::Assembler. Its operations are
// the contract's operation list (NVM_MASM_OPERATIONS); this header declares only what is
// aarch64's own: the assembler types, register conversions and private lowering helpers.
#pragma once

#include <asmjit/a64.h>

#include <cstdint>

#include "jit/a64/traits_a64.h"
#include "jit/masm.h"

namespace nvm::jit::a64 {

class MasmA64 {
 public:
  using Traits = TraitsA64;
  using Assembler = asmjit::a64::Assembler;
  static constexpr asmjit::Arch kAsmjitArch = asmjit::Arch::kAArch64;
  // `abi` is the host C ABI of runtime helpers (AAPCS64 on Linux and Apple alike for the
  // helpers' non-variadic integer signatures).
  MasmA64(asmjit::a64::Assembler& a, OsAbi abi) : a_(a), abi_(abi) {}

  // zero_fill clobbers only the private temporaries (kAddrTemp, kValTemp).
  NVM_MASM_OPERATIONS

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

// Conditional branches of the next function(s) in their long form (b.cond reaches ±1 MiB).
inline void MasmA64::use_long_branches(bool on) { long_branches_ = on; }
inline void MasmA64::jmp(const Label& l) { a_.b(l); }
inline void MasmA64::call(const Label& l) { a_.bl(l); }
inline void MasmA64::label_address(Reg dst, const Label& l) { a_.adr(gp(dst), l); }

}  // namespace nvm::jit::a64
