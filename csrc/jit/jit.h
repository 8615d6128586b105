// jit.h — what the JIT gives the runtime: position-independent machine code plus metadata.
//
// Contract between csrc/jit (owner: the JIT) and csrc/runtime (owner: the runtime). The JIT
// never maps memory executable and never touches a VMContext at compile time: it turns a
// bytecode program (docs/bytecode.md) into bytes; the runtime copies them into W^X code memory,
// registers the trap sites with the code registry, and builds VMContexts (csrc/runtime/vmctx.h)
// that the code reads at run time. The same bytes are what an artifact stores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jit/target.h"

namespace nvm::jit {

// A place in generated code where a trap can originate.
struct TrapSite {
  uint32_t pc_offset;        // offset in CompiledProgram::code of the faulting/trapping instruction
  uint32_t trap_code;        // NVM_TRAP_* (for faults: what a fault at this pc means)
  uint32_t func_index;       // wasm function index (imports included)
  // Offset of the trapping op in the function's `code[]` (docs/bytecode.md "Function body"),
  // i.e. counted from the first op (STACK), after the locals/limits header.
  uint32_t bytecode_offset;
};
// trap_code of a *call site*: pc_offset is a call's return address and bytecode_offset the call
// op's, so a backtrace's outer frames get offsets too. Never a trap: fault and trap lookups skip
// it (sort_trap_sites puts a real site first where both share a pc).
inline constexpr uint32_t kCallSiteCode = 0x100;

struct CompileOptions {
  // What to generate code for (any target can be generated on any host; only host_target()'s
  // code can run here).
  Target target = host_target();
  // When set, `disassembly` receives asmjit's logger text (golden tests, debugging).
  bool want_disassembly = false;
};

struct CompiledProgram {
  std::vector<uint8_t> code;            // all local functions, position-independent
  std::vector<uint32_t> func_offsets;   // entry of local function i (index - n_imported_funcs)
  std::vector<uint32_t> func_sizes;     // code size of local function i
  std::vector<TrapSite> trap_sites;     // sorted by pc_offset (binary-searchable)
  uint32_t n_imported_funcs = 0;
  std::string disassembly;              // filled when CompileOptions::want_disassembly
  // Work counters for linear-time tests (ops visited, bytes emitted).
  uint64_t ops_visited = 0;
};

// Compile a whole bytecode program. Returns false and sets *error on malformed input or a
// limit; never crashes on any input bytes.
bool compile_program(const uint8_t* program, size_t size, const CompileOptions& options,
                     CompiledProgram* out, std::string* error);

// Engine-wide stubs, generated once per engine (and per ISA):
//  - entry trampoline: rt::EntryTrampolineFn (host C ABI) — see vmctx.h / docs/runtime-abi.md
//  - host-call stub: internal convention in, calls HostCallContext::dispatch in the host C ABI
//  - trap landing: inside the entry trampoline (its address is stored in Activation::landing by
//    the trampoline itself, so the runtime never needs it)
struct EngineStubs {
  std::vector<uint8_t> code;            // position-independent
  uint32_t entry_offset = 0;
  uint32_t host_call_offset = 0;
  std::string disassembly;
};
// Stubs for options.target (golden tests generate every ISA/ABI variant on any host).
bool generate_stubs(const CompileOptions& options, EngineStubs* out, std::string* error);

}  // namespace nvm::jit
