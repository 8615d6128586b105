// code_write.h — how code reaches MAP_JIT memory on Apple silicon, written against the three OS
// primitives it needs so that the order of operations (the W^X state machine) is unit-tested on
// any host with a fake (tests/runtime/cpp/unit_code_write.cpp); platform_posix.cpp instantiates
// it with the real ones.
//
// Apple's rules ("Porting just-in-time compilers to Apple silicon", and the
// pthread_jit_write_protect_np(3) manual page):
//   * code memory is mapped once, read+write+execute, with MAP_JIT (MAP_PRIVATE; the Hardened
//     Runtime additionally requires the host process's com.apple.security.cs.allow-jit);
//   * whether a thread may write or execute it is a per-thread switch: write protection on (the
//     default of every thread) = execute but not write, off = write but not execute. Other
//     threads are unaffected, so code they are running stays executable meanwhile;
//   * after writing, protection goes back on, and the instruction cache is invalidated
//     (sys_icache_invalidate) before the new code runs — the data and instruction caches of
//     arm64 are not coherent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace nvm::rt::platform {

// Os provides: void* map_jit(size_t size) (nullptr on failure), void write_protect(bool on),
// void icache_invalidate(void* p, size_t size), const char* last_error().
// Returns the code's address (size bytes mapped, the first n holding `bytes`, the rest zero from
// the fresh mapping), or nullptr with *error set. The calling thread's write protection is on
// whenever this returns.
template <class Os>
uint8_t* write_jit_code(Os& os, const uint8_t* bytes, size_t n, size_t size, std::string* error) {
  void* p = os.map_jit(size);
  if (p == nullptr) {
    if (error) *error = std::string("mmap(MAP_JIT) failed: ") + os.last_error();
    return nullptr;
  }
  os.write_protect(false);  // this thread: write, not execute
  std::memcpy(p, bytes, n);
  os.write_protect(true);   // back to the default before anything else runs on this thread
  os.icache_invalidate(p, size);
  return static_cast<uint8_t*>(p);
}

}  // namespace nvm::rt::platform
