// runtime.h — the runtime's objects behind the C ABI handles (csrc/api_runtime.cpp).
//
// Ownership: an Engine (stubs, signature interning) is shared by Modules and Stores. A Store owns
// every instance, host function, table, global and memory created in it; they live until the
// Store is freed (the Python objects keep their Store alive, so nothing dangles). A Memory is
// additionally reference-counted because Python memoryviews of its bytes may outlive the Store.
// Modules (code + metadata) are shared between Stores and kept alive by their instances.
// Threading: an Engine and a Module may be used from any thread; a Store by one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jit/jit.h"
#include "nearvm.h"
#include "runtime/platform.h"
#include "runtime/vmctx.h"

namespace nvm::rt {

// Bytes reserved per linear memory: 32-bit index + 32-bit offset + access width, plus a guard.
inline constexpr uint64_t kMemoryReservation = (uint64_t{1} << 33) + 65536;
inline constexpr uint64_t kPageSize = 65536;
inline constexpr uint32_t kMaxPages = 65536;
// Deterministic implementation limit on table sizes (table.grow past it returns -1).
inline constexpr uint32_t kMaxTableElems = 10'000'000;
inline constexpr uint32_t kUnbounded = 0xFFFFFFFFu;

struct CodeBlob {  // executable code + its trap sites; shared with the code registry
  platform::CodeMemory mem;
  std::vector<jit::TrapSite> sites;
  ~CodeBlob() { platform::unmap_code(&mem); }
};

struct EngineImpl {
  std::shared_ptr<CodeBlob> stubs;  // null when the JIT could not generate them
  uint64_t stubs_token = 0;
  EntryTrampolineFn entry = nullptr;
  void* host_call_stub = nullptr;
  std::string stub_error;
  std::mutex types_mutex;
  std::map<std::string, uint32_t> type_ids;  // canonical signature encoding -> id
  ~EngineImpl();
  uint32_t intern(const uint8_t* params, uint32_t np, const uint8_t* results, uint32_t nr);
};

struct ModuleImpl {
  std::shared_ptr<EngineImpl> engine;
  std::shared_ptr<CodeBlob> code;
  uint64_t token = 0;
  uint32_t n_imported_funcs = 0;
  std::vector<uint32_t> func_offsets;   // local functions
  std::vector<uint32_t> func_sizes;     // local functions (artifacts: api_artifact.cpp)
  size_t code_size = 0;                 // exact code bytes (mem.size is page-rounded)
  std::vector<uint32_t> func_type_ids;  // all functions (imports first): canonical ids
  std::vector<uint32_t> type_ids;       // module type index -> canonical id
  std::vector<std::vector<uint8_t>> datas;
  ~ModuleImpl();
  // Local function index whose code contains `code_offset` (an offset in code->mem), or -1.
  // Thread-safe; the offset-sorted index is built on first use (backtraces only).
  int64_t local_func_at(uint64_t code_offset) const;

 private:
  mutable std::once_flag order_once_;
  mutable std::vector<uint32_t> order_;  // local function indices sorted by func_offsets
};

struct StoreImpl;
struct InstanceImpl;

struct MemoryImpl {
  std::atomic<int> refs{1};
  uint8_t* base = nullptr;
  uint64_t size_bytes = 0;
  uint32_t pages = 0;
  uint32_t max_pages = kMaxPages;   // effective maximum (type, config, 2^16)
  uint32_t declared_max = kUnbounded;
  std::vector<VMContext*> users;    // contexts caching base/size (updated on grow)
  // Returns the previous size in pages, or -1.
  int64_t grow(uint32_t delta);
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release();
};

// ---- linear-memory reservation pool (process-wide; docs/runtime.md "The pool") ----------------
// A MemoryImpl's reservation (kMemoryReservation bytes) goes back to the pool when the last
// reference to the memory is gone (its Store and every Python memoryview of it). The pool zeroes
// the committed pages right away (MADV_DONTNEED / decommit: O(committed pages), RSS returned) and
// keeps at most `limit` idle reservations; acquiring one then only adjusts the protection to the
// new size. A pooled reservation is indistinguishable from a fresh one: [0, bytes) readable,
// writable and zero, everything above inaccessible.
struct MemoryPoolStats {
  uint64_t created;  // reservations mapped
  uint64_t reused;   // acquisitions served from the pool
  uint64_t cached;   // idle reservations now
  uint64_t limit;
};
// A reservation with [0, bytes) committed and zero; nullptr if out of address space/memory.
uint8_t* memory_pool_acquire(uint64_t bytes);
// Takes the reservation back; `committed` = bytes accessible in it (its current size).
void memory_pool_release(uint8_t* base, uint64_t committed);
void memory_pool_stats(MemoryPoolStats* out);
void memory_pool_set_limit(uint64_t limit);  // drops idle reservations above the new limit

struct TableImpl {
  VMTable t{};
  std::vector<uintptr_t> storage;
  int64_t grow(uint32_t delta, uintptr_t init);
};

struct GlobalImpl {
  VMGlobal cell{};
  uint8_t valtype = 0;
  bool is_mutable = false;
};

struct HostCtx {  // a HostCallContext (first member) plus the runtime's data
  HostCallContext base;
  nvm_host_callback cb;
  void* data;
  InstanceImpl* caller;   // the importing instance (only for access_caller wrappers)
  bool wants_caller;
};

struct HostFuncImpl {
  HostCtx ctx{};
  VMFuncRef ref{};
  HostFuncImpl* canonical = nullptr;  // for per-instance wrappers: the Func they wrap
};

struct InstanceImpl {
  StoreImpl* store = nullptr;
  std::shared_ptr<ModuleImpl> module;
  VMContext ctx{};
  std::vector<VMFuncRef> local_funcs;
  std::vector<std::unique_ptr<HostFuncImpl>> wrappers;
  std::vector<VMFuncRef*> funcs;
  std::vector<VMTable*> tables;
  std::vector<TableImpl*> table_objs;
  std::vector<VMGlobal*> globals;
  MemoryImpl* memory = nullptr;
  std::vector<std::vector<uintptr_t>> elems;
  std::vector<uint8_t> data_dropped;
  ~InstanceImpl();
};

struct StoreImpl {
  std::shared_ptr<EngineImpl> engine;
  VMStoreContext ctx{};
  int64_t stack_budget = 0;  // the configured budget (ctx.stack_remaining starts here)
  bool gas_enabled = false;
  std::vector<std::unique_ptr<InstanceImpl>> instances;  // appended under interrupt_mutex
  // Interrupt requests come from other threads: they walk `instances` under this mutex, and an
  // instance created later starts with the pending request (see set_interrupt).
  std::mutex interrupt_mutex;
  uint32_t interrupt_pending = 0;  // written under interrupt_mutex, read atomically by invoke
  std::vector<std::unique_ptr<HostFuncImpl>> host_funcs;
  std::vector<std::unique_ptr<TableImpl>> tables;
  std::vector<std::unique_ptr<GlobalImpl>> globals;
  std::vector<MemoryImpl*> memories;
  nvm_trap_info last_trap{};
  std::vector<nvm_frame> last_backtrace;  // wasm frames of the last trap, innermost first
  std::string last_error;
  ~StoreImpl();
};

extern const RuntimeHelpers kHelpers;

// Native stack needed to run wasm with `budget_bytes` of stack budget left. JIT frames use at most
// about 2 native bytes per budgeted byte (8-byte slots for 4-byte values; the budget's fixed 64
// bytes per frame cover the return address, frame pointer and saved registers); 4x plus a margin
// for the entry trampoline, helpers and host-call glue keeps the native stack from ever being
// what stops recursion.
inline uint64_t native_stack_needed(int64_t budget_bytes) {
  return uint64_t(budget_bytes > 0 ? budget_bytes : 0) * 4 + (256u << 10);
}

// Host -> wasm. Pushes an Activation, enters through `entry`, pops it; after a trap restores the
// stack budget (and burns the gas on OUT_OF_GAS) and records store->last_trap. Returns 0, a trap
// code, NVM_CALL_NEEDS_STACK (nothing ran: this thread's native stack is too small for the
// remaining budget) or NVM_CALL_FAILED (message in store->last_error).
uint32_t invoke(StoreImpl* store, EntryTrampolineFn entry, VMFuncRef* callee, uint64_t* args_results,
                uint32_t n_slots);

// Sets (1) or clears (0) the interrupt request of every instance of the store (any thread).
void set_interrupt(StoreImpl* store, uint32_t value);

// Bounds-checked bulk operations shared by helpers and instantiation (return NVM_TRAP_* or 0).
uint32_t do_memory_init(InstanceImpl* inst, uint32_t data_index, uint32_t dst, uint32_t src, uint32_t n);
uint32_t do_table_init(InstanceImpl* inst, uint32_t table_index, uint32_t elem_index, uint32_t dst,
                       uint32_t src, uint32_t n);

}  // namespace nvm::rt
