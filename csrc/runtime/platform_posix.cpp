// platform_posix.cpp — OS layer for Linux and macOS: mmap/mprotect, SIGSEGV/SIGBUS handler.
//
// Trap exit: the handler never longjmps. If the faulting pc is registered JIT code and the thread
// has a live Activation, it stores the trap code and pc in the Activation and rewrites the
// interrupted context: pc := act->landing, sp := act->entry_sp. Returning from the handler then
// "resumes" in the entry trampoline's trap landing, which restores the callee-saved registers and
// returns the trap code (docs/runtime-abi.md). Anything else is chained to the handler that was
// installed before ours (SIG_DFL: restore it and let the fault re-execute / re-raise).
#if !defined(_WIN32)

#include "runtime/platform.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#if defined(__APPLE__)
#include <libkern/OSCacheControl.h>
#endif

#include "runtime/code_registry.h"
#include "runtime/code_write.h"
#include "runtime/trap_state.h"

namespace nvm::rt::platform {

size_t native_stack_remaining() {
  // The low end of this thread's stack, found once per thread (pthread_getattr_np reads
  // /proc/self/maps for the main thread: far too slow for every call).
  static thread_local uintptr_t stack_low = 0;
  static thread_local bool known = false;
  if (!known) {
    known = true;
#if defined(__APPLE__)
    pthread_t self = pthread_self();
    stack_low = reinterpret_cast<uintptr_t>(pthread_get_stackaddr_np(self)) - pthread_get_stacksize_np(self);
#else
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* addr = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &addr, &size) == 0) stack_low = reinterpret_cast<uintptr_t>(addr);
      pthread_attr_destroy(&attr);
    }
#endif
  }
  if (stack_low == 0) return SIZE_MAX;
  const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return here > stack_low ? size_t(here - stack_low) : 0;
}

void prepare_native_stack(size_t /*bytes*/) {}

size_t page_size() {
  static const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

void* reserve(size_t bytes) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
  void* p = mmap(nullptr, bytes, PROT_NONE, flags, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

bool commit(void* p, size_t bytes) {
  if (bytes == 0) return true;
  return mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
}

void release(void* p, size_t bytes) {
  if (p) munmap(p, bytes);
}

bool zero_committed(void* p, size_t bytes, bool* still_committed) {
  *still_committed = true;
  if (bytes == 0) return true;
#if defined(__linux__)
  // Private anonymous mapping: the pages are freed and read as zero on the next touch.
  return madvise(p, bytes, MADV_DONTNEED) == 0;
#else
  // macOS: MADV_DONTNEED does not zero. A fresh anonymous mapping in place does (and frees).
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
  *still_committed = false;
  return mmap(p, bytes, PROT_NONE, flags, -1, 0) != MAP_FAILED;
#endif
}

bool decommit(void* p, size_t bytes) {
  if (bytes == 0) return true;
  return mprotect(p, bytes, PROT_NONE) == 0;
}

#if !(defined(__APPLE__) && defined(__aarch64__))
namespace {

// Idle code regions (docs/runtime.md "Code memory"). Mapping fresh pages for code costs a page
// fault (allocate + zero) per page and an munmap later: most of loading a large artifact. A
// freed region is therefore kept, read+write and no longer executable (one mprotect; its pages
// stay populated), and the next map_code of a similar size takes it: copy, zero the rest,
// mprotect RX (one more). A region is only freed once no code-registry snapshot refers to it
// (CodeBlob's keepalive), so nothing can still execute in it. Bounded in regions and bytes;
// beyond that, regions are unmapped.
struct IdleCode {
  uint8_t* ptr;
  size_t size;
};
constexpr size_t kCodePoolMaxRegions = 32;
constexpr size_t kCodePoolMaxBytes = size_t{64} << 20;

struct CodePool {
  std::mutex mutex;
  std::vector<IdleCode> idle;
  size_t bytes = 0;
};

CodePool& code_pool() {
  static CodePool* pool = new CodePool();  // never destroyed: modules may be freed during exit
  return *pool;
}

// The smallest idle region of at least `size` bytes and at most a quarter larger (so a small
// module never pins a large region), removed from the pool.
bool code_pool_take(size_t size, IdleCode* out) {
  CodePool& pool = code_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  size_t best = pool.idle.size();
  for (size_t i = 0; i < pool.idle.size(); ++i) {
    size_t s = pool.idle[i].size;
    if (s >= size && s - size <= size / 4 && (best == pool.idle.size() || s < pool.idle[best].size)) best = i;
  }
  if (best == pool.idle.size()) return false;
  *out = pool.idle[best];
  pool.idle.erase(pool.idle.begin() + static_cast<std::ptrdiff_t>(best));  // keeps oldest-first order
  pool.bytes -= out->size;
  return true;
}

// A freed region joins the pool (made read+write first, so a taker never gets executable
// memory); the least recently freed ones are unmapped when the pool is over its limits, so a
// burst of small modules cannot keep a large one from being recycled.
bool code_pool_give(uint8_t* ptr, size_t size) {
  if (size > kCodePoolMaxBytes || mprotect(ptr, size, PROT_READ | PROT_WRITE) != 0) return false;
  IdleCode evicted[kCodePoolMaxRegions + 1];
  size_t n_evicted = 0;
  {
    CodePool& pool = code_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    try {
      pool.idle.push_back(IdleCode{ptr, size});
    } catch (...) {
      return false;
    }
    pool.bytes += size;
    size_t drop = 0;
    while (pool.idle.size() - drop > kCodePoolMaxRegions || pool.bytes > kCodePoolMaxBytes) {
      evicted[n_evicted++] = pool.idle[drop];
      pool.bytes -= pool.idle[drop].size;
      ++drop;
    }
    pool.idle.erase(pool.idle.begin(), pool.idle.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  for (size_t i = 0; i < n_evicted; ++i) munmap(evicted[i].ptr, evicted[i].size);
  return true;
}

// Regions of at least this size are populated by mmap itself (one call instead of a fault per page).
constexpr size_t kPopulateMin = size_t{64} << 10;

}  // namespace
#endif

bool map_code(const uint8_t* bytes, size_t n, CodeMemory* out, std::string* error) {
  const size_t ps = page_size();
  size_t size = (n + ps - 1) / ps * ps;
  if (size == 0) size = ps;
#if defined(__APPLE__) && defined(__aarch64__)
  // Apple silicon: MAP_JIT + per-thread write protection (code_write.h). No pool: a region
  // is never handed out writable to another thread's view anyway, and MAP_JIT mappings are cheap
  // next to the copy.
  struct AppleJit {
    void* map_jit(size_t bytes) {
      void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_JIT, -1, 0);
      return m == MAP_FAILED ? nullptr : m;
    }
    void write_protect(bool on) { pthread_jit_write_protect_np(on ? 1 : 0); }
    void icache_invalidate(void* m, size_t bytes) { sys_icache_invalidate(m, bytes); }
    const char* last_error() { return strerror(errno); }
  } os;
  uint8_t* p = write_jit_code(os, bytes, n, size, error);
  if (p == nullptr) return false;
#else
  IdleCode reuse;
  if (code_pool_take(size, &reuse)) {  // read+write already
    std::memcpy(reuse.ptr, bytes, n);
    std::memset(reuse.ptr + n, 0, reuse.size - n);  // nothing of the previous code stays
    if (mprotect(reuse.ptr, reuse.size, PROT_READ | PROT_EXEC) == 0) {
#if defined(__APPLE__)
      sys_icache_invalidate(reuse.ptr, reuse.size);
#else
      __builtin___clear_cache(reinterpret_cast<char*>(reuse.ptr), reinterpret_cast<char*>(reuse.ptr) + reuse.size);
#endif
      out->ptr = reuse.ptr;
      out->size = reuse.size;
      return true;
    }
    munmap(reuse.ptr, reuse.size);  // could not protect it: drop it, map fresh pages below
  }
#if defined(MAP_POPULATE)
  const int populate = size >= kPopulateMin ? MAP_POPULATE : 0;
#else
  const int populate = 0;
#endif
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | populate, -1, 0);
  if (p == MAP_FAILED) {
    if (error) *error = std::string("mmap failed: ") + strerror(errno);
    return false;
  }
  std::memcpy(p, bytes, n);
  if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0) {
    if (error) *error = std::string("mprotect(RX) failed: ") + strerror(errno);
    munmap(p, size);
    return false;
  }
#if defined(__APPLE__)
  sys_icache_invalidate(p, size);
#else
  __builtin___clear_cache(static_cast<char*>(p), static_cast<char*>(p) + size);
#endif
#endif
  out->ptr = static_cast<uint8_t*>(p);
  out->size = size;
  return true;
}

void unmap_code(CodeMemory* mem) {
#if !(defined(__APPLE__) && defined(__aarch64__))
  if (mem->ptr && !code_pool_give(mem->ptr, mem->size)) munmap(mem->ptr, mem->size);
#else
  if (mem->ptr) munmap(mem->ptr, mem->size);
#endif
  mem->ptr = nullptr;
  mem->size = 0;
}

// ---------------------------------------------------------------------------------------------
// Fault handling
// ---------------------------------------------------------------------------------------------
namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS};
constexpr int kNumSignals = 2;

// Signal-handler state: the handlers that were installed before ours (what we chain to). Written
// only under g_install_mutex, outside signal context; read by the handler.
struct sigaction g_prev[kNumSignals];
std::mutex g_install_mutex;

int signal_slot(int sig) { return sig == SIGSEGV ? 0 : 1; }

uintptr_t context_pc(void* uc_void) {
  auto* uc = static_cast<ucontext_t*>(uc_void);
#if defined(__linux__) && defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__linux__) && defined(__aarch64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#elif defined(__APPLE__) && defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext->__ss.__rip);
#elif defined(__APPLE__) && defined(__aarch64__)
  return static_cast<uintptr_t>(__darwin_arm_thread_state64_get_pc(uc->uc_mcontext->__ss));
#else
#error "nearvm: unsupported OS/ISA for the trap handler"
#endif
}

uintptr_t context_fp(void* uc_void) {
  auto* uc = static_cast<ucontext_t*>(uc_void);
#if defined(__linux__) && defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP]);
#elif defined(__linux__) && defined(__aarch64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.regs[29]);
#elif defined(__APPLE__) && defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext->__ss.__rbp);
#elif defined(__APPLE__) && defined(__aarch64__)
  return static_cast<uintptr_t>(__darwin_arm_thread_state64_get_fp(uc->uc_mcontext->__ss));
#endif
}

void context_set_pc_sp(void* uc_void, uintptr_t pc, uintptr_t sp) {
  auto* uc = static_cast<ucontext_t*>(uc_void);
#if defined(__linux__) && defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
  uc->uc_mcontext.gregs[REG_RSP] = static_cast<greg_t>(sp);
#elif defined(__linux__) && defined(__aarch64__)
  uc->uc_mcontext.pc = pc;
  uc->uc_mcontext.sp = sp;
#elif defined(__APPLE__) && defined(__x86_64__)
  uc->uc_mcontext->__ss.__rip = pc;
  uc->uc_mcontext->__ss.__rsp = sp;
#elif defined(__APPLE__) && defined(__aarch64__)
  __darwin_arm_thread_state64_set_pc_fptr(uc->uc_mcontext->__ss, reinterpret_cast<void*>(pc));
  __darwin_arm_thread_state64_set_sp(uc->uc_mcontext->__ss, sp);
#endif
}

void trap_signal_handler(int sig, siginfo_t* info, void* uc);

// Restore the default disposition for `sig` (async-signal-safe).
void reset_default(int sig) {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
}

void chain(int sig, siginfo_t* info, void* uc) {
  ThreadTrapState* ts = rt::thread_trap_state();
  if (ts->in_chain) {
    // Re-entered from the handler we chained to (e.g. faulthandler re-raising after its report
    // while believing *we* are its predecessor): give up and let the default action happen.
    reset_default(sig);
    return;
  }
  const struct sigaction& prev = g_prev[signal_slot(sig)];
  if (prev.sa_flags & SA_SIGINFO) {
    ts->in_chain = 1;
    prev.sa_sigaction(sig, info, uc);
    ts->in_chain = 0;
    return;
  }
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler == SIG_DFL) {
    reset_default(sig);
    // A real fault re-executes and now takes the default action; a sent signal is re-raised.
    if (info == nullptr || info->si_code <= 0) raise(sig);
    return;
  }
  ts->in_chain = 1;
  prev.sa_handler(sig);
  ts->in_chain = 0;
}

void trap_signal_handler(int sig, siginfo_t* info, void* uc) {
  int saved_errno = errno;
  ThreadTrapState* ts = rt::thread_trap_state();
  Activation* act = ts->activation;
  if (act != nullptr && !ts->in_chain && info != nullptr && info->si_code > 0) {
    uintptr_t pc = context_pc(uc);
    jit::TrapSite site{};
    bool has_site = false;
    if (registry_lookup(pc, &site, &has_site, nullptr)) {
      act->trap_code = has_site ? site.trap_code : 2u /* NVM_TRAP_MEMORY_OUT_OF_BOUNDS */;
      if (act->trap_code == 0) act->trap_code = 2u;
      act->trap_pc = pc;
      act->saved_fp = context_fp(uc);
      context_set_pc_sp(uc, reinterpret_cast<uintptr_t>(act->landing), act->entry_sp);
      errno = saved_errno;
      return;
    }
  }
  chain(sig, info, uc);
  errno = saved_errno;
}

bool install_locked(std::string* error) {
  for (int i = 0; i < kNumSignals; ++i) {
    int sig = kSignals[i];
    struct sigaction cur;
    if (sigaction(sig, nullptr, &cur) != 0) {
      if (error) *error = std::string("sigaction failed: ") + strerror(errno);
      return false;
    }
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == trap_signal_handler) continue;
    struct sigaction ours;
    std::memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = trap_signal_handler;
    // SA_NODEFER: a handler we chain to may re-raise the signal; it must reach us at once so the
    // in_chain guard can end the chain (see chain()).
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    g_prev[i] = cur;  // chain to whatever is installed now
    if (sigaction(sig, &ours, nullptr) != 0) {
      if (error) *error = std::string("sigaction failed: ") + strerror(errno);
      return false;
    }
  }
  return true;
}

// The signal a guard-page access raises: SIGSEGV on Linux; macOS may raise SIGBUS as well, so
// both are checked there. Replacing only a signal our traps never raise (SIGBUS on Linux) needs
// no re-install; when a check fails, install_locked() re-installs both.
#if defined(__APPLE__)
constexpr int kCheckedSignals[] = {SIGSEGV, SIGBUS};
#else
constexpr int kCheckedSignals[] = {SIGSEGV};
#endif

bool handler_installed() {
  for (int sig : kCheckedSignals) {
    struct sigaction cur;
    if (sigaction(sig, nullptr, &cur) != 0) return false;
    if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == trap_signal_handler)) return false;
  }
  return true;
}

// Per-thread alternate signal stack (so the handler runs even if the native stack is exhausted).
// Installed the first time a thread enters wasm; removed and freed when the thread exits. A
// thread that already has one (e.g. set up by faulthandler) keeps its own.
struct AltStack {
  void* mem = nullptr;
  size_t size = 0;
  bool checked = false;
  ~AltStack() {
    if (mem) {
      stack_t ss;
      std::memset(&ss, 0, sizeof ss);
      ss.ss_flags = SS_DISABLE;
      sigaltstack(&ss, nullptr);
      munmap(mem, size);
    }
  }
};
thread_local AltStack t_altstack;

bool ensure_altstack(std::string* error) {
  AltStack& as = t_altstack;
  if (as.checked) return true;
  stack_t cur;
  if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_sp != nullptr) {
    as.checked = true;
    return true;
  }
  const size_t size = 64 * 1024;
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    if (error) *error = "cannot allocate the signal stack";
    return false;
  }
  stack_t ss;
  std::memset(&ss, 0, sizeof ss);
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (sigaltstack(&ss, nullptr) != 0) {
    munmap(mem, size);
    if (error) *error = std::string("sigaltstack failed: ") + strerror(errno);
    return false;
  }
  as.mem = mem;
  as.size = size;
  as.checked = true;
  return true;
}

}  // namespace

bool ensure_trap_handler(std::string* error) {
  if (!ensure_altstack(error)) return false;
  // Fast path: one sigaction query (Linux). Something (faulthandler.enable(), another runtime)
  // may have replaced our handler since the last call: then re-install, chaining to it. This runs
  // on every entry, nested ones included: a host function may have called faulthandler.enable()
  // before re-entering wasm, and a nested trap must still land (docs/runtime.md "Trap handling").
  if (handler_installed()) return true;
  std::lock_guard<std::mutex> lock(g_install_mutex);
  return install_locked(error);
}

}  // namespace nvm::rt::platform

#endif  // !_WIN32
