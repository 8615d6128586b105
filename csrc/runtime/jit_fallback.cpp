// jit_fallback.cpp — weak stand-ins for the JIT entry points (csrc/jit/jit.h).
//
// They let the extension load and the non-executing parts of the runtime (stores, memories,
// tables, globals, host functions) work while csrc/jit is not built in. The JIT's own (strong)
// definitions replace them at link time; remove this file once the JIT has landed everywhere.
// MSVC has no weak symbols: there the JIT must be present.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)

#include "jit/jit.h"

namespace nvm::jit {

__attribute__((weak)) Isa host_isa() {
#if defined(__aarch64__)
  return Isa::A64;
#else
  return Isa::X64;
#endif
}

__attribute__((weak)) bool compile_program(const uint8_t*, size_t, const CompileOptions&, CompiledProgram*,
                                           std::string* error) {
  if (error) *error = "the JIT is not built into this nearvm library";
  return false;
}

__attribute__((weak)) bool generate_stubs(const CompileOptions&, EngineStubs*, std::string* error) {
  if (error) *error = "the JIT is not built into this nearvm library";
  return false;
}

}  // namespace nvm::jit

#endif
