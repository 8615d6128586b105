// test_hooks.cpp — JIT test hooks (compile-only): golden disassembly, work counters and the
// malformed-bytecode fuzz test call these through ctypes, so the release C ABI (nearvm.h)
// carries no test-only declarations.
#include <cstring>
#include <string>

#include "jit/jit.h"

#if defined(_WIN32)
#define NVM_JIT_TEST_EXPORT extern "C" __declspec(dllexport)
#else
#define NVM_JIT_TEST_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace {
void copy_out(const std::string& text, char* out, size_t out_len) {
  if (!out || out_len == 0) return;
  size_t n = text.size() < out_len - 1 ? text.size() : out_len - 1;
  std::memcpy(out, text.data(), n);
  out[n] = 0;
}
}  // namespace

// Compiles `program`; returns 1 on success (out = disassembly when want_disasm), 0 on error
// (out = message). stats (may be null): [code bytes, ops visited, trap sites, functions].
// Returns the needed text size in *text_len so callers can retry with a larger buffer.
// `isa`/`os_abi`: jit/target.h ids, 0 = the library's own target. `code` (may be null) receives
// up to `code_cap` bytes of the machine code (golden tests disassemble them with objdump too).
NVM_JIT_TEST_EXPORT int nvm_jit_test_compile_for(int isa, int os_abi, const uint8_t* program, size_t len,
                                                 int want_disasm, char* out, size_t out_len, size_t* text_len,
                                                 uint64_t* stats, uint8_t* code, size_t code_cap) {
  nvm::jit::CompileOptions options;
  options.want_disassembly = want_disasm != 0;
  if (isa != 0) options.target.isa = nvm::jit::Isa(isa);
  if (os_abi != 0) options.target.abi = nvm::jit::OsAbi(os_abi);
  nvm::jit::CompiledProgram compiled;
  std::string error;
  bool ok = false;
  try {
    ok = nvm::jit::compile_program(program, len, options, &compiled, &error);
  } catch (...) {  // never let an exception cross the C boundary
    error = "internal error (exception)";
    ok = false;
  }
  const std::string& text = ok ? compiled.disassembly : error;
  if (text_len) *text_len = text.size() + 1;
  copy_out(text, out, out_len);
  if (stats) {
    stats[0] = compiled.code.size();
    stats[1] = compiled.ops_visited;
    stats[2] = compiled.trap_sites.size();
    stats[3] = compiled.func_offsets.size();
  }
  if (ok && code) std::memcpy(code, compiled.code.data(), compiled.code.size() < code_cap ? compiled.code.size() : code_cap);
  return ok ? 1 : 0;
}

NVM_JIT_TEST_EXPORT int nvm_jit_test_compile(const uint8_t* program, size_t len, int want_disasm,
                                             char* out, size_t out_len, size_t* text_len,
                                             uint64_t* stats) {
  return nvm_jit_test_compile_for(0, 0, program, len, want_disasm, out, out_len, text_len, stats, nullptr, 0);
}

NVM_JIT_TEST_EXPORT int nvm_jit_test_stubs_for(int isa, int os_abi, char* out, size_t out_len, size_t* text_len) {
  namespace j = nvm::jit;
  j::CompileOptions options;
  options.want_disassembly = true;
  options.target = j::Target{j::Isa(isa), j::OsAbi(os_abi)};
  j::EngineStubs stubs;
  std::string error;
  bool ok = j::generate_stubs(options, &stubs, &error);
  const std::string& text = ok ? stubs.disassembly : error;
  if (text_len) *text_len = text.size() + 1;
  copy_out(text, out, out_len);
  return ok ? 1 : 0;
}

NVM_JIT_TEST_EXPORT int nvm_jit_test_stubs(int win64, char* out, size_t out_len, size_t* text_len) {
  return nvm_jit_test_stubs_for(int(nvm::jit::Isa::X64), int(win64 != 0 ? nvm::jit::OsAbi::Win64 : nvm::jit::OsAbi::SysV),
                                out, out_len, text_len);
}
