// codegen.h — ISA-neutral single-pass lowering of one function body (docs/design.md "JIT structure" CodeGen<Masm>).
//
// The only class that sees both the value stack / register allocator / frame and the masm.
// Registers are a cache within straight-line code; every control-flow merge and call goes
// through prepare_merge() / spill_registers(), which put values in their fixed slots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jit/jit.h"
#include "jit/reader.h"

namespace nvm::jit {

struct FunctionContext {
  const ProgramInfo* info;
  const FunctionBody* body;
  const BodyHeader* header;
  CompiledProgram* out;
  std::string* error;
};

// Compiles one body with `Masm`; `func_labels` are the entry labels of every local function.
template <class Masm>
bool compile_function(Masm& masm, const FunctionContext& ctx,
                      const std::vector<typename Masm::Label>& func_labels,
                      uint32_t* frame_patch_offset, uint64_t* frame_size);

}  // namespace nvm::jit
