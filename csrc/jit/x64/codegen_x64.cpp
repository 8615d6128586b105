// codegen_x64.cpp — ISA-neutral codegen (codegen_impl.h) instantiated for the x64 masm.
#include "jit/codegen_impl.h"
#include "jit/x64/masm_x64.h"

namespace nvm::jit {

template bool compile_function<x64::MasmX64>(x64::MasmX64&, const FunctionContext&,
                                             const std::vector<asmjit::Label>&, uint32_t*, uint64_t*);

}  // namespace nvm::jit
