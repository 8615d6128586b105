// stubs_a64.cpp — engine-wide aarch64 stubs: entry trampoline (+ trap landing) and host-call
// stub, with the duties of the x64 ones (docs/runtime-abi.md): the budget slot seeded from the
// Store, the gas register loaded and written back (also at the trap landing), the host-call stub
// publishing budget and gas around the dispatch. AAPCS64 is the host ABI on Linux and Apple
// alike for these signatures, and every home register is callee-saved in it, so the host-call
// stub preserves none by hand (RegsA64::kNumHostVolatileHomes == 0).
#include <asmjit/a64.h>

#include "jit/a64/masm_a64.h"
#include "jit/frame_layout.h"
#include "jit/jit.h"
#include "runtime/vmctx.h"

namespace nvm::jit::a64 {

namespace {
using namespace asmjit;
using namespace asmjit::a64;

static_assert(RegsA64::kNumHostVolatileHomes == 0, "the host-call stub would have to save them");
static_assert(RegsA64::kVmctx == 20 && RegsA64::kMemBase == 21 && RegsA64::kGasReg == 22, "stub register names");

// Metered stores keep the gas left in x22 (RegsA64::kGasReg) while wasm runs. `store` holds the
// VMStoreContext*; `tmp` is clobbered.
void gas_into_register(Assembler& a, const Gp& store, const Gp& tmp) {
  Label skip = a.newLabel();
  a.ldr(tmp, ptr(store, rt::kStoreGasMeteredOffset));
  a.cbz(tmp, skip);
  a.ldr(x22, ptr(store, rt::kStoreGasLimitOffset));
  a.ldr(tmp, ptr(store, rt::kStoreGasUsedOffset));
  a.sub(x22, x22, tmp);
  a.bind(skip);
}
void gas_from_register(Assembler& a, const Gp& store, const Gp& tmp) {
  Label skip = a.newLabel();
  a.ldr(tmp, ptr(store, rt::kStoreGasMeteredOffset));
  a.cbz(tmp, skip);
  a.ldr(tmp, ptr(store, rt::kStoreGasLimitOffset));
  a.sub(tmp, tmp, x22);
  a.str(tmp, ptr(store, rt::kStoreGasUsedOffset));
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

// Frame of the entry trampoline, below [x29] (saved x29/x30 above it):
//   [x29 - 16]            the budget slot (FrameLayout::kBudgetSlot)
//   [x29 - 176, x29 - 16) x19..x28 and d8..d15 (callee-saved in AAPCS64), 16-byte padded
//   [x29 - 208]           act (= entry_sp), then the args pointer and the slot count
//   below                 the argument area
constexpr int32_t kSaveArea = 160;
constexpr int32_t kActSlot = -(16 + kSaveArea + 32);

// The save area's register pairs in order, one per 16 bytes from [sp]: x19..x28, then d8..d15.
// `pair(r1, r2, offset)` is called for each; saving and restoring walk the same list, so the two
// sequences cannot disagree.
template <class PairFn>
void for_each_callee_saved_pair(PairFn pair) {
  int32_t offset = 0;
  for (uint32_t r = 19; r < 29; r += 2, offset += 16) pair(asmjit::a64::x(r), asmjit::a64::x(r + 1), offset);
  for (uint32_t r = 8; r < 16; r += 2, offset += 16) pair(asmjit::a64::d(r), asmjit::a64::d(r + 1), offset);
}
static_assert(9 * 16 <= kSaveArea, "the nine pairs fit the save area");
void save_callee_saved(Assembler& a) {
  for_each_callee_saved_pair([&](const auto& r1, const auto& r2, int32_t offset) { a.stp(r1, r2, ptr(sp, offset)); });
}
void restore_callee_saved(Assembler& a) {
  for_each_callee_saved_pair([&](const auto& r1, const auto& r2, int32_t offset) { a.ldp(r1, r2, ptr(sp, offset)); });
}

// for (x12 = 0; x12 < n; ++x12) dst[x12] = src[x12]: dst and src are 8-byte slot operands indexed
// by x12 (`[base, x12, lsl #3]`); clobbers x11 and x12.
void copy_slots(Assembler& a, const Mem& dst, const Mem& src, const Gp& n) {
  Label loop = a.newLabel(), done = a.newLabel();
  a.mov(x12, xzr);
  a.bind(loop);
  a.cmp(x12, n);
  a.b_hs(done);
  a.ldr(x11, src);
  a.str(x11, dst);
  a.add(x12, x12, Imm(1));
  a.b(loop);
  a.bind(done);
}

// uint32_t entry(VMFuncRef* callee, uint64_t* args_results, Activation* act)
void emit_entry(Assembler& a) {
  Label landing = a.newLabel(), restore = a.newLabel();
  a.stp(x29, x30, ptr_pre(sp, -16));
  a.mov(x29, sp);
  a.sub(sp, sp, Imm(16 + kSaveArea));
  save_callee_saved(a);
  a.sub(sp, sp, Imm(32));
  a.str(x2, ptr(sp, 0));   // [entry_sp] = act, for the landing
  a.str(x1, ptr(sp, 8));
  a.mov(x9, sp);
  a.str(x9, ptr(x2, rt::kActivationEntrySpOffset));
  a.adr(x9, landing);
  a.str(x9, ptr(x2, rt::kActivationLandingOffset));
  a.mov(x19, x0);
  // n = max(act->arg_slots, the prefix word before callee->code)
  a.ldr(w9, ptr(x2, rt::kActivationArgSlotsOffset));
  a.ldr(x10, ptr(x19, rt::kFuncRefCodeOffset));
  a.ldur(w10, ptr(x10, kEntryArgSlotsOffset));
  a.cmp(x9, x10);
  a.csel(x9, x10, x9, CondCode::kLO);
  a.str(x9, ptr(sp, 16));
  a.lsl(x10, x9, Imm(3));
  a.add(x10, x10, Imm(15));
  a.and_(x10, x10, Imm(~uint64_t(15)));
  a.sub(sp, sp, x10);
  copy_slots(a, ptr(sp, x12, lsl(3)), ptr(x1, x12, lsl(3)), x9);  // the arguments in
  a.ldr(x20, ptr(x19, rt::kFuncRefVmctxOffset));
  a.ldr(x21, ptr(x20, rt::kVmctxMemoryBaseOffset));  // pinned memory base (regs_a64.h)
  a.ldr(x9, ptr(x20, rt::kVmctxStoreOffset));
  a.ldr(x10, ptr(x9, rt::kStoreStackRemainingOffset));  // budget: store->stack_remaining
  a.stur(x10, ptr(x29, jit::FrameLayout::kBudgetSlot));
  gas_into_register(a, x9, x10);
  a.ldr(x9, ptr(x19, rt::kFuncRefCodeOffset));
  a.blr(x9);
  a.ldur(x9, ptr(x29, kActSlot));  // act -> store: the gas left back to gas_used
  a.ldr(x9, ptr(x9, rt::kActivationStoreOffset));
  gas_from_register(a, x9, x10);
  a.ldur(x1, ptr(x29, kActSlot + 8));
  a.ldur(x9, ptr(x29, kActSlot + 16));
  copy_slots(a, ptr(x1, x12, lsl(3)), ptr(sp, x12, lsl(3)), x9);  // the results out
  a.mov(w0, wzr);
  a.sub(sp, x29, Imm(-kActSlot));  // back to entry_sp, then the common restore path
  a.b(restore);

  // Trap landing: sp = act->entry_sp (set by the trap exit or the signal handler).
  a.bind(landing);
  a.ldr(x9, ptr(sp));
  a.ldr(w0, ptr(x9, rt::kActivationTrapCodeOffset));
  // The gas left back to gas_used: the register is as the trapping code left it (a fault's
  // context rewrite keeps it; the out-of-gas exit zeroes it).
  a.ldr(x9, ptr(x9, rt::kActivationStoreOffset));
  gas_from_register(a, x9, x10);
  a.bind(restore);
  a.add(sp, sp, Imm(32));
  restore_callee_saved(a);
  a.add(sp, sp, Imm(16 + kSaveArea));
  a.ldp(x29, x30, ptr_post(sp, 16));
  a.ret(x30);
}

// Internal convention in (x20 = HostCallContext*, args area at the caller's sp = [x29 + 16]);
// calls ctx->dispatch(ctx, args_area) in the host C ABI; a non-zero result is a trap code. It
// publishes its caller's stack budget in store->stack_remaining for the host function's
// re-entrant calls and puts the previous value back afterwards (after a trap the runtime
// restores it from the activation).
void emit_host_call(Assembler& a, OsAbi abi) {
  Label trap = a.newLabel();
  a.stp(x29, x30, ptr_pre(sp, -16));
  a.mov(x29, sp);
  // [x29 - 8] the previous store->stack_remaining, [x29 - 16] the budget slot (unused: the stub
  // calls no wasm directly).
  a.sub(sp, sp, Imm(16));
  a.ldr(x16, ptr(x29));                                   // the caller's frame
  a.ldur(x16, ptr(x16, jit::FrameLayout::kBudgetSlot));
  a.ldr(x17, ptr(x20, rt::kVmctxStoreOffset));
  a.ldr(x9, ptr(x17, rt::kStoreStackRemainingOffset));
  a.stur(x9, ptr(x29, -8));
  a.str(x16, ptr(x17, rt::kStoreStackRemainingOffset));
  gas_from_register(a, x17, x16);  // the host function (and its re-entrant calls) see gas_used
  a.mov(x0, x20);
  a.add(x1, x29, Imm(16));
  a.ldr(x16, ptr(x20, rt::kHostCtxDispatchOffset));
  a.blr(x16);                                             // x20 is callee-saved in AAPCS64
  a.ldr(x17, ptr(x20, rt::kVmctxStoreOffset));
  gas_into_register(a, x17, x16);  // host charges and nested calls: also before a trap exit
  a.cbnz(w0, trap);
  a.ldur(x9, ptr(x29, -8));
  a.str(x9, ptr(x17, rt::kStoreStackRemainingOffset));
  a.mov(sp, x29);
  a.ldp(x29, x30, ptr_post(sp, 16));
  a.ret(x30);
  a.bind(trap);
  a.mov(x17, xzr);  // trap_pc = 0: the trap came from the host
  MasmA64 masm(a, abi);
  masm.trap_exit_with_code_in_return_reg();
}

}  // namespace

bool generate_stubs(OsAbi abi, const CompileOptions& options, EngineStubs* out, std::string* error) {
  CodeHolder code;
  code.init(Environment(Arch::kAArch64));
  RecordingErrorHandler handler;
  code.setErrorHandler(&handler);
  StringLogger logger;
  if (options.want_disassembly) code.setLogger(&logger);
  Assembler a(&code);
  a.align(AlignMode::kCode, TraitsA64::kCodeAlign);
  out->entry_offset = uint32_t(a.offset());
  emit_entry(a);
  // The host-call stub has no fixed signature: its prefix word (arg slots) is 0.
  a.align(AlignMode::kCode, TraitsA64::kCodeAlign);
  auto prefix = entry_prefix<TraitsA64>(0);
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

}  // namespace nvm::jit::a64
