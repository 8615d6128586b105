// platform.h — every OS call the runtime makes goes through here (one implementation per OS:
// platform_posix.cpp for Linux/macOS, platform_win.cpp for Windows).
//
// Signal-handler state (the only global mutable state of the runtime, documented here):
//   * the thread-local current Activation* (trap_state.h, `current_activation()`),
//   * the code-registry snapshot pointer (code_registry.h),
//   * the record of the previously installed SIGSEGV/SIGBUS handlers (platform_posix.cpp) or the
//     vectored-exception-handler handle (platform_win.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nvm::rt::platform {

size_t page_size();

// Bytes of native stack left below the caller's frame on this thread (stack grows down), or
// SIZE_MAX when the OS cannot tell. The thread's bounds are looked up once per thread.
size_t native_stack_remaining();

// Make the `bytes` of native stack below the caller's frame usable in any order before wasm runs
// on them. Windows commits a thread's stack one guard page at a time, in order, and JIT code has
// no stack probes: a wasm frame larger than a page would step over the guard page onto reserved
// memory (an access violation that is not a trap). Pages are touched top-down once per thread
// (a compare afterwards). Elsewhere (Linux, macOS grow or map stacks without that rule): nothing.
// Only called with bytes <= native_stack_remaining().
void prepare_native_stack(size_t bytes);

// ---- linear-memory reservations ------------------------------------------------------------
// Reserve `bytes` of address space, inaccessible (PROT_NONE / MEM_RESERVE), without committing
// memory or swap. Returns nullptr on failure.
void* reserve(size_t bytes);
// Make [p, p+bytes) readable and writable (zero-filled the first time). `p`, `bytes` page-aligned.
bool commit(void* p, size_t bytes);
// Give a whole reservation back.
void release(void* p, size_t bytes);
// Make committed [p, p+bytes) read as zero again, dropping its physical pages (the memory pool's
// reset: O(committed pages), untouched pages cost nothing). Afterwards the range is committed
// and *still_committed says whether it stayed
// accessible (Linux: MADV_DONTNEED keeps it) or became inaccessible (macOS, Windows: decommitted).
bool zero_committed(void* p, size_t bytes, bool* still_committed);
// Make committed [p, p+bytes) inaccessible again (PROT_NONE / MEM_DECOMMIT); its contents are
// dropped on Windows and macOS, kept (but unreachable) on Linux — callers zero first.
bool decommit(void* p, size_t bytes);

// ---- executable code (W^X) -----------------------------------------------------------------
struct CodeMemory {
  uint8_t* ptr = nullptr;
  size_t size = 0;  // mapped size (page-rounded)
};
// Map `n` bytes of code: map writable, copy, flip to read+execute, flush the icache. The region
// is never writable and executable at the same time.
bool map_code(const uint8_t* bytes, size_t n, CodeMemory* out, std::string* error);
void unmap_code(CodeMemory* mem);

// ---- traps ---------------------------------------------------------------------------------
// Called on every entry from the host into wasm (cheap): installs the fault handler the first
// time, re-installs it if something (e.g. Python's faulthandler) replaced it since — chaining to
// whatever is installed now — and gives the calling thread an alternate signal stack.
// Returns false (with *error) only if the OS refused.
bool ensure_trap_handler(std::string* error);

}  // namespace nvm::rt::platform
