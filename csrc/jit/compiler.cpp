// compiler.cpp — compile_program and generate_stubs: the composition root (docs/design.md "JIT structure"), and
// the one place a Target's ISA selects a backend. Per program: one asmjit CodeHolder with a
// single text section (so the code is position-independent with no relocations); per function:
// a CodeGen over a fresh value stack / allocator / frame. Everything below the ISA switch is a
// template over the backend's masm (static dispatch). No global mutable state.
#include <asmjit/core.h>

#include <algorithm>
#include <cstring>

#include "jit/codegen.h"
#include "jit/jit.h"
#include "jit/reader.h"
#include "jit/trap_sites.h"
#include "jit/a64/masm_a64.h"
#include "jit/x64/masm_x64.h"

namespace nvm::jit {

namespace x64 {
bool generate_stubs(OsAbi abi, const CompileOptions& options, EngineStubs* out, std::string* error);
}  // namespace x64
namespace a64 {
bool generate_stubs(OsAbi abi, const CompileOptions& options, EngineStubs* out, std::string* error);
}  // namespace a64

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

// An upper estimate of machine-code bytes per bytecode byte, for deciding which functions may
// outgrow the ISA's conditional-branch range (Traits::kCondBranchRange) and so get long-form
// conditional branches. Exceeded only by pathological bodies: compile_program then compiles the
// whole program again with long forms everywhere (`all_long`), so no valid module fails to
// compile because of a branch displacement, on any ISA.
constexpr uint64_t kCodeBytesPerBytecodeByte = 16;

template <class Masm>
bool compile_for(const ProgramInfo& info, const CompileOptions& options, CompiledProgram* out,
                 std::string* error, size_t program_size, bool all_long, bool* out_of_range) {
  using namespace asmjit;
  using Traits = typename Masm::Traits;
  CodeHolder code;
  code.init(Environment(Masm::kAsmjitArch));
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
  typename Masm::Assembler a(&code);
  Masm masm(a, options.target.abi);

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
    // Entry prefix: the argument-slot count the entry trampoline reads (masm.h entry_prefix).
    const FuncType& t = info.types[info.func_types[info.bodies[i].func_index]];
    masm.function_prefix(uint32_t(std::max(t.params.size(), t.results.size())));
    masm.use_long_branches(all_long ||
                           uint64_t(header.code_size) * kCodeBytesPerBytecodeByte >= Traits::kCondBranchRange);
    if (options.want_disassembly) logger.logf("; function %u\n", info.bodies[i].func_index);
    a.bind(func_labels[i]);
    out->func_offsets[i] = uint32_t(a.offset());
    FunctionContext ctx{&info, &info.bodies[i], &header, out, error};
    if (!compile_function(masm, ctx, func_labels, &patch_offsets[i], &frame_sizes[i])) return false;
    if (frame_sizes[i] > Traits::kMaxFrameSize) { *error = "function frame too large"; return false; }
    out->func_sizes[i] = uint32_t(a.offset()) - out->func_offsets[i];
    if (handler.error != kErrorOk) {
      *out_of_range = handler.error == kErrorInvalidDisplacement;
      *error = "assembler error: " + handler.text;
      return false;
    }
  }
  // Frame sizes are known only after each body (outgoing call area, if-parameter saves).
  uint8_t* buf = code.textSection()->buffer().data();
  for (size_t i = 0; i < n_local; ++i) Traits::patch_frame_size(buf, patch_offsets[i], frame_sizes[i]);
  code.flatten();
  code.resolveUnresolvedLinks();
  if (code.relocateToBase(0) != kErrorOk || handler.error != kErrorOk) {
    *out_of_range = handler.error == kErrorInvalidDisplacement;
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
  bool ok = false;
  for (bool all_long : {false, true}) {
    bool out_of_range = false;
    switch (options.target.isa) {
      case Isa::X64: ok = compile_for<x64::MasmX64>(info, options, out, error, size, all_long, &out_of_range); break;
      case Isa::A64: ok = compile_for<a64::MasmA64>(info, options, out, error, size, all_long, &out_of_range); break;
      default: *error = "no JIT backend for this ISA"; return false;
    }
    if (ok || !out_of_range) break;
    *out = CompiledProgram{};  // a branch out of range: again, every conditional branch long
    out->n_imported_funcs = info.n_imported_funcs;
  }
  if (!ok) { out->code.clear(); out->trap_sites.clear(); return false; }
  sort_trap_sites(&out->trap_sites);
  return true;
}

bool generate_stubs(const CompileOptions& options, EngineStubs* out, std::string* error) {
  *out = EngineStubs{};
  switch (options.target.isa) {
    case Isa::X64: return x64::generate_stubs(options.target.abi, options, out, error);
    case Isa::A64: return a64::generate_stubs(options.target.abi, options, out, error);
    default:
      if (error) *error = "no JIT backend for this ISA";
      return false;
  }
}

}  // namespace nvm::jit
