/* nearvm.h — the one C ABI of nearvm's native core.
 *
 * The part between the cffi-begin and cffi-end markers is preprocessor-free: the build script
 * (python/nearvm/_build/ffibuilder.py) feeds exactly that text to cffi's cdef, so this file is
 * the single source of truth for the Python <-> C boundary. Enum values that Python needs are
 * declared with `...` in the cdef view and read from C at build time, never duplicated.
 *
 * Conventions: functions are `nvm_*`, enums `NVM_*`, opaque handles `nvm_*_t`. No C++
 * exception crosses this boundary; errors come back as status codes plus a message buffer.
 */
#ifndef NEARVM_H
#define NEARVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-begin */

/* Why wasm execution stopped (mirrors nearvm.errors.TrapCode). */
typedef enum nvm_trap_code {
  NVM_TRAP_NONE = 0,
  NVM_TRAP_UNREACHABLE = 1,
  NVM_TRAP_MEMORY_OUT_OF_BOUNDS = 2,
  NVM_TRAP_TABLE_OUT_OF_BOUNDS = 3,
  NVM_TRAP_UNINITIALIZED_ELEMENT = 4,
  NVM_TRAP_INDIRECT_CALL_TYPE_MISMATCH = 5,
  NVM_TRAP_INTEGER_DIVIDE_BY_ZERO = 6,
  NVM_TRAP_INTEGER_OVERFLOW = 7,
  NVM_TRAP_INVALID_CONVERSION = 8,
  NVM_TRAP_STACK_OVERFLOW = 9,
  NVM_TRAP_OUT_OF_GAS = 10,
  NVM_TRAP_HOST_ERROR = 11,
  NVM_TRAP_INTERRUPTED = 12
} nvm_trap_code;

/* Library version string, e.g. "0.1.0". */
const char* nvm_version(void);
/* ISA the library was built for and executes: "x86_64" or "aarch64". */
const char* nvm_host_isa(void);
/* Host C ABI its code calls into: "sysv" (Linux, BSD), "darwin" or "win64". */
const char* nvm_host_os_abi(void);

/* ---- runtime (csrc/api_runtime.cpp; owner: runtime) ---------------------------------------
 * Status-returning functions return NVM_OK (0) or an nvm_status and write a NUL-terminated
 * message into (err, errlen). Handles are opaque. Ownership: see csrc/runtime/runtime.h.
 * Threading: engines and modules are thread-safe; a store is used by one thread at a time. */

typedef enum nvm_status {
  NVM_OK = 0,
  NVM_ERR_INVALID = 1,
  NVM_ERR_NOMEM = 2,
  NVM_ERR_COMPILE = 3,
  NVM_ERR_UNSUPPORTED = 4,
  NVM_ERR_LIMIT = 5,
  NVM_ERR_PLATFORM = 6
} nvm_status;

/* nvm_call's result when the call could not run at all (see nvm_store_last_error), or could not
 * run on this thread: NVM_CALL_NEEDS_STACK means the thread's native stack cannot hold the
 * remaining stack budget's worth of wasm frames; nothing ran, the caller retries on a thread with
 * a stack of at least nvm_store_native_stack_needed() bytes (the budget, not the native stack,
 * must be what stops recursion). */
typedef enum nvm_call_result {
  NVM_CALL_NEEDS_STACK = 254,
  NVM_CALL_FAILED = 255
} nvm_call_result;

typedef struct nvm_engine nvm_engine_t;
typedef struct nvm_module nvm_module_t;
typedef struct nvm_store nvm_store_t;
typedef struct nvm_instance nvm_instance_t;
typedef struct nvm_memory nvm_memory_t;
typedef struct nvm_table nvm_table_t;
typedef struct nvm_global nvm_global_t;

/* The Store's counters, laid out exactly like VMStoreContext (runtime/vmctx.h): read and written
 * in place by the Python API (gas_used, gas_limit) without a call. */
typedef struct nvm_store_counters {
  uint64_t gas_used;
  uint64_t gas_limit;
  int64_t stack_remaining;
  void* activation;
  uint64_t bulk_base;
  uint64_t bulk_per_unit;
  uint64_t gas_metered;
} nvm_store_counters;

/* Where the last trap of a store happened (func_index/bytecode_offset valid if has_site). */
typedef struct nvm_trap_info {
  uint32_t code;
  uint32_t has_site;
  uint32_t func_index;
  uint32_t bytecode_offset;
  uint64_t pc;
} nvm_trap_info;

/* One wasm frame of a trap backtrace (nvm_store_last_backtrace). instance: an nvm_instance_t* of
 * the store whose module holds the function (several instances of one module share its code, so
 * it is one of them); func_index in that module's function index space; bytecode_offset of the
 * trapping op for the innermost frame when known, else 0xFFFFFFFF. */
typedef struct nvm_frame {
  void* instance;
  uint32_t func_index;
  uint32_t bytecode_offset;
} nvm_frame;

/* A host function (C fast path or the Python dispatcher). args_results: 8-byte slots, params in,
 * results out. caller: the calling nvm_instance_t* for functions created with wants_caller (else
 * NULL). Returns 0 or an NVM_TRAP_* code (the wasm call then traps with it). */
typedef uint32_t (*nvm_host_callback)(void* data, void* caller, uint64_t* args_results);

/* engine: generates and maps the JIT's stubs; interns signatures (canonical type ids). */
int nvm_engine_new(nvm_engine_t** out, char* err, size_t errlen);
void nvm_engine_free(nvm_engine_t* engine);
/* 1 if wasm can run (the JIT generated the stubs), else 0 and the reason in (err, errlen). */
int nvm_engine_can_execute(nvm_engine_t* engine, char* err, size_t errlen);
uint32_t nvm_engine_intern_type(nvm_engine_t* engine, const uint8_t* params, uint32_t n_params,
                                const uint8_t* results, uint32_t n_results);

/* module: compile a lowered program (docs/bytecode.md), map the code, register its trap sites.
 * type_ids: canonical id of each module type index; func_type_ids: of each function (imports
 * first). Data segments are copied (n_datas of them; lens/ptrs arrays). */
int nvm_module_new(nvm_engine_t* engine, const uint8_t* program, size_t size,
                   const uint32_t* type_ids, uint32_t n_types,
                   const uint32_t* func_type_ids, uint32_t n_funcs,
                   const uint8_t* const* datas, const size_t* data_lens, uint32_t n_datas,
                   nvm_module_t** out, char* err, size_t errlen);
void nvm_module_free(nvm_module_t* module);
size_t nvm_module_code_size(nvm_module_t* module);

/* store */
int nvm_store_new(nvm_engine_t* engine, int64_t stack_budget, int gas_enabled, nvm_store_t** out,
                  char* err, size_t errlen);
void nvm_store_free(nvm_store_t* store);
nvm_store_counters* nvm_store_counters_ptr(nvm_store_t* store);
/* Charge host-side gas: 0, or NVM_TRAP_OUT_OF_GAS (gas_used then equals gas_limit). */
uint32_t nvm_store_charge_gas(nvm_store_t* store, uint64_t amount);
const nvm_trap_info* nvm_store_last_trap(nvm_store_t* store);
/* Interrupts (docs/design.md "Interrupts"): ask the store's running wasm to trap with NVM_TRAP_INTERRUPTED
 * at its next loop header or function entry. Safe to call from any thread, while wasm runs or
 * not (a request made while nothing runs is taken by the next call). Only code compiled without
 * gas metering checks the request: metered code is bounded by its gas limit instead. The request
 * is consumed by the trap it causes; nvm_store_clear_interrupt withdraws one not yet taken. */
void nvm_store_interrupt(nvm_store_t* store);
void nvm_store_clear_interrupt(nvm_store_t* store);
/* The wasm frames of the store's last trap, innermost first (every frame of the trapping
 * activation, walked along the frame-pointer chain). *out stays valid until the next call on the
 * store. Returns the number of frames. */
size_t nvm_store_last_backtrace(nvm_store_t* store, const nvm_frame** out);
const char* nvm_store_last_error(nvm_store_t* store);

/* memory (pages of 64 KiB). max_pages: the effective maximum (type, config; <= 65536);
 * declared_max: the type's maximum or 0xFFFFFFFF. A memory is freed when its store is freed and
 * every nvm_memory_retain is matched by nvm_memory_release. */
int nvm_memory_new(nvm_store_t* store, uint32_t min_pages, uint32_t max_pages, uint32_t declared_max,
                   nvm_memory_t** out, char* err, size_t errlen);
uint8_t* nvm_memory_base(nvm_memory_t* memory);
uint64_t nvm_memory_size(nvm_memory_t* memory);
uint32_t nvm_memory_pages(nvm_memory_t* memory);
/* Previous size in pages, or -1 if it cannot grow. */
int64_t nvm_memory_grow(nvm_memory_t* memory, uint32_t delta_pages);
void nvm_memory_retain(nvm_memory_t* memory);
void nvm_memory_release(nvm_memory_t* memory);
/* The process-wide pool of linear-memory reservations (docs/runtime.md): a memory's reservation
 * returns to it, zeroed, when the memory is freed; nvm_memory_new takes from it first. */
typedef struct nvm_memory_pool_info {
  uint64_t created;  /* reservations mapped so far */
  uint64_t reused;   /* memories served from the pool */
  uint64_t cached;   /* idle reservations now */
  uint64_t limit;    /* most idle reservations kept */
} nvm_memory_pool_info;
void nvm_memory_pool_stats(nvm_memory_pool_info* out);
/* Keep at most `limit` idle reservations (0 disables pooling); extra idle ones are unmapped now. */
void nvm_memory_pool_set_limit(uint64_t limit);

/* table: elem_type 0x70 funcref (elements are funcref pointers) or 0x6F externref (handles);
 * null is 0; maximum 0xFFFFFFFF = none. */
int nvm_table_new(nvm_store_t* store, uint8_t elem_type, uint32_t minimum, uint32_t maximum,
                  uintptr_t init, nvm_table_t** out, char* err, size_t errlen);
uint32_t nvm_table_size(nvm_table_t* table);
/* 0, or -1 if index >= size. */
int nvm_table_get(nvm_table_t* table, uint32_t index, uintptr_t* out);
int nvm_table_set(nvm_table_t* table, uint32_t index, uintptr_t value);
/* Previous size, or -1. */
int64_t nvm_table_grow(nvm_table_t* table, uint32_t delta, uintptr_t init);

/* global: bits as in VMGlobal (i32/f32 low 32 bits). The cell may be read/written in place. */
int nvm_global_new(nvm_store_t* store, uint8_t valtype, int is_mutable, uint64_t bits,
                   nvm_global_t** out, char* err, size_t errlen);
uint64_t* nvm_global_cell(nvm_global_t* global);

/* functions: a funcref is a VMFuncRef* (void* here). */
void* nvm_func_new_host(nvm_store_t* store, uint32_t type_id, nvm_host_callback callback, void* data,
                        int wants_caller);
uint32_t nvm_funcref_type_id(void* funcref);
/* The nvm_host_callback data of a host funcref (also for per-instance wrappers), else NULL. */
void* nvm_funcref_host_data(void* funcref);
/* Native stack a thread needs to run this store's wasm with its whole stack budget. */
uint64_t nvm_store_native_stack_needed(nvm_store_t* store);

/* Host -> wasm call: 0, an NVM_TRAP_* code, or NVM_CALL_FAILED. args_results has n_slots =
 * max(n_params, n_results) 8-byte slots (at least 1). The GIL is released by cffi around this
 * call; host callbacks re-acquire it. */
uint32_t nvm_call(nvm_store_t* store, void* funcref, uint64_t* args_results, uint32_t n_slots);

/* instance: imports resolved by the caller (funcs: imported funcrefs; memories/tables/globals:
 * the module's whole index spaces, imports first, own ones created by nvm_*_new). Globals are
 * initialised, element segments set and active segments applied by the caller afterwards. */
int nvm_instance_new(nvm_store_t* store, nvm_module_t* module, void* const* func_imports,
                     uint32_t n_func_imports, nvm_memory_t* const* memories, uint32_t n_memories,
                     nvm_table_t* const* tables, uint32_t n_tables, nvm_global_t* const* globals,
                     uint32_t n_globals, uint32_t n_elems, nvm_instance_t** out, char* err, size_t errlen);
void* nvm_instance_func(nvm_instance_t* instance, uint32_t func_index);
int nvm_instance_set_elem(nvm_instance_t* instance, uint32_t elem_index, const uintptr_t* items, uint32_t n);
/* Spec table.init / memory.init / elem.drop / data.drop; return 0 or an NVM_TRAP_* code. */
uint32_t nvm_instance_table_init(nvm_instance_t* instance, uint32_t table_index, uint32_t elem_index,
                                 uint32_t dst, uint32_t src, uint32_t n);
uint32_t nvm_instance_memory_init(nvm_instance_t* instance, uint32_t data_index, uint32_t dst, uint32_t src,
                                  uint32_t n);
void nvm_instance_elem_drop(nvm_instance_t* instance, uint32_t elem_index);
/* Instantiation's active data segments in one call: `segs` holds n triples (data_index, kind,
 * arg) in module order; kind 0: the offset is arg, kind 1: the offset is global arg's value.
 * Each segment is copied (memory.init) then dropped. Returns 0 or the trap code of the first
 * segment that does not fit (the earlier ones stay written, Wasm 2.0). */
uint32_t nvm_instance_init_datas(nvm_instance_t* instance, const uint32_t* segs, uint32_t n);
void nvm_instance_data_drop(nvm_instance_t* instance, uint32_t data_index);

/* Foundation slice (test-only): a hand-assembled entry trampoline + "wasm" function that loads
 * a u32 from memory[offset], run through the real invoke path, code registry and fault handler.
 * Lets the trap machinery be tested without the JIT. NVM_ERR_UNSUPPORTED off x86_64 SysV. */
typedef struct nvm_selftest nvm_selftest_t;
int nvm_selftest_new(nvm_selftest_t** out, char* err, size_t errlen);
void nvm_selftest_free(nvm_selftest_t* selftest);
uint32_t nvm_selftest_load(nvm_selftest_t* selftest, nvm_store_t* store, nvm_memory_t* memory,
                           uint32_t offset, uint32_t* value);
size_t nvm_selftest_registry_size(void);
/* Retired code-registry snapshots and unloaded code owners not yet freed (tests). */
size_t nvm_selftest_registry_retired(void);

/* artifacts (csrc/api_artifact.cpp): a compiled module's machine code + metadata out,
 * and a module built from them without the JIT (copy into W^X memory + register the trap sites;
 * no relocation). trap_sites are 4 uint32 per site: pc_offset, trap_code, func_index,
 * bytecode_offset, sorted by pc_offset. Every index and range is checked again here. */
typedef struct nvm_artifact_sizes {
  size_t code_size;
  uint32_t n_local_funcs;
  uint32_t n_imported_funcs;
  uint32_t n_trap_sites;
} nvm_artifact_sizes;
/* Fills *sizes; with all buffers NULL only that, else copies into buffers of the given capacities. */
int nvm_module_export(nvm_module_t* module, nvm_artifact_sizes* sizes, uint8_t* code, size_t code_cap,
                      uint32_t* func_offsets, uint32_t* func_sizes, uint32_t funcs_cap,
                      uint32_t* trap_sites, uint32_t sites_cap, char* err, size_t errlen);
/* Like nvm_module_new, from exported code instead of a program. */
int nvm_module_import(nvm_engine_t* engine, const uint8_t* code, size_t code_size,
                      const uint32_t* func_offsets, const uint32_t* func_sizes, uint32_t n_local_funcs,
                      uint32_t n_imported_funcs, const uint32_t* trap_sites, uint32_t n_trap_sites,
                      const uint32_t* type_ids, uint32_t n_types, const uint32_t* func_type_ids,
                      uint32_t n_funcs, const uint8_t* const* datas, const size_t* data_lens,
                      uint32_t n_datas, nvm_module_t** out, char* err, size_t errlen);

/* An artifact (python/nearvm/artifact.py) straight from its bytes: the caller has checked the
 * HMAC, the checksum and the header (blob[0, body_end) is the artifact without its checksum and
 * HMAC) and decoded the module section; this walks the section table and parses and checks the
 * funcs, trap and exec sections itself (every count, offset, size and index against the blob and
 * the module: no Python object per function or trap site), maps the code and registers the trap
 * sites. Nothing outside blob[0, body_end) is read. func_types_off: where the module section's
 * u32 type index of every function lies (n_funcs of them, imports first), mapped through
 * type_ids (n_types canonical ids). data_spans: (offset, length) of each data segment's bytes in
 * the module section (n_datas pairs), copied. exec_span (optional) receives the exec section's
 * (offset, length), checked. NVM_ERR_INVALID / NVM_ERR_LIMIT: malformed. */
int nvm_module_import_artifact(nvm_engine_t* engine, const uint8_t* blob, size_t body_end,
                               uint64_t func_types_off, uint32_t n_funcs, uint32_t n_imported_funcs,
                               const uint32_t* type_ids, uint32_t n_types, const uint64_t* data_spans,
                               uint32_t n_datas, uint64_t* exec_span, nvm_module_t** out, char* err,
                               size_t errlen);

/* cffi-end */

#ifdef __cplusplus
}
#endif

#endif /* NEARVM_H */
