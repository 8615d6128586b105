// platform_win.cpp — OS layer for Windows: VirtualAlloc/VirtualProtect, vectored exception handler.
//
// Same trap exit as POSIX (docs/runtime-abi.md, docs/design.md "Platforms"): the VEH reads only the
// thread-local Activation and the code registry; for an access violation in registered JIT code
// with a live activation it rewrites ContextRecord->Rip/Rsp (Pc/Sp on arm64) to the entry
// trampoline's landing and returns EXCEPTION_CONTINUE_EXECUTION — no longjmp, no SEH unwinding
// through JIT frames (JIT code has no unwind info). Everything else: EXCEPTION_CONTINUE_SEARCH.
// Not runnable in this repository's Linux CI; cross-checked against the wine prototype.
#if defined(_WIN32)

#include "runtime/platform.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <cstring>
#include <mutex>

#include "runtime/code_registry.h"
#include "runtime/trap_state.h"

namespace nvm::rt::platform {

size_t native_stack_remaining() {
  ULONG_PTR low = 0, high = 0;
  GetCurrentThreadStackLimits(&low, &high);
  const uintptr_t here = reinterpret_cast<uintptr_t>(&low);
  return (low != 0 && here > low) ? size_t(here - low) : SIZE_MAX;
}

void prepare_native_stack(size_t bytes) {
  // NT_TIB::StackLimit is the lowest committed address of this thread's stack (the guard page
  // lies just below it); the kernel moves it down as guard pages are touched in order. This is
  // the walk a compiler's stack probe (__chkstk) does for a large frame, done once for the whole
  // span wasm may use.
  auto* tib = reinterpret_cast<NT_TIB*>(NtCurrentTeb());
  volatile uint8_t marker = 0;
  const uintptr_t here = reinterpret_cast<uintptr_t>(&marker);
  const uintptr_t ps = page_size();
  uintptr_t target = (here > bytes ? here - bytes : 0) & ~(ps - 1);
  uintptr_t committed = reinterpret_cast<uintptr_t>(tib->StackLimit);
  if (committed <= target) return;  // the common case: done before on this thread
  ULONG_PTR low = 0, high = 0;
  GetCurrentThreadStackLimits(&low, &high);
  // Never into the last pages of the reservation (Windows keeps them for stack-overflow handling).
  const uintptr_t floor = uintptr_t(low) + 16 * ps;
  if (target < floor) target = floor;
  for (uintptr_t p = committed - ps; p >= target && p < committed; p -= ps) {
    (void)*reinterpret_cast<volatile const uint8_t*>(p);
    committed = p;
  }
}

size_t page_size() {
  static const size_t ps = [] {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return static_cast<size_t>(si.dwPageSize);
  }();
  return ps;
}

void* reserve(size_t bytes) { return VirtualAlloc(nullptr, bytes, MEM_RESERVE, PAGE_NOACCESS); }

bool commit(void* p, size_t bytes) {
  if (bytes == 0) return true;
  return VirtualAlloc(p, bytes, MEM_COMMIT, PAGE_READWRITE) != nullptr;
}

void release(void* p, size_t /*bytes*/) {
  if (p) VirtualFree(p, 0, MEM_RELEASE);
}

bool zero_committed(void* p, size_t bytes, bool* still_committed) {
  // Decommitted pages are zero-filled when committed again.
  *still_committed = false;
  if (bytes == 0) return true;
  return VirtualFree(p, bytes, MEM_DECOMMIT) != 0;
}

bool decommit(void* p, size_t bytes) {
  if (bytes == 0) return true;
  return VirtualFree(p, bytes, MEM_DECOMMIT) != 0;
}

bool map_code(const uint8_t* bytes, size_t n, CodeMemory* out, std::string* error) {
  const size_t ps = page_size();
  size_t size = (n + ps - 1) / ps * ps;
  if (size == 0) size = ps;
  void* p = VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (!p) {
    if (error) *error = "VirtualAlloc failed";
    return false;
  }
  std::memcpy(p, bytes, n);
  DWORD old = 0;
  if (!VirtualProtect(p, size, PAGE_EXECUTE_READ, &old)) {
    VirtualFree(p, 0, MEM_RELEASE);
    if (error) *error = "VirtualProtect(PAGE_EXECUTE_READ) failed";
    return false;
  }
  FlushInstructionCache(GetCurrentProcess(), p, size);
  out->ptr = static_cast<uint8_t*>(p);
  out->size = size;
  return true;
}

void unmap_code(CodeMemory* mem) {
  if (mem->ptr) VirtualFree(mem->ptr, 0, MEM_RELEASE);
  mem->ptr = nullptr;
  mem->size = 0;
}

namespace {

// Signal-handler state: the VEH registration handle (installed once, never removed: a VEH is
// process-wide and cannot be displaced the way a POSIX signal handler can).
PVOID g_veh = nullptr;
std::mutex g_install_mutex;

LONG CALLBACK trap_veh(PEXCEPTION_POINTERS info) {
  DWORD code = info->ExceptionRecord->ExceptionCode;
  if (code != EXCEPTION_ACCESS_VIOLATION && code != EXCEPTION_IN_PAGE_ERROR &&
      code != EXCEPTION_STACK_OVERFLOW)
    return EXCEPTION_CONTINUE_SEARCH;
  ThreadTrapState* ts = rt::thread_trap_state();
  Activation* act = ts->activation;
  if (act == nullptr) return EXCEPTION_CONTINUE_SEARCH;
  CONTEXT* ctx = info->ContextRecord;
#if defined(_M_X64) || defined(__x86_64__)
  uintptr_t pc = static_cast<uintptr_t>(ctx->Rip);
#elif defined(_M_ARM64) || defined(__aarch64__)
  uintptr_t pc = static_cast<uintptr_t>(ctx->Pc);
#endif
  jit::TrapSite site{};
  bool has_site = false;
  if (!registry_lookup(pc, &site, &has_site, nullptr)) return EXCEPTION_CONTINUE_SEARCH;
  act->trap_code = (has_site && site.trap_code) ? site.trap_code : 2u /* MEMORY_OUT_OF_BOUNDS */;
  act->trap_pc = pc;
#if defined(_M_X64) || defined(__x86_64__)
  act->saved_fp = static_cast<uint64_t>(ctx->Rbp);
  ctx->Rip = reinterpret_cast<DWORD64>(act->landing);
  ctx->Rsp = static_cast<DWORD64>(act->entry_sp);
#elif defined(_M_ARM64) || defined(__aarch64__)
  act->saved_fp = static_cast<uint64_t>(ctx->Fp);
  ctx->Pc = reinterpret_cast<DWORD64>(act->landing);
  ctx->Sp = static_cast<DWORD64>(act->entry_sp);
#endif
  return EXCEPTION_CONTINUE_EXECUTION;
}

}  // namespace

bool ensure_trap_handler(std::string* error) {
  if (g_veh != nullptr) return true;  // benign race: re-checked under the mutex
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_veh != nullptr) return true;
  // First in the chain, so it sees access violations before any SEH frame does.
  g_veh = AddVectoredExceptionHandler(1, trap_veh);
  if (g_veh == nullptr) {
    if (error) *error = "AddVectoredExceptionHandler failed";
    return false;
  }
  return true;
}

}  // namespace nvm::rt::platform

#endif  // _WIN32
