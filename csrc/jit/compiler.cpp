// compiler.cpp — compile_program: the composition root (docs/design.md "JIT structure"). Per program: one asmjit
// CodeHolder with a single text section (so the code is position-independent with no
// relocations); per function: a CodeGen over a fresh value stack / allocator / frame.
// No global mutable state.
#include <asmjit/x86.h>

#include <algorithm>
#include <cstring>

#include "jit/codegen.h"
#include "jit/jit.h"
#include "jit/reader.h"
#include "jit/trap_sites.h"
#include "jit/x64/masm_x64.h"

namespace nvm::jit {

Isa host_isa() {
#if defined(__aarch64__) || defined(_M_ARM64)
  return Isa::A64;
#else
  return Isa::X64;
#endif
}

namespace {

// Records the first asmjit error instead of letting it pass silently.
class RecordingErrorHandler : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error err, const char* message, asmjit::BaseEmitter*) override {
    if (error == asmjit::kErrorOk) { error = err; text = message ? message : "asmjit error"; }
  }
  asmjit::Error error = asmjit::kErrorOk;
  std::string text;
};

bool compile_x64(const ProgramInfo& info, const CompileOptions& options, CompiledProgram* out,
                 std::string* error, size_t program_size) {
  using namespace asmjit;
  CodeHolder code;
  code.init(Environment(Arch::kX64));
  // Machine code is ~1.7x the bytecode on ordinary modules: reserving up front saves the
  // buffer's repeated grow-and-copy (a failed reservation is harmless: it grows as needed).
  (void)code.reserveBuffer(&code.textSection()->buffer(), std::min<size_t>(program_size * 2 + 4096, size_t{1} << 30));
  RecordingErrorHandler handler;
  code.setErrorHandler(&handler);
  StringLogger logger;
  if (options.want_disassembly) {
    logger.addFlags(FormatFlags::kMachineCode);
    code.setLogger(&logger);
  }
  x86::Assembler a(&code);
  x64::MasmX64 masm(a);

  size_t n_local = info.bodies.size();
  std::vector<Label> func_labels(n_local);
  for (auto& l : func_labels) l = a.newLabel();
  std::vector<uint32_t> patch_offsets(n_local);
  std::vector<uint64_t> frame_sizes(n_local);
  out->func_offsets.assign(n_local, 0);
  out->func_sizes.assign(n_local, 0);

  for (size_t i = 0; i < n_local; ++i) {
    BodyHeader header;
    if (!read_body_header(info, info.bodies[i], &header, error)) return false;
    // Entry prefix: 12 padding bytes + u32 max(n_params, n_results), read by the entry
    // trampoline to size the argument area (stubs_x64.cpp); the entry is 16-byte aligned.
    a.align(AlignMode::kCode, 16);
    {
      const FuncType& t = info.types[info.func_types[info.bodies[i].func_index]];
      uint32_t slots = uint32_t(std::max(t.params.size(), t.results.size()));
      uint8_t prefix[16] = {0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC};
      std::memcpy(prefix + 12, &slots, 4);
      a.embed(prefix, sizeof(prefix));
    }
    if (options.want_disassembly) logger.logf("; function %u\n", info.bodies[i].func_index);
    a.bind(func_labels[i]);
    out->func_offsets[i] = uint32_t(a.offset());
    FunctionContext ctx{&info, &info.bodies[i], &header, out, error};
    if (!compile_function(masm, ctx, func_labels, &patch_offsets[i], &frame_sizes[i])) return false;
    if (frame_sizes[i] > 0x7FFFFFF0ull) { *error = "function frame too large"; return false; }
    out->func_sizes[i] = uint32_t(a.offset()) - out->func_offsets[i];
    if (handler.error != kErrorOk) { *error = "assembler error: " + handler.text; return false; }
  }
  // Frame sizes are known only after each body (outgoing call area, if-parameter saves).
  uint8_t* buf = code.textSection()->buffer().data();
  for (size_t i = 0; i < n_local; ++i) {
    uint32_t v = uint32_t(frame_sizes[i]);
    std::memcpy(buf + patch_offsets[i], &v, 4);
  }
  code.flatten();
  code.resolveUnresolvedLinks();
  if (code.relocateToBase(0) != kErrorOk || handler.error != kErrorOk) {
    *error = "assembler error: " + (handler.text.empty() ? std::string("relocation") : handler.text);
    return false;
  }
  out->code.assign(code.codeSize(), 0);
  if (!out->code.empty()) code.copyFlattenedData(out->code.data(), out->code.size());
  if (options.want_disassembly) out->disassembly.assign(logger.data(), logger.dataSize());
  return true;
}

}  // namespace

bool compile_program(const uint8_t* program, size_t size, const CompileOptions& options,
                     CompiledProgram* out, std::string* error) {
  std::string local_error;
  if (!error) error = &local_error;
  *out = CompiledProgram{};
  ProgramInfo info;
  if (!read_program(program, size, &info, error)) return false;
  out->n_imported_funcs = info.n_imported_funcs;
  if (options.isa != Isa::X64) { *error = "ISA not supported yet (aarch64 backend pending)"; return false; }
  bool ok = compile_x64(info, options, out, error, size);
  if (!ok) { out->code.clear(); out->trap_sites.clear(); return false; }
  sort_trap_sites(&out->trap_sites);
  return true;
}

}  // namespace nvm::jit
