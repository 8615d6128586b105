// vmctx.h — the data JIT code reads at run time, and the calling conventions around it.
//
// This is the contract between the JIT (csrc/jit) and the runtime (csrc/runtime). Generated code
// reaches everything outside itself through these structs (position-independent code: loading an
// artifact is copy + protect). Offsets used by codegen are the `k*Offset` constants below, each
// checked with static_assert, so a layout change cannot silently break generated code.
// See docs/runtime-abi.md for the prose version.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvm::rt {

struct VMContext;
struct Activation;

// A function reference: what funcref values, tables, `funcs[]` and exports point to. Its address
// is stable for the lifetime of the owning instance (or host function object).
struct VMFuncRef {
  void* code;           // entry point in the internal calling convention (docs/runtime-abi.md)
  VMContext* vmctx;     // the callee's context (for host functions: a host-call context, see below)
  uint32_t type_id;     // engine-wide canonical signature id (equal ids <=> equal FuncTypes)
  uint32_t func_index;  // index in the owning module (for backtraces); ~0u for host functions
};

// A table. Elements are VMFuncRef* for funcref tables, opaque externref handles (0 = null) for
// externref tables. Both are pointer-sized; null is 0.
struct VMTable {
  uintptr_t* elems;     // `size` entries, capacity >= size
  uint32_t size;
  uint32_t maximum;     // 0xFFFFFFFF when unbounded
  uint32_t capacity;
  uint8_t elem_type;    // 0x70 funcref, 0x6F externref
  uint8_t reserved[3];
};

// A global's storage cell. i32/f32 use the low 32 bits of `bits` (upper 32 bits zero), i64/f64
// all 64, references store the pointer/handle in `bits`. Imported globals point to the
// exporter's cell, so `vmctx->globals[i]` is always a pointer.
struct VMGlobal {
  uint64_t bits;
  uint64_t reserved;
};

// Store-wide counters, shared by every instance of a Store (and by re-entrant calls).
struct VMStoreContext {
  uint64_t gas_used;        // cumulative
  uint64_t gas_limit;       // 2^64-1 = unlimited
  int64_t stack_remaining;  // deterministic stack budget left, in bytes
  Activation* activation;   // innermost active entry (null when no wasm runs on this store)
  // Linear fee of bulk operations (memory.copy/fill/init per byte, table.copy/fill/init per
  // element), charged by the runtime helpers before their bounds check; both 0 without metering.
  uint64_t bulk_base;
  uint64_t bulk_per_unit;
  // Nonzero when the Store meters gas. Metered code keeps the gas left (gas_limit - gas_used) in
  // a register (x64 r13, RegsX64::kGasReg) while wasm runs; gas_used is current only while no
  // wasm runs, during host calls and around runtime helpers (docs/runtime-abi.md "Gas").
  uint64_t gas_metered;
};

// One entry from the host into wasm, pushed by the runtime's invoke and read by the trap
// handler (through a thread-local pointer) and by trap stubs (through vmctx->store->activation).
struct Activation {
  uintptr_t entry_sp;       // stack pointer the trap landing expects (set by the entry trampoline)
  void* landing;            // address of the entry trampoline's trap landing
  uint32_t trap_code;       // NVM_TRAP_* set before jumping to `landing`
  uint32_t arg_slots;       // set by invoke: slots in args_results = max(n_params, n_results)
  uintptr_t trap_pc;        // faulting pc, for the backtrace/trap-site lookup (0 if explicit)
  Activation* prev;         // previous activation on this thread (re-entrancy)
  VMStoreContext* store;
  int64_t saved_stack_remaining;  // budget at entry: restored when this activation traps
  uint64_t saved_fp;        // frame pointer at the trap (for backtraces), 0 if unknown
};

// Out-of-line helpers (libcalls). Each returns 0 on success or an NVM_TRAP_* code; generated code
// tests the result and jumps to the trap exit with that code. Index arguments are raw wasm values.
// table.grow's "the fee did not fit" result: INT32_MIN is never a table size (sizes stay below
// the 10,000,000-element implementation limit) nor -1.
inline constexpr int32_t kTableGrowOutOfGas = INT32_MIN;

struct RuntimeHelpers {
  // memory.grow: returns the previous size in pages, or -1 (as int32) when it cannot grow.
  int32_t (*memory_grow)(VMContext* vmctx, uint32_t delta_pages);
  uint32_t (*memory_fill)(VMContext* vmctx, uint32_t dst, uint32_t value, uint32_t n);
  uint32_t (*memory_copy)(VMContext* vmctx, uint32_t dst, uint32_t src, uint32_t n);
  uint32_t (*memory_init)(VMContext* vmctx, uint32_t data_index, uint32_t dst, uint32_t src, uint32_t n);
  uint32_t (*data_drop)(VMContext* vmctx, uint32_t data_index);
  // table.grow: charges the bulk fee for `delta` elements first (like table.fill), then returns
  // the previous size, or -1 (as int32) when it cannot grow, or kTableGrowOutOfGas when the fee
  // does not fit the gas left (generated code then traps OUT_OF_GAS).
  int32_t (*table_grow)(VMContext* vmctx, uint32_t table_index, uintptr_t init, uint32_t delta);
  uint32_t (*table_fill)(VMContext* vmctx, uint32_t table_index, uint32_t dst, uintptr_t value, uint32_t n);
  uint32_t (*table_copy)(VMContext* vmctx, uint32_t dst_table, uint32_t src_table, uint32_t dst, uint32_t src, uint32_t n);
  uint32_t (*table_init)(VMContext* vmctx, uint32_t table_index, uint32_t elem_index, uint32_t dst, uint32_t src, uint32_t n);
  uint32_t (*elem_drop)(VMContext* vmctx, uint32_t elem_index);
};

// Per-instance context. Generated code holds a pointer to it in the ISA's vmctx register.
struct VMContext {
  uint8_t* memory_base;          // linear memory 0 (nullptr if the module has none)
  uint64_t memory_size;          // current size in bytes
  VMStoreContext* store;
  VMGlobal** globals;            // [n_globals]
  VMFuncRef** funcs;             // [n_funcs]: imports resolved to the provider's VMFuncRef
  VMTable** tables;              // [n_tables]
  const uint32_t* type_ids;      // [n_types]: canonical id of each module type index
  const RuntimeHelpers* helpers;
  void* instance;                // runtime back-pointer (opaque to generated code)
  // Nonzero when the Store was asked to interrupt (nvm_store_interrupt, from any thread). Code
  // compiled without gas metering tests it at every loop header and function entry; it lives here
  // rather than in VMStoreContext so the test is one compare against the vmctx register. Written
  // with relaxed atomic stores; a stale read only delays the trap to the next check.
  uint32_t interrupt;
  uint32_t reserved;
};

inline constexpr int32_t kVmctxMemoryBaseOffset = 0;
inline constexpr int32_t kVmctxMemorySizeOffset = 8;
inline constexpr int32_t kVmctxStoreOffset = 16;
inline constexpr int32_t kVmctxGlobalsOffset = 24;
inline constexpr int32_t kVmctxFuncsOffset = 32;
inline constexpr int32_t kVmctxTablesOffset = 40;
inline constexpr int32_t kVmctxTypeIdsOffset = 48;
inline constexpr int32_t kVmctxHelpersOffset = 56;
inline constexpr int32_t kVmctxInstanceOffset = 64;
inline constexpr int32_t kVmctxInterruptOffset = 72;
static_assert(offsetof(VMContext, memory_base) == kVmctxMemoryBaseOffset);
static_assert(offsetof(VMContext, memory_size) == kVmctxMemorySizeOffset);
static_assert(offsetof(VMContext, store) == kVmctxStoreOffset);
static_assert(offsetof(VMContext, globals) == kVmctxGlobalsOffset);
static_assert(offsetof(VMContext, funcs) == kVmctxFuncsOffset);
static_assert(offsetof(VMContext, tables) == kVmctxTablesOffset);
static_assert(offsetof(VMContext, type_ids) == kVmctxTypeIdsOffset);
static_assert(offsetof(VMContext, helpers) == kVmctxHelpersOffset);
static_assert(offsetof(VMContext, instance) == kVmctxInstanceOffset);
static_assert(offsetof(VMContext, interrupt) == kVmctxInterruptOffset);

inline constexpr int32_t kStoreGasUsedOffset = 0;
inline constexpr int32_t kStoreGasLimitOffset = 8;
inline constexpr int32_t kStoreStackRemainingOffset = 16;
inline constexpr int32_t kStoreActivationOffset = 24;
static_assert(offsetof(VMStoreContext, gas_used) == kStoreGasUsedOffset);
static_assert(offsetof(VMStoreContext, gas_limit) == kStoreGasLimitOffset);
static_assert(offsetof(VMStoreContext, stack_remaining) == kStoreStackRemainingOffset);
static_assert(offsetof(VMStoreContext, activation) == kStoreActivationOffset);
inline constexpr int32_t kStoreGasMeteredOffset = 48;
static_assert(offsetof(VMStoreContext, gas_metered) == kStoreGasMeteredOffset);
inline constexpr int32_t kActivationStoreOffset = 40;
static_assert(offsetof(Activation, store) == kActivationStoreOffset);

inline constexpr int32_t kActivationEntrySpOffset = 0;
inline constexpr int32_t kActivationLandingOffset = 8;
inline constexpr int32_t kActivationTrapCodeOffset = 16;
inline constexpr int32_t kActivationArgSlotsOffset = 20;
inline constexpr int32_t kActivationTrapPcOffset = 24;
inline constexpr int32_t kActivationSavedFpOffset = 56;
static_assert(offsetof(Activation, entry_sp) == kActivationEntrySpOffset);
static_assert(offsetof(Activation, landing) == kActivationLandingOffset);
static_assert(offsetof(Activation, trap_code) == kActivationTrapCodeOffset);
static_assert(offsetof(Activation, arg_slots) == kActivationArgSlotsOffset);
static_assert(offsetof(Activation, trap_pc) == kActivationTrapPcOffset);
static_assert(offsetof(Activation, saved_fp) == kActivationSavedFpOffset);

inline constexpr int32_t kFuncRefCodeOffset = 0;
inline constexpr int32_t kFuncRefVmctxOffset = 8;
inline constexpr int32_t kFuncRefTypeIdOffset = 16;
static_assert(offsetof(VMFuncRef, code) == kFuncRefCodeOffset);
static_assert(offsetof(VMFuncRef, vmctx) == kFuncRefVmctxOffset);
static_assert(offsetof(VMFuncRef, type_id) == kFuncRefTypeIdOffset);

inline constexpr int32_t kTableElemsOffset = 0;
inline constexpr int32_t kTableSizeOffset = 8;
static_assert(offsetof(VMTable, elems) == kTableElemsOffset);
static_assert(offsetof(VMTable, size) == kTableSizeOffset);

static_assert(sizeof(VMGlobal) == 16);

// Host functions: a VMFuncRef whose `code` is the engine's host-call stub and whose `vmctx`
// points to a HostCallContext (not a VMContext). The stub calls `dispatch(ctx, args_results)`
// in the host C ABI; `args_results` is the caller's argument area (see docs/runtime-abi.md).
// A non-zero return is a trap code: the stub then leaves through the trap exit.
struct HostCallContext;
using HostDispatchFn = uint32_t (*)(HostCallContext* ctx, uint64_t* args_results);
// `store` sits at the same offset as VMContext::store, so the trap exit code (which finds the
// Activation through `ctx->store->activation`) works the same from wasm code and host stubs.
struct HostCallContext {
  HostDispatchFn dispatch;       // offset 0: called by the host-call stub
  void* user;                    // offset 8: runtime-owned (callable handle, signature, ...)
  VMStoreContext* store;         // offset 16: the Store the host function belongs to
};
inline constexpr int32_t kHostCtxDispatchOffset = 0;
static_assert(offsetof(HostCallContext, dispatch) == kHostCtxDispatchOffset);
static_assert(offsetof(HostCallContext, store) == kVmctxStoreOffset);

// The entry trampoline (generated once per engine by the JIT backend), host C ABI:
//   uint32_t entry(VMFuncRef* callee, uint64_t* args_results, Activation* act);
// Returns 0 when the call completed (results are in args_results[0..n_results)), or the trap
// code. It saves the host ABI's callee-saved registers, stores its stack pointer in
// act->entry_sp and its trap landing in act->landing, copies args_results into the callee's
// argument area, calls callee->code with callee->vmctx, copies the results back.
using EntryTrampolineFn = uint32_t (*)(VMFuncRef* callee, uint64_t* args_results, Activation* act);

}  // namespace nvm::rt
