// masm_x64.h — the masm contract (jit/masm.h) over asmjit's x86::Assembler. Its operations are
// the contract's operation list (NVM_MASM_OPERATIONS); this header declares only what is x64's
// own: the assembler types, register conversions and a few x64-only operations.
#pragma once

#include <asmjit/x86.h>

#include <cstdint>

#include "jit/masm.h"
#include "jit/x64/traits_x64.h"

namespace nvm::jit::x64 {

class MasmX64 {
 public:
  using Traits = TraitsX64;
  using Assembler = asmjit::x86::Assembler;
  static constexpr asmjit::Arch kAsmjitArch = asmjit::Arch::kX64;
  // `abi` is the host C ABI of runtime helpers (call_helper); nothing else depends on the OS.
  MasmX64(asmjit::x86::Assembler& a, OsAbi abi) : a_(a), abi_(abi) {}

  // jcc has a rel32 form (Traits::kCondBranchRange), so use_long_branches has nothing to do.
  // zero_fill clobbers rax, rcx and rdi besides the scratch registers.
  NVM_MASM_OPERATIONS

  // x64 only.
  void ret() { a_.ret(); }
  void lea(Reg dst, Address a);
  void add_mem_imm(W w, Address a, int32_t imm);
  void sub_mem_imm(W w, Address a, int32_t imm);
  void canonicalize_nan(FW w, Reg r);

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

inline void MasmX64::use_long_branches(bool) {}
inline void MasmX64::jmp(const Label& l) { a_.jmp(l); }
inline void MasmX64::call(const Label& l) { a_.call(l); }
inline void MasmX64::label_address(Reg dst, const Label& l) { a_.lea(gp(dst), asmjit::x86::ptr(l)); }

}  // namespace nvm::jit::x64
