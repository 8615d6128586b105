// stubs_x64.cpp — engine-wide x64 stubs: entry trampoline (SysV and Win64 variants), host-call
// stub, and the trap landing inside the entry trampoline (docs/runtime-abi.md).
//
// The argument-area size of a call from the host: `act->arg_slots` when invoke sets it, else
// the u32 that compile_program places right before every function's entry (masm.h
// kEntryArgSlotsOffset).
#include <asmjit/x86.h>

#include "jit/frame_layout.h"
#include "jit/jit.h"
#include "jit/x64/masm_x64.h"
#include "runtime/vmctx.h"

namespace nvm::jit {

namespace {
using namespace asmjit;

enum class HostAbi { SysV, Win64 };

// Metered stores (VMStoreContext::gas_metered) keep the gas left in RegsX64::kGasReg while wasm
// runs (docs/runtime-abi.md "Gas"). `store` holds the VMStoreContext*.
void gas_into_register(x86::Assembler& a, const x86::Gp& store) {
  using namespace x86;
  Label skip = a.newLabel();
  a.cmp(qword_ptr(store, rt::kStoreGasMeteredOffset), Imm(0));
  a.je(skip);
  auto g = x64::MasmX64::gp(x64::RegsX64::kGasReg);
  a.mov(g, qword_ptr(store, rt::kStoreGasLimitOffset));
  a.sub(g, qword_ptr(store, rt::kStoreGasUsedOffset));
  a.bind(skip);
}
void gas_from_register(x86::Assembler& a, const x86::Gp& store, const x86::Gp& tmp) {
  using namespace x86;
  Label skip = a.newLabel();
  a.cmp(qword_ptr(store, rt::kStoreGasMeteredOffset), Imm(0));
  a.je(skip);
  a.mov(tmp, qword_ptr(store, rt::kStoreGasLimitOffset));
  a.sub(tmp, x64::MasmX64::gp(x64::RegsX64::kGasReg));
  a.mov(qword_ptr(store, rt::kStoreGasUsedOffset), tmp);
  a.bind(skip);
}

class RecordingErrorHandler : public ErrorHandler {
 public:
  void handleError(Error err, const char* message, BaseEmitter*) override {
    if (error == kErrorOk) { error = err; text = message ? message : "asmjit error"; }
  }
  Error error = kErrorOk;
  std::string text;
};

// uint32_t entry(VMFuncRef* callee, uint64_t* args_results, Activation* act)
void emit_entry(x86::Assembler& a, HostAbi abi) {
  using namespace x86;
  const bool win = abi == HostAbi::Win64;
  Gp arg_callee = win ? rcx : rdi, arg_args = win ? rdx : rsi, arg_act = win ? r8 : rdx;
  Label landing = a.newLabel();
  static const Gp kSaved[] = {rbx, rsi, rdi, r12, r13, r14, r15};
  const int n_saved = win ? 7 : 5;  // SysV: rbx r12..r15 (rsi/rdi are volatile there)
  auto saved = [&](int i) -> Gp { return win ? kSaved[i] : (i == 0 ? rbx : kSaved[i + 2]); };
  const int32_t xmm_area = win ? 160 : 0;  // Win64: xmm6..xmm15 are callee-saved

  a.push(rbp);
  a.mov(rbp, rsp);
  // [rbp - 16] is the budget slot every wasm frame has (FrameLayout::kBudgetSlot): the callee
  // reads its caller's budget there. 16 bytes keep the alignment.
  a.sub(rsp, Imm(16));
  for (int i = 0; i < n_saved; ++i) a.push(saved(i));
  if (win) {
    a.sub(rsp, Imm(xmm_area + 8));  // keeps the act push below 16-byte aligned
    for (int i = 0; i < 10; ++i) a.movdqu(dqword_ptr(rsp, 8 + 16 * i), xmm(6 + i));
  }
  a.push(arg_act);  // [entry_sp] = act, for the landing
  a.mov(qword_ptr(arg_act, rt::kActivationEntrySpOffset), rsp);
  // Wasm code may use every register but rsp/rbp (docs/runtime-abi.md), so the args pointer
  // (r12) and slot count (r13) are kept in two frame slots below act across the call
  // (16 bytes: the alignment is unchanged). Both exit paths reset rsp to entry_sp.
  const int32_t act_slot = -(16 + 8 * n_saved + (win ? xmm_area + 8 : 0) + 8);
  a.sub(rsp, Imm(16));
  a.lea(rax, ptr(landing));
  a.mov(qword_ptr(arg_act, rt::kActivationLandingOffset), rax);
  a.mov(rbx, arg_callee);
  a.mov(r12, arg_args);
  // n = max(act->arg_slots, prefix word before callee->code)
  a.mov(r13d, dword_ptr(arg_act, rt::kActivationArgSlotsOffset));
  a.mov(rax, qword_ptr(rbx, rt::kFuncRefCodeOffset));
  a.mov(eax, dword_ptr(rax, kEntryArgSlotsOffset));
  a.cmp(r13, rax);
  a.cmovb(r13, rax);
  a.mov(qword_ptr(rbp, act_slot - 8), r12);
  a.mov(qword_ptr(rbp, act_slot - 16), r13);
  // n*8 + 15, then round to 16. (Absolute base 15: the 4th argument of ptr(u64, index, shift, ...)
  // is the operand size, not a displacement.)
  a.lea(rax, ptr(uint64_t(15), r13, 3));
  a.and_(rax, Imm(-16));
  a.sub(rsp, rax);
  Label copy_in = a.newLabel(), copied_in = a.newLabel();
  a.xor_(eax, eax);
  a.bind(copy_in);
  a.cmp(rax, r13);
  a.jae(copied_in);
  a.mov(r11, qword_ptr(r12, rax, 3));
  a.mov(qword_ptr(rsp, rax, 3), r11);
  a.inc(rax);
  a.jmp(copy_in);
  a.bind(copied_in);
  a.mov(r14, qword_ptr(rbx, rt::kFuncRefVmctxOffset));
  a.mov(r15, qword_ptr(r14, rt::kVmctxMemoryBaseOffset));  // pinned memory base (regs_x64.h)
  a.mov(r11, qword_ptr(r14, rt::kVmctxStoreOffset));
  a.mov(r10, qword_ptr(r11, rt::kStoreStackRemainingOffset));  // budget: store->stack_remaining
  a.mov(qword_ptr(rbp, jit::FrameLayout::kBudgetSlot), r10);
  gas_into_register(a, r11);
  a.call(qword_ptr(rbx, rt::kFuncRefCodeOffset));
  a.mov(rcx, qword_ptr(rbp, act_slot));  // act -> store: the gas left back to gas_used
  a.mov(rcx, qword_ptr(rcx, rt::kActivationStoreOffset));
  gas_from_register(a, rcx, rdx);
  a.mov(r12, qword_ptr(rbp, act_slot - 8));
  a.mov(r13, qword_ptr(rbp, act_slot - 16));
  Label copy_out = a.newLabel(), copied_out = a.newLabel();
  a.xor_(eax, eax);
  a.bind(copy_out);
  a.cmp(rax, r13);
  a.jae(copied_out);
  a.mov(r11, qword_ptr(rsp, rax, 3));
  a.mov(qword_ptr(r12, rax, 3), r11);
  a.inc(rax);
  a.jmp(copy_out);
  a.bind(copied_out);
  a.xor_(eax, eax);
  // Back to entry_sp (the saved act), then the common restore path.
  Label restore = a.newLabel();
  a.lea(rsp, ptr(rbp, act_slot));
  a.jmp(restore);

  // Trap landing: sp = act->entry_sp (set by the trap exit or the signal handler).
  a.bind(landing);
  a.mov(rcx, qword_ptr(rsp));
  a.mov(eax, dword_ptr(rcx, rt::kActivationTrapCodeOffset));
  // The gas left in the register back to gas_used. At a trap the register is as the trapping
  // code left it (a fault's context rewrite keeps it; the out-of-gas exit zeroes it).
  a.mov(rcx, qword_ptr(rcx, rt::kActivationStoreOffset));
  gas_from_register(a, rcx, rdx);
  a.bind(restore);
  a.add(rsp, Imm(8));
  if (win) {
    for (int i = 0; i < 10; ++i) a.movdqu(xmm(6 + i), dqword_ptr(rsp, 8 + 16 * i));
    a.add(rsp, Imm(xmm_area + 8));
  }
  for (int i = n_saved - 1; i >= 0; --i) a.pop(saved(i));
  a.add(rsp, Imm(16));
  a.pop(rbp);
  a.ret();
}

// Internal convention in (vmctx register = HostCallContext*, args area at [sp + 8]); calls
// ctx->dispatch(ctx, args_area) in the host C ABI; a non-zero result is a trap code.
//
// The stub is a callee of the internal convention, so it preserves the home registers the host
// ABI does not (RegsX64::kHostVolatileHomes): wasm callers keep homed locals in them across
// calls without saving (docs/runtime-abi.md). It also publishes its caller's stack budget in
// store->stack_remaining for the host function's re-entrant calls, and puts the previous value
// back afterwards (after a trap the runtime restores it from the activation).
void emit_host_call(x86::Assembler& a, HostAbi abi) {
  using namespace x86;
  using Regs = x64::RegsX64;
  Label trap = a.newLabel();
  a.push(rbp);
  a.mov(rbp, rsp);
  // Frame: [rbp - 8] the previous store->stack_remaining, [rbp - 16] the budget slot (unused:
  // the stub calls no wasm directly), then one save slot per register, rounded to keep sp
  // 16-byte aligned; Win64 adds its 32-byte shadow space below them.
  const int32_t save_bytes = 16 + int32_t((8 * Regs::kNumHostVolatileHomes + 15) & ~15u);
  a.sub(rsp, Imm(save_bytes + (abi == HostAbi::Win64 ? 32 : 0)));
  auto slot = [&](uint32_t k) { return qword_ptr(rbp, -8 * int32_t(k + 3)); };
  a.mov(r10, qword_ptr(rbp));                                // the caller's frame
  a.mov(r10, qword_ptr(r10, jit::FrameLayout::kBudgetSlot));
  a.mov(r11, qword_ptr(r14, rt::kVmctxStoreOffset));
  a.mov(rax, qword_ptr(r11, rt::kStoreStackRemainingOffset));  // rax: caller-saved here
  a.mov(qword_ptr(rbp, -8), rax);
  a.mov(qword_ptr(r11, rt::kStoreStackRemainingOffset), r10);
  gas_from_register(a, r11, r10);  // the host function (and its re-entrant calls) see gas_used
  for (uint32_t k = 0; k < Regs::kNumHostVolatileHomes; ++k) {
    jit::Reg r = Regs::kHostVolatileHomes[k];
    if (reg_class(r) == RegClass::Fp) a.movsd(slot(k), x64::MasmX64::xmm(r));
    else a.mov(slot(k), x64::MasmX64::gp(r));
  }
  if (abi == HostAbi::Win64) {
    a.mov(rcx, r14);
    a.lea(rdx, ptr(rbp, 16));
  } else {
    a.mov(rdi, r14);
    a.lea(rsi, ptr(rbp, 16));
  }
  a.call(qword_ptr(r14, rt::kHostCtxDispatchOffset));  // r14 is callee-saved in both ABIs
  a.mov(r11, qword_ptr(r14, rt::kVmctxStoreOffset));
  gas_into_register(a, r11);  // host charges and nested calls: also before a trap exit (landing)
  a.test(eax, eax);
  a.jnz(trap);
  a.mov(r10, qword_ptr(rbp, -8));
  a.mov(qword_ptr(r11, rt::kStoreStackRemainingOffset), r10);
  for (uint32_t k = 0; k < Regs::kNumHostVolatileHomes; ++k) {
    jit::Reg r = Regs::kHostVolatileHomes[k];
    if (reg_class(r) == RegClass::Fp) a.movsd(x64::MasmX64::xmm(r), slot(k));
    else a.mov(x64::MasmX64::gp(r), slot(k));
  }
  a.mov(rsp, rbp);
  a.pop(rbp);
  a.ret();
  a.bind(trap);
  a.xor_(r10d, r10d);  // trap_pc = 0: the trap came from the host
  x64::MasmX64 masm(a, abi == HostAbi::Win64 ? OsAbi::Win64 : OsAbi::SysV);
  masm.trap_exit_with_code_in_return_reg();
}

bool generate_x64(HostAbi abi, const CompileOptions& options, EngineStubs* out, std::string* error) {
  CodeHolder code;
  code.init(Environment(Arch::kX64));
  RecordingErrorHandler handler;
  code.setErrorHandler(&handler);
  StringLogger logger;
  if (options.want_disassembly) code.setLogger(&logger);
  x86::Assembler a(&code);
  a.align(AlignMode::kCode, 16);
  out->entry_offset = uint32_t(a.offset());
  emit_entry(a, abi);
  // The host-call stub has no fixed signature: its prefix word (arg slots) is 0.
  a.align(AlignMode::kCode, x64::TraitsX64::kCodeAlign);
  auto prefix = entry_prefix<x64::TraitsX64>(0);
  a.embed(prefix.data(), prefix.size());
  out->host_call_offset = uint32_t(a.offset());
  emit_host_call(a, abi);
  code.flatten();
  code.resolveUnresolvedLinks();
  if (code.relocateToBase(0) != kErrorOk || handler.error != kErrorOk) {
    if (error) *error = "stub assembly failed: " + handler.text;
    return false;
  }
  out->code.assign(code.codeSize(), 0);
  code.copyFlattenedData(out->code.data(), out->code.size());
  if (options.want_disassembly) out->disassembly.assign(logger.data(), logger.dataSize());
  return true;
}
}  // namespace

}  // namespace nvm::jit

namespace nvm::jit::x64 {

// Darwin x86_64 uses the SysV calling convention.
bool generate_stubs(OsAbi abi, const CompileOptions& options, EngineStubs* out, std::string* error) {
  return generate_x64(abi == OsAbi::Win64 ? HostAbi::Win64 : HostAbi::SysV, options, out, error);
}

}  // namespace nvm::jit::x64
