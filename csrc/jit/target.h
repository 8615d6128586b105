// target.h — what generated code is for: an ISA plus the host OS ABI it calls into.
//
// The one place the library's own target is decided (host_target(), from the compiler's
// predefined macros). The JIT takes a Target in CompileOptions and never looks at the build host
// again; the runtime, the C API (nvm_host_isa / nvm_host_os_abi) and the artifact header all
// read this value, so a module compiled here and an artifact written here agree on it.
//
// The enumerator values are the artifact header's ids (python/nearvm/artifact.py ISAS, OS_ABIS).
// Only the engine stubs and runtime-helper calls depend on the OS ABI: wasm-to-wasm code uses
// the internal convention, which is the same on every OS of an ISA (docs/runtime-abi.md).
#pragma once

#include <cstdint>

namespace nvm::jit {

enum class Isa : uint8_t { X64 = 1, A64 = 2 };
enum class OsAbi : uint8_t { SysV = 1, Darwin = 2, Win64 = 3 };

struct Target {
  Isa isa;
  OsAbi abi;
  bool operator==(const Target& o) const { return isa == o.isa && abi == o.abi; }
  bool operator!=(const Target& o) const { return !(*this == o); }
};

constexpr Target host_target() {
#if defined(__x86_64__) || defined(_M_X64)
  constexpr Isa isa = Isa::X64;
#elif defined(__aarch64__) || defined(_M_ARM64)
  constexpr Isa isa = Isa::A64;
#else
#error "nearvm supports x86_64 and aarch64 hosts only"
#endif
#if defined(_WIN32)
  constexpr OsAbi abi = OsAbi::Win64;
#elif defined(__APPLE__)
  constexpr OsAbi abi = OsAbi::Darwin;
#else
  constexpr OsAbi abi = OsAbi::SysV;
#endif
  return Target{isa, abi};
}

// Names as the artifact header and the C API spell them.
constexpr const char* isa_name(Isa i) { return i == Isa::X64 ? "x86_64" : "aarch64"; }
constexpr const char* os_abi_name(OsAbi a) {
  return a == OsAbi::SysV ? "sysv" : a == OsAbi::Darwin ? "darwin" : "win64";
}

}  // namespace nvm::jit
