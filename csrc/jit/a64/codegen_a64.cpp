// codegen_a64.cpp — ISA-neutral codegen (codegen_impl.h) instantiated for the aarch64 masm.
#include "jit/a64/masm_a64.h"
#include "jit/codegen_impl.h"

namespace nvm::jit {

template bool compile_function<a64::MasmA64>(a64::MasmA64&, const FunctionContext&,
                                             const std::vector<asmjit::Label>&, uint32_t*, uint64_t*);

}  // namespace nvm::jit
