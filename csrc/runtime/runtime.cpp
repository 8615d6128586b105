// runtime.cpp — engine, module, store objects, runtime helpers (libcalls) and invoke.
#include "runtime/runtime.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "runtime/code_registry.h"
#include "runtime/trap_state.h"

namespace nvm::rt {

static_assert(sizeof(nvm_store_counters) == sizeof(VMStoreContext));
static_assert(offsetof(nvm_store_counters, gas_used) == kStoreGasUsedOffset);
static_assert(offsetof(nvm_store_counters, gas_limit) == kStoreGasLimitOffset);
static_assert(offsetof(nvm_store_counters, stack_remaining) == kStoreStackRemainingOffset);
static_assert(offsetof(nvm_store_counters, activation) == kStoreActivationOffset);
static_assert(offsetof(nvm_store_counters, bulk_base) == offsetof(VMStoreContext, bulk_base));
static_assert(offsetof(nvm_store_counters, bulk_per_unit) == offsetof(VMStoreContext, bulk_per_unit));
static_assert(offsetof(nvm_store_counters, gas_metered) == offsetof(VMStoreContext, gas_metered));
static_assert(offsetof(HostCtx, base) == 0);

// ---- engine / module -------------------------------------------------------------------------

EngineImpl::~EngineImpl() {
  if (stubs_token) registry_unregister(stubs_token);
}

uint32_t EngineImpl::intern(const uint8_t* params, uint32_t np, const uint8_t* results, uint32_t nr) {
  std::string key;
  key.reserve(8 + np + nr);
  key.append(reinterpret_cast<const char*>(&np), sizeof np);
  key.append(reinterpret_cast<const char*>(params), np);
  key.append(reinterpret_cast<const char*>(&nr), sizeof nr);
  key.append(reinterpret_cast<const char*>(results), nr);
  std::lock_guard<std::mutex> lock(types_mutex);
  auto it = type_ids.find(key);
  if (it != type_ids.end()) return it->second;
  // Ids start at 1 so that 0 never matches a real signature (e.g. a zeroed funcref).
  uint32_t id = static_cast<uint32_t>(type_ids.size()) + 1;
  type_ids.emplace(std::move(key), id);
  return id;
}

ModuleImpl::~ModuleImpl() {
  if (token) registry_unregister(token);
}

int64_t ModuleImpl::local_func_at(uint64_t code_offset) const {
  std::call_once(order_once_, [this] {
    order_.resize(func_offsets.size());
    for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(),
              [this](uint32_t a, uint32_t b) { return func_offsets[a] < func_offsets[b]; });
  });
  // Last function starting at or before code_offset, then check it really contains it.
  size_t lo = 0, hi = order_.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (func_offsets[order_[mid]] <= code_offset) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return -1;
  uint32_t f = order_[lo - 1];
  uint64_t size = f < func_sizes.size() ? func_sizes[f] : 0;
  if (size == 0) size = code_size - func_offsets[f];  // unknown size: up to the end of the code
  return code_offset - func_offsets[f] < size ? int64_t{f} : -1;
}

// ---- memory ----------------------------------------------------------------------------------

int64_t MemoryImpl::grow(uint32_t delta) {
  uint32_t old = pages;
  if (delta == 0) return old;
  if (static_cast<uint64_t>(old) + delta > max_pages) return -1;
  uint64_t new_bytes = (static_cast<uint64_t>(old) + delta) * kPageSize;
  if (!platform::commit(base + size_bytes, static_cast<size_t>(new_bytes - size_bytes))) return -1;
  pages = old + delta;
  size_bytes = new_bytes;
  for (VMContext* c : users) c->memory_size = size_bytes;
  return old;
}

void MemoryImpl::release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    memory_pool_release(base, size_bytes);
    delete this;
  }
}

// ---- reservation pool --------------------------------------------------------------------------

namespace {

struct PooledReservation {
  uint8_t* base;
  uint64_t committed;  // [0, committed) accessible and zero; above: inaccessible
};

struct MemoryPool {
  std::mutex mutex;
  std::vector<PooledReservation> idle;  // LIFO: the most recently used is the warmest
  uint64_t limit = 16;
  uint64_t created = 0;
  uint64_t reused = 0;
};

MemoryPool& memory_pool() {
  static MemoryPool* pool = new MemoryPool();  // never destroyed: memories may be freed at exit
  return *pool;
}

void unmap_reservation(uint8_t* base) { platform::release(base, static_cast<size_t>(kMemoryReservation)); }

}  // namespace

uint8_t* memory_pool_acquire(uint64_t bytes) {
  MemoryPool& pool = memory_pool();
  for (;;) {
    PooledReservation r{nullptr, 0};
    {
      std::lock_guard<std::mutex> lock(pool.mutex);
      if (pool.idle.empty()) break;
      r = pool.idle.back();
      pool.idle.pop_back();
    }
    bool ok = true;
    if (r.committed > bytes) ok = platform::decommit(r.base + bytes, static_cast<size_t>(r.committed - bytes));
    else if (r.committed < bytes) ok = platform::commit(r.base + r.committed, static_cast<size_t>(bytes - r.committed));
    if (ok) {
      std::lock_guard<std::mutex> lock(pool.mutex);
      ++pool.reused;
      return r.base;
    }
    unmap_reservation(r.base);  // should not happen; try the next one or a fresh mapping
  }
  void* base = platform::reserve(static_cast<size_t>(kMemoryReservation));
  if (!base) return nullptr;
  if (!platform::commit(base, static_cast<size_t>(bytes))) {
    platform::release(base, static_cast<size_t>(kMemoryReservation));
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(pool.mutex);
  ++pool.created;
  return static_cast<uint8_t*>(base);
}

void memory_pool_release(uint8_t* base, uint64_t committed) {
  if (!base) return;
  MemoryPool& pool = memory_pool();
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (pool.idle.size() >= pool.limit) {
      unmap_reservation(base);
      return;
    }
  }
  // Zero outside the lock (the only O(size) step; untouched pages cost nothing).
  bool still_committed = true;
  if (!platform::zero_committed(base, static_cast<size_t>(committed), &still_committed)) {
    unmap_reservation(base);
    return;
  }
  std::lock_guard<std::mutex> lock(pool.mutex);
  if (pool.idle.size() >= pool.limit) {
    unmap_reservation(base);
    return;
  }
  pool.idle.push_back(PooledReservation{base, still_committed ? committed : 0});
}

void memory_pool_stats(MemoryPoolStats* out) {
  MemoryPool& pool = memory_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  out->created = pool.created;
  out->reused = pool.reused;
  out->cached = pool.idle.size();
  out->limit = pool.limit;
}

void memory_pool_set_limit(uint64_t limit) {
  MemoryPool& pool = memory_pool();
  std::vector<PooledReservation> drop;
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.limit = limit;
    while (pool.idle.size() > limit) {
      drop.push_back(pool.idle.front());
      pool.idle.erase(pool.idle.begin());
    }
  }
  for (const PooledReservation& r : drop) unmap_reservation(r.base);
}

// ---- table -----------------------------------------------------------------------------------

int64_t TableImpl::grow(uint32_t delta, uintptr_t init) {
  uint32_t old = t.size;
  uint64_t want = static_cast<uint64_t>(old) + delta;
  uint64_t limit = t.maximum == kUnbounded ? kMaxTableElems : t.maximum;
  if (limit > kMaxTableElems) limit = kMaxTableElems;
  if (want > limit) return -1;
  if (delta == 0) return old;
  try {
    storage.resize(static_cast<size_t>(want), init);
  } catch (...) {
    return -1;
  }
  t.elems = storage.data();
  t.size = static_cast<uint32_t>(want);
  t.capacity = static_cast<uint32_t>(storage.capacity() > 0xFFFFFFFFu ? 0xFFFFFFFFu : storage.capacity());
  return old;
}

// ---- instance / store ------------------------------------------------------------------------

InstanceImpl::~InstanceImpl() {
  if (memory) {
    auto& u = memory->users;
    for (size_t i = 0; i < u.size(); ++i)
      if (u[i] == &ctx) { u.erase(u.begin() + static_cast<long>(i)); break; }
  }
}

StoreImpl::~StoreImpl() {
  instances.clear();
  for (MemoryImpl* m : memories) m->release();
}

// ---- runtime helpers (called by generated code with a VMContext*) ----------------------------

namespace {

InstanceImpl* inst_of(VMContext* c) { return static_cast<InstanceImpl*>(c->instance); }

bool range_ok(uint64_t start, uint64_t n, uint64_t size) { return start + n <= size; }

// The linear fee of a bulk operation over `n` units (docs/design.md "Gas and stack semantics"):
// bulk_base + bulk_per_unit * n, charged before the bounds check, n = 0 paying the base. A fee
// that does not fit the remaining gas (or overflows 64 bits) is OUT_OF_GAS; invoke then burns
// the whole budget, exactly as for a metered block.
uint32_t charge_bulk_fee(VMContext* c, uint32_t n) {
  VMStoreContext* s = c->store;
  if (s->bulk_base == 0 && s->bulk_per_unit == 0) return 0;
  const uint64_t remaining = s->gas_limit - s->gas_used;
  if (s->bulk_per_unit != 0 && uint64_t(n) > (UINT64_MAX - s->bulk_base) / s->bulk_per_unit)
    return NVM_TRAP_OUT_OF_GAS;
  const uint64_t fee = s->bulk_base + s->bulk_per_unit * uint64_t(n);
  if (fee > remaining) return NVM_TRAP_OUT_OF_GAS;
  s->gas_used += fee;
  return 0;
}

int32_t h_memory_grow(VMContext* c, uint32_t delta) {
  InstanceImpl* in = inst_of(c);
  if (!in->memory) return -1;
  return static_cast<int32_t>(in->memory->grow(delta));
}

uint32_t h_memory_fill(VMContext* c, uint32_t dst, uint32_t value, uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  MemoryImpl* m = inst_of(c)->memory;
  if (!m || !range_ok(dst, n, m->size_bytes)) return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
  if (n) std::memset(m->base + dst, static_cast<int>(value & 0xFF), n);
  return 0;
}

uint32_t h_memory_copy(VMContext* c, uint32_t dst, uint32_t src, uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  MemoryImpl* m = inst_of(c)->memory;
  if (!m || !range_ok(dst, n, m->size_bytes) || !range_ok(src, n, m->size_bytes))
    return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
  if (n) std::memmove(m->base + dst, m->base + src, n);
  return 0;
}

uint32_t h_memory_init(VMContext* c, uint32_t data_index, uint32_t dst, uint32_t src, uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  return do_memory_init(inst_of(c), data_index, dst, src, n);
}

uint32_t h_data_drop(VMContext* c, uint32_t data_index) {
  InstanceImpl* in = inst_of(c);
  if (data_index < in->data_dropped.size()) in->data_dropped[data_index] = 1;
  return 0;
}

TableImpl* table_of(InstanceImpl* in, uint32_t index) {
  return index < in->table_objs.size() ? in->table_objs[index] : nullptr;
}

int32_t h_table_grow(VMContext* c, uint32_t table_index, uintptr_t init, uint32_t delta) {
  // Growing a table writes `delta` elements (and may allocate them): priced like table.fill,
  // per requested element, before the limit check (docs/metering.md).
  if (charge_bulk_fee(c, delta)) return kTableGrowOutOfGas;
  TableImpl* t = table_of(inst_of(c), table_index);
  if (!t) return -1;
  return static_cast<int32_t>(t->grow(delta, init));
}

uint32_t h_table_fill(VMContext* c, uint32_t table_index, uint32_t dst, uintptr_t value, uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  TableImpl* t = table_of(inst_of(c), table_index);
  if (!t || !range_ok(dst, n, t->t.size)) return NVM_TRAP_TABLE_OUT_OF_BOUNDS;
  for (uint32_t i = 0; i < n; ++i) t->t.elems[dst + i] = value;
  return 0;
}

uint32_t h_table_copy(VMContext* c, uint32_t dst_table, uint32_t src_table, uint32_t dst, uint32_t src,
                      uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  InstanceImpl* in = inst_of(c);
  TableImpl* d = table_of(in, dst_table);
  TableImpl* s = table_of(in, src_table);
  if (!d || !s || !range_ok(dst, n, d->t.size) || !range_ok(src, n, s->t.size))
    return NVM_TRAP_TABLE_OUT_OF_BOUNDS;
  if (n) std::memmove(d->t.elems + dst, s->t.elems + src, n * sizeof(uintptr_t));
  return 0;
}

uint32_t h_table_init(VMContext* c, uint32_t table_index, uint32_t elem_index, uint32_t dst, uint32_t src,
                      uint32_t n) {
  if (uint32_t fee_trap = charge_bulk_fee(c, n)) return fee_trap;
  return do_table_init(inst_of(c), table_index, elem_index, dst, src, n);
}

uint32_t h_elem_drop(VMContext* c, uint32_t elem_index) {
  InstanceImpl* in = inst_of(c);
  if (elem_index < in->elems.size()) {
    in->elems[elem_index].clear();
    in->elems[elem_index].shrink_to_fit();
  }
  return 0;
}

}  // namespace

uint32_t do_memory_init(InstanceImpl* in, uint32_t data_index, uint32_t dst, uint32_t src, uint32_t n) {
  MemoryImpl* m = in->memory;
  const ModuleImpl& mod = *in->module;
  uint64_t seg_len = 0;
  const uint8_t* seg = nullptr;
  if (data_index < mod.datas.size() && !in->data_dropped[data_index]) {
    seg = mod.datas[data_index].data();
    seg_len = mod.datas[data_index].size();
  }
  if (!m || !range_ok(src, n, seg_len) || !range_ok(dst, n, m->size_bytes)) return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
  if (n) std::memcpy(m->base + dst, seg + src, n);
  return 0;
}

uint32_t do_table_init(InstanceImpl* in, uint32_t table_index, uint32_t elem_index, uint32_t dst, uint32_t src,
                       uint32_t n) {
  TableImpl* t = table_of(in, table_index);
  const std::vector<uintptr_t>* seg = elem_index < in->elems.size() ? &in->elems[elem_index] : nullptr;
  uint64_t seg_len = seg ? seg->size() : 0;
  if (!t || !range_ok(src, n, seg_len) || !range_ok(dst, n, t->t.size)) return NVM_TRAP_TABLE_OUT_OF_BOUNDS;
  for (uint32_t i = 0; i < n; ++i) t->t.elems[dst + i] = (*seg)[src + i];
  return 0;
}

const RuntimeHelpers kHelpers = {
    h_memory_grow, h_memory_fill, h_memory_copy, h_memory_init, h_data_drop,
    h_table_grow,  h_table_fill,  h_table_copy,  h_table_init,  h_elem_drop,
};

// ---- backtraces -------------------------------------------------------------------------------
//
// Every JIT function and stub keeps a frame-pointer chain (x64 `push rbp; mov rbp, rsp`, a64
// `stp x29, x30`): [fp] = the caller's fp, [fp + 8] = the return address into the caller. The trap
// exit (and the fault handler, from the signal context) stores the trapping frame's fp in
// act->saved_fp: the innermost wasm frame's fp, or the host-call stub's fp for a trap raised by a
// host function (trap_pc = 0 then). The walk follows the chain up to the entry trampoline.
//
// The walk runs after the entry trampoline has returned, when the wasm frames are dead stack below
// invoke's frame: nothing may have written there yet. So the trampoline is entered through
// enter_padded(), whose frame holds kBacktracePad unused bytes between invoke and the trampoline;
// invoke's later calls (the walk, the registry lookup, a signal delivered on this stack) live in
// that pad and leave the frames below it intact. The walk never follows a pointer outside
// [saved_fp, entry_sp) (the activation's wasm stack), and fp must strictly increase.

namespace {

#if defined(_MSC_VER)
#define NVM_NOINLINE __declspec(noinline)
#else
#define NVM_NOINLINE __attribute__((noinline))
#endif

constexpr size_t kBacktracePad = 32 * 1024;
// A chain longer than this span of stack is not ours (the stack budget is far smaller).
constexpr uintptr_t kMaxWalkSpan = uintptr_t{1} << 28;
constexpr uint32_t kUnknownOffset = 0xFFFFFFFFu;

NVM_NOINLINE uint32_t enter_padded(EntryTrampolineFn entry, VMFuncRef* callee, uint64_t* args_results,
                                   Activation* act) {
  volatile uint8_t pad[kBacktracePad];
  pad[0] = 0;
  uint32_t code = entry(callee, args_results, act);
  pad[kBacktracePad - 1] = static_cast<uint8_t>(code);  // keeps the frame (no tail call)
  return code;
}

struct CodeSpan {
  uintptr_t start, end;
  InstanceImpl* inst;  // an instance of the module owning [start, end)
};

// Wasm code of the store's instances, sorted by address (one span per module).
void store_code_spans(const StoreImpl* s, std::vector<CodeSpan>* out) {
  for (const auto& in : s->instances) {
    const ModuleImpl& m = *in->module;
    if (!m.code || !m.code->mem.ptr || m.code_size == 0) continue;
    uintptr_t start = reinterpret_cast<uintptr_t>(m.code->mem.ptr);
    out->push_back(CodeSpan{start, start + m.code_size, in.get()});
  }
  std::sort(out->begin(), out->end(), [](const CodeSpan& a, const CodeSpan& b) { return a.start < b.start; });
  out->erase(std::unique(out->begin(), out->end(),
                         [](const CodeSpan& a, const CodeSpan& b) { return a.start == b.start; }),
             out->end());
}

// (instance, function index) of the wasm function containing pc, or false.
bool resolve_pc(const std::vector<CodeSpan>& spans, uintptr_t pc, InstanceImpl** inst, uint32_t* func_index) {
  size_t lo = 0, hi = spans.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (spans[mid].start <= pc) lo = mid + 1; else hi = mid;
  }
  if (lo == 0 || pc >= spans[lo - 1].end) return false;
  const CodeSpan& sp = spans[lo - 1];
  const ModuleImpl& m = *sp.inst->module;
  int64_t f = m.local_func_at(pc - sp.start);
  if (f < 0) return false;
  *inst = sp.inst;
  *func_index = m.n_imported_funcs + static_cast<uint32_t>(f);
  return true;
}

// The bytecode offset of the call op returning to `ret` (a jit::kCallSiteCode site), or unknown.
uint32_t call_site_offset(const ModuleImpl& m, uintptr_t ret) {
  if (!m.code || !m.code->mem.ptr) return kUnknownOffset;
  const std::vector<jit::TrapSite>& sites = m.code->sites;
  uintptr_t start = reinterpret_cast<uintptr_t>(m.code->mem.ptr);
  if (ret < start || ret - start > UINT32_MAX) return kUnknownOffset;
  uint32_t off = static_cast<uint32_t>(ret - start);
  auto it = std::lower_bound(sites.begin(), sites.end(), off,
                             [](const jit::TrapSite& s, uint32_t pc) { return s.pc_offset < pc; });
  for (; it != sites.end() && it->pc_offset == off; ++it)
    if (it->trap_code == jit::kCallSiteCode) return it->bytecode_offset;
  return kUnknownOffset;
}

NVM_NOINLINE void capture_backtrace(StoreImpl* s, const Activation& act, const jit::TrapSite* site) {
  std::vector<nvm_frame>& out = s->last_backtrace;
  out.clear();
  std::vector<CodeSpan> spans;
  store_code_spans(s, &spans);
  InstanceImpl* inst = nullptr;
  uint32_t func_index = 0;
  if (act.trap_pc && resolve_pc(spans, act.trap_pc, &inst, &func_index)) {
    // The trapping function itself (explicit trap stub or faulting instruction).
    out.push_back(nvm_frame{inst, site ? site->func_index : func_index,
                            site ? site->bytecode_offset : kUnknownOffset});
  }
  const uintptr_t lo = static_cast<uintptr_t>(act.saved_fp), hi = act.entry_sp;
  if (lo == 0 || lo >= hi || hi - lo > kMaxWalkSpan) return;
  uintptr_t fp = lo;
  while (fp % sizeof(uintptr_t) == 0 && fp >= lo && hi - fp >= 2 * sizeof(uintptr_t)) {
    const uintptr_t next = reinterpret_cast<const uintptr_t*>(fp)[0];
    const uintptr_t ret = reinterpret_cast<const uintptr_t*>(fp)[1];
    // ret - 1: the call instruction (a call at a function's very end returns past it).
    if (!resolve_pc(spans, ret - 1, &inst, &func_index)) break;  // the entry trampoline
    out.push_back(nvm_frame{inst, func_index, call_site_offset(*inst->module, ret)});
    if (next <= fp) break;
    fp = next;
  }
}

}  // namespace

// ---- interrupts ------------------------------------------------------------------------------

void set_interrupt(StoreImpl* s, uint32_t value) {
  std::lock_guard<std::mutex> lock(s->interrupt_mutex);
  __atomic_store_n(&s->interrupt_pending, value, __ATOMIC_RELAXED);  // also read without the lock (invoke)
  for (auto& in : s->instances) __atomic_store_n(&in->ctx.interrupt, value, __ATOMIC_RELAXED);
}

// ---- invoke ----------------------------------------------------------------------------------

uint32_t invoke(StoreImpl* s, EntryTrampolineFn entry, VMFuncRef* callee, uint64_t* args_results,
                uint32_t n_slots) {
  if (entry == nullptr) {
    s->last_error = "wasm cannot be executed: " +
                    (s->engine->stub_error.empty() ? std::string("no entry trampoline") : s->engine->stub_error);
    return NVM_CALL_FAILED;
  }
  // The deterministic budget must stop recursion, never the native stack: refuse to start on a
  // thread whose stack cannot hold the remaining budget's worth of frames (the caller retries on
  // a big-stack thread). Checked on every entry, nested ones included.
  const uint64_t stack_needed = native_stack_needed(s->ctx.stack_remaining);
  if (platform::native_stack_remaining() < stack_needed) return NVM_CALL_NEEDS_STACK;
  platform::prepare_native_stack(size_t(stack_needed));
  std::string error;
  if (!platform::ensure_trap_handler(&error)) {
    s->last_error = "cannot install the trap handler: " + error;
    return NVM_CALL_FAILED;
  }
  // A request pending before any wasm runs is taken here: bodies without calls have no entry
  // check (codegen "STACK"), and the request must not outlive the call it was made for.
  if (!s->gas_enabled && __atomic_load_n(&s->interrupt_pending, __ATOMIC_RELAXED) != 0) {
    nvm_trap_info info{};
    info.code = NVM_TRAP_INTERRUPTED;
    s->last_trap = info;
    s->last_backtrace.clear();
    set_interrupt(s, 0);
    return NVM_TRAP_INTERRUPTED;
  }
  ThreadTrapState* ts = thread_trap_state();
  Activation act{};
  act.store = &s->ctx;
  act.arg_slots = n_slots;
  act.saved_stack_remaining = s->ctx.stack_remaining;
  act.prev = ts->activation;
  Activation* prev_store_act = s->ctx.activation;

  registry_thread_enter();  // before the handler can see `act`: its lookups need this thread's slot
  s->ctx.activation = &act;
  ts->activation = &act;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  uint32_t code = enter_padded(entry, callee, args_results, &act);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  ts->activation = act.prev;
  s->ctx.activation = prev_store_act;

  if (code != 0) {
    s->ctx.stack_remaining = act.saved_stack_remaining;
    if (code == NVM_TRAP_OUT_OF_GAS && s->gas_enabled) s->ctx.gas_used = s->ctx.gas_limit;
    nvm_trap_info info{};
    info.code = code;
    info.pc = act.trap_pc;
    jit::TrapSite site_copy{};
    bool has_site = false;
    if (act.trap_pc && registry_lookup(act.trap_pc, &site_copy, &has_site, nullptr) && has_site) {
      info.has_site = 1;
      info.func_index = site_copy.func_index;
      info.bytecode_offset = site_copy.bytecode_offset;
    }
    const jit::TrapSite* site = has_site ? &site_copy : nullptr;
    s->last_trap = info;
    if (code == NVM_TRAP_INTERRUPTED) set_interrupt(s, 0);  // the request is consumed by its trap
    try {
      capture_backtrace(s, act, site);
    } catch (...) {  // out of memory: a trap without (all of) its backtrace
    }
  }
  return code;
}

}  // namespace nvm::rt
