// selftest.cpp — the trap-handling foundation slice (test-only C ABI: nvm_selftest_*).
//
// A hand-assembled stand-in for what the JIT produces: an entry trampoline with the contract of
// rt::EntryTrampolineFn (saves callee-saved registers, records act->entry_sp / act->landing,
// trap landing returning act->trap_code) and one "wasm function" in the internal convention that
// loads a u32 from vmctx->memory_base + arg0. The load is a registered trap site, so an
// out-of-bounds offset exercises the real path: invoke -> Activation -> guard-page fault ->
// signal handler -> registry lookup -> context rewrite -> landing -> Trap in Python.
// x86_64 SysV only (the real JIT covers the other ABIs).
#include <cstring>
#include <memory>
#include <string>

#include "nearvm.h"
#include "runtime/code_registry.h"
#include "runtime/runtime.h"

#if defined(__x86_64__) && !defined(_WIN32)
#include <asmjit/x86.h>
#define NVM_SELFTEST_SUPPORTED 1
#endif

using namespace nvm::rt;

struct nvm_selftest {
  std::shared_ptr<CodeBlob> blob;
  uint64_t token = 0;
  EntryTrampolineFn entry = nullptr;
  void* func = nullptr;
  ~nvm_selftest() {
    if (token) registry_unregister(token);
  }
};

namespace {
int st_fail(char* err, size_t errlen, int status, const std::string& msg) {
  if (err && errlen) {
    size_t n = msg.size() < errlen - 1 ? msg.size() : errlen - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = 0;
  }
  return status;
}
}  // namespace

extern "C" int nvm_selftest_new(nvm_selftest_t** out, char* err, size_t errlen) {
#ifndef NVM_SELFTEST_SUPPORTED
  (void)out;
  return st_fail(err, errlen, NVM_ERR_UNSUPPORTED, "selftest code exists for x86_64 SysV only");
#else
  try {
    using namespace asmjit;
    using namespace asmjit::x86;
    Environment env(Arch::kX64);
    CodeHolder code;
    code.init(env);
    Assembler a(&code);
    Label landing = a.newLabel(), done = a.newLabel(), fn = a.newLabel();
    // entry(rdi = callee, rsi = args_results, rdx = act)
    a.push(rbp);
    a.mov(rbp, rsp);
    a.push(rbx);
    a.push(r12);
    a.push(r13);
    a.push(r14);
    a.push(r15);
    a.sub(rsp, 8);                      // 16-byte aligned; [rsp] = act (read by the landing)
    a.mov(qword_ptr(rsp), rdx);
    a.mov(qword_ptr(rdx, kActivationEntrySpOffset), rsp);
    a.lea(rax, x86::ptr(landing));
    a.mov(qword_ptr(rdx, kActivationLandingOffset), rax);
    a.mov(r12, rsi);
    a.sub(rsp, 16);                     // argument area: 2 slots
    a.mov(rax, qword_ptr(rsi));
    a.mov(qword_ptr(rsp), rax);
    a.mov(r14, qword_ptr(rdi, kFuncRefVmctxOffset));  // vmctx register (selftest convention)
    a.call(qword_ptr(rdi, kFuncRefCodeOffset));
    a.mov(rax, qword_ptr(rsp));
    a.mov(qword_ptr(r12), rax);
    a.add(rsp, 16);
    a.xor_(eax, eax);
    a.jmp(done);
    a.bind(landing);                    // rsp == act->entry_sp (set by the fault handler)
    a.mov(rdx, qword_ptr(rsp));
    a.mov(eax, dword_ptr(rdx, kActivationTrapCodeOffset));
    a.bind(done);
    a.add(rsp, 8);
    a.pop(r15);
    a.pop(r14);
    a.pop(r13);
    a.pop(r12);
    a.pop(rbx);
    a.pop(rbp);
    a.ret();
    // "wasm" function: arg slot 0 at [rsp + 8] (above the return address)
    a.align(AlignMode::kCode, 16);
    a.bind(fn);
    a.mov(rax, qword_ptr(r14, kVmctxMemoryBaseOffset));
    a.mov(ecx, dword_ptr(rsp, 8));
    size_t load_off = a.offset();
    a.mov(eax, dword_ptr(rax, rcx));    // the trap site
    a.mov(qword_ptr(rsp, 8), rax);
    a.ret();
    code.flatten();
    code.resolveUnresolvedLinks();
    std::vector<uint8_t> bytes(code.codeSize());
    if (code.copyFlattenedData(bytes.data(), bytes.size()) != kErrorOk)
      return st_fail(err, errlen, NVM_ERR_INVALID, "asmjit copy failed");
    auto st = std::make_unique<nvm_selftest>();
    st->blob = std::make_shared<CodeBlob>();
    nvm::jit::TrapSite site{static_cast<uint32_t>(load_off), NVM_TRAP_MEMORY_OUT_OF_BOUNDS, 0, 0};
    st->blob->sites.push_back(site);
    std::string error;
    if (!platform::map_code(bytes.data(), bytes.size(), &st->blob->mem, &error))
      return st_fail(err, errlen, NVM_ERR_PLATFORM, error);
    CodeRange range;
    range.start = reinterpret_cast<uintptr_t>(st->blob->mem.ptr);
    range.end = range.start + bytes.size();
    range.sites = st->blob->sites.data();
    range.n_sites = st->blob->sites.size();
    range.keepalive = st->blob;
    st->token = registry_register(range);
    st->entry = reinterpret_cast<EntryTrampolineFn>(st->blob->mem.ptr);
    st->func = st->blob->mem.ptr + code.labelOffsetFromBase(fn);
    *out = st.release();
    return NVM_OK;
  } catch (...) {
    return st_fail(err, errlen, NVM_ERR_NOMEM, "selftest setup failed");
  }
#endif
}

extern "C" void nvm_selftest_free(nvm_selftest_t* selftest) { delete selftest; }

extern "C" uint32_t nvm_selftest_load(nvm_selftest_t* st, nvm_store_t* store, nvm_memory_t* memory, uint32_t offset,
                                      uint32_t* value) {
  auto* s = reinterpret_cast<StoreImpl*>(store);
  auto* m = reinterpret_cast<MemoryImpl*>(memory);
  VMContext ctx{};
  ctx.memory_base = m->base;
  ctx.memory_size = m->size_bytes;
  ctx.store = &s->ctx;
  ctx.helpers = &kHelpers;
  VMFuncRef ref{st->func, &ctx, 0, 0};
  uint64_t slots[2] = {offset, 0};
  uint32_t code = invoke(s, st->entry, &ref, slots, 2);
  if (code == 0 && value) *value = static_cast<uint32_t>(slots[0]);
  return code;
}
