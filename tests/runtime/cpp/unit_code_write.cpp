// Unit tests of the W^X state machine of code memory, run on Linux through the platform
// interface (runtime/platform.h) and the MAP_JIT protocol (runtime/code_write.h):
//
//  * Apple silicon's protocol with a fake OS whose per-thread write protection is simulated with
//    page protections (protected = r-x, unprotected = rw-): writing while protected faults, so a
//    protocol that forgot to lift it crashes this test; the order of calls, the final state and
//    the failure path are checked.
//  * The Linux implementation itself: map_code leaves code r-x (never w and x at once, checked in
//    /proc/self/maps for the whole process after every step), unmap_code leaves a pooled region
//    rw- and not executable, a reused region is r-x again with nothing of the old code left; the
//    linear-memory states reserve (---) / commit (rw-) / decommit (---) / zero_committed.
// Built and run by tests/runtime/test_platform_units.py.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/code_write.h"
#include "runtime/platform.h"
#include "unit_check.h"

using namespace nvm::rt;

namespace {

// Permissions ("r-xp", ...) of the mapping holding `p`, or "" if unmapped; and whether any
// mapping of the process is writable and executable at once.
std::string perms_of(const void* p, bool* any_wx = nullptr) {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (any_wx) *any_wx = false;
  while (std::getline(maps, line)) {
    std::istringstream ls(line);
    std::string range, perms;
    ls >> range >> perms;
    const size_t dash = range.find('-');
    const uintptr_t lo = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t hi = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (a >= lo && a < hi) found = perms;
    if (any_wx && perms[1] == 'w' && perms[2] == 'x') *any_wx = true;
  }
  return found;
}

void check_no_wx() {
  bool wx = true;
  perms_of(nullptr, &wx);
  CHECK(!wx);
}

// ---- Apple silicon's protocol, simulated -------------------------------------------------------
struct FakeAppleJit {
  std::vector<std::string> log;
  uint8_t* region = nullptr;
  size_t size = 0;
  bool fail_map = false;
  bool write_protected = true;  // every thread starts protected (execute, not write)

  void* map_jit(size_t bytes) {
    log.push_back("map");
    if (fail_map) return nullptr;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    region = static_cast<uint8_t*>(m);
    size = bytes;
    return m;
  }
  void write_protect(bool on) {
    log.push_back(on ? "protect" : "unprotect");
    CHECK(on != write_protected);  // every switch changes the state (no redundant or lost switch)
    write_protected = on;
    CHECK(mprotect(region, size, on ? (PROT_READ | PROT_EXEC) : (PROT_READ | PROT_WRITE)) == 0);
  }
  void icache_invalidate(void* p, size_t bytes) {
    log.push_back("icache");
    CHECK(p == region && bytes == size);  // the whole region, after the last write
    CHECK(write_protected);
  }
  const char* last_error() { return "simulated failure"; }
};

void test_apple_protocol() {
  const size_t ps = platform::page_size();
  std::vector<uint8_t> code(ps + 100);
  for (size_t i = 0; i < code.size(); ++i) code[i] = uint8_t(i * 7 + 1);
  FakeAppleJit os;
  std::string error;
  uint8_t* p = platform::write_jit_code(os, code.data(), code.size(), 2 * ps, &error);
  CHECK(p != nullptr && p == os.region);
  CHECK((os.log == std::vector<std::string>{"map", "unprotect", "protect", "icache"}));
  CHECK(os.write_protected);
  CHECK(perms_of(p) == "r-xp");
  CHECK(p && std::memcmp(p, code.data(), code.size()) == 0);
  CHECK(p && p[code.size()] == 0 && p[2 * ps - 1] == 0);
  check_no_wx();
  munmap(os.region, os.size);

  FakeAppleJit failing;
  failing.fail_map = true;
  CHECK(platform::write_jit_code(failing, code.data(), code.size(), ps, &error) == nullptr);
  CHECK((failing.log == std::vector<std::string>{"map"}));  // protection never lifted
  CHECK(failing.write_protected);
  CHECK(error.find("MAP_JIT") != std::string::npos && error.find("simulated failure") != std::string::npos);
}

// ---- the Linux implementation ------------------------------------------------------------------
void test_code_memory_states() {
  const size_t ps = platform::page_size();
#if defined(__x86_64__)
  const std::vector<uint8_t> f42 = {0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3};  // mov eax, 42; ret
  const std::vector<uint8_t> f7 = {0xB8, 0x07, 0x00, 0x00, 0x00, 0xC3};   // mov eax, 7; ret
#elif defined(__aarch64__)
  const std::vector<uint8_t> f42 = {0x40, 0x05, 0x80, 0x52, 0xC0, 0x03, 0x5F, 0xD6};  // mov w0, #42; ret
  const std::vector<uint8_t> f7 = {0xE0, 0x00, 0x80, 0x52, 0xC0, 0x03, 0x5F, 0xD6};   // mov w0, #7; ret
#endif
  std::vector<uint8_t> big(ps + 64, 0xAB);
  std::memcpy(big.data(), f42.data(), f42.size());
  std::string error;
  platform::CodeMemory a;
  CHECK(platform::map_code(big.data(), big.size(), &a, &error));
  CHECK(a.size == 2 * ps);
  CHECK(perms_of(a.ptr) == "r-xp" && perms_of(a.ptr + ps) == "r-xp");
  check_no_wx();
  CHECK(reinterpret_cast<int (*)()>(a.ptr)() == 42);  // executable for real

  uint8_t* old = a.ptr;
  platform::unmap_code(&a);
  CHECK(a.ptr == nullptr && a.size == 0);
  const std::string idle = perms_of(old);
  CHECK(idle == "" || idle == "rw-p");  // unmapped, or pooled: never executable while idle
  check_no_wx();

  // A region of the same size comes back from the pool: executable again, only the new code in it.
  std::vector<uint8_t> small(ps + 8, 0);
  std::memcpy(small.data(), f7.data(), f7.size());
  platform::CodeMemory b;
  CHECK(platform::map_code(small.data(), small.size(), &b, &error));
  CHECK(perms_of(b.ptr) == "r-xp");
  check_no_wx();
  bool tail_zero = true;
  for (size_t i = small.size(); i < b.size; ++i) tail_zero = tail_zero && b.ptr[i] == 0;
  CHECK(tail_zero);  // nothing of the previous code (0xAB bytes) stays
  CHECK(reinterpret_cast<int (*)()>(b.ptr)() == 7);
  platform::unmap_code(&b);
  check_no_wx();
}

void test_linear_memory_states() {
  const size_t ps = platform::page_size();
  const size_t bytes = 16 * ps;
  uint8_t* m = static_cast<uint8_t*>(platform::reserve(bytes));
  CHECK(m != nullptr);
  CHECK(perms_of(m) == "---p");
  CHECK(platform::commit(m, 2 * ps));
  CHECK(perms_of(m) == "rw-p" && perms_of(m + 2 * ps) == "---p");
  m[0] = 1;
  m[2 * ps - 1] = 2;
  bool still = false;
  CHECK(platform::zero_committed(m, 2 * ps, &still));
  if (still) CHECK(m[0] == 0 && m[2 * ps - 1] == 0 && perms_of(m) == "rw-p");
  else CHECK(perms_of(m) == "---p");
  CHECK(platform::decommit(m, 2 * ps));
  CHECK(perms_of(m) == "---p");
  CHECK(platform::commit(m, ps));
  CHECK(m[0] == 0);  // committed again: zero
  platform::release(m, bytes);
  CHECK(perms_of(m) == "");
}

}  // namespace

int main() {
  test_apple_protocol();
  test_code_memory_states();
  test_linear_memory_states();
  return unit_check_result();
}
