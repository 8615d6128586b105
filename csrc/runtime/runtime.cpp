// runtime.cpp — engine, module, store objects, runtime helpers (libcalls) and invoke.
#include "runtime/runtime.h"

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
    platform::release(base, static_cast<size_t>(kMemoryReservation));
    delete this;
  }
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

int32_t h_memory_grow(VMContext* c, uint32_t delta) {
  InstanceImpl* in = inst_of(c);
  if (!in->memory) return -1;
  return static_cast<int32_t>(in->memory->grow(delta));
}

uint32_t h_memory_fill(VMContext* c, uint32_t dst, uint32_t value, uint32_t n) {
  MemoryImpl* m = inst_of(c)->memory;
  if (!m || !range_ok(dst, n, m->size_bytes)) return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
  if (n) std::memset(m->base + dst, static_cast<int>(value & 0xFF), n);
  return 0;
}

uint32_t h_memory_copy(VMContext* c, uint32_t dst, uint32_t src, uint32_t n) {
  MemoryImpl* m = inst_of(c)->memory;
  if (!m || !range_ok(dst, n, m->size_bytes) || !range_ok(src, n, m->size_bytes))
    return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
  if (n) std::memmove(m->base + dst, m->base + src, n);
  return 0;
}

uint32_t h_memory_init(VMContext* c, uint32_t data_index, uint32_t dst, uint32_t src, uint32_t n) {
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
  TableImpl* t = table_of(inst_of(c), table_index);
  if (!t) return -1;
  return static_cast<int32_t>(t->grow(delta, init));
}

uint32_t h_table_fill(VMContext* c, uint32_t table_index, uint32_t dst, uintptr_t value, uint32_t n) {
  TableImpl* t = table_of(inst_of(c), table_index);
  if (!t || !range_ok(dst, n, t->t.size)) return NVM_TRAP_TABLE_OUT_OF_BOUNDS;
  for (uint32_t i = 0; i < n; ++i) t->t.elems[dst + i] = value;
  return 0;
}

uint32_t h_table_copy(VMContext* c, uint32_t dst_table, uint32_t src_table, uint32_t dst, uint32_t src,
                      uint32_t n) {
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

// ---- invoke ----------------------------------------------------------------------------------

uint32_t invoke(StoreImpl* s, EntryTrampolineFn entry, VMFuncRef* callee, uint64_t* args_results,
                uint32_t n_slots) {
  if (entry == nullptr) {
    s->last_error = "wasm cannot be executed: " +
                    (s->engine->stub_error.empty() ? std::string("no entry trampoline") : s->engine->stub_error);
    return NVM_CALL_FAILED;
  }
  std::string error;
  if (!platform::ensure_trap_handler(&error)) {
    s->last_error = "cannot install the trap handler: " + error;
    return NVM_CALL_FAILED;
  }
  ThreadTrapState* ts = thread_trap_state();
  Activation act{};
  act.store = &s->ctx;
  act.arg_slots = n_slots;
  act.saved_stack_remaining = s->ctx.stack_remaining;
  act.prev = ts->activation;
  Activation* prev_store_act = s->ctx.activation;

  activation_count_inc();  // before the handler can see `act` (code_registry.h)
  s->ctx.activation = &act;
  ts->activation = &act;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  uint32_t code = entry(callee, args_results, &act);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  ts->activation = act.prev;
  s->ctx.activation = prev_store_act;

  if (code != 0) {
    s->ctx.stack_remaining = act.saved_stack_remaining;
    if (code == NVM_TRAP_OUT_OF_GAS && s->gas_enabled) s->ctx.gas_used = s->ctx.gas_limit;
    nvm_trap_info info{};
    info.code = code;
    info.pc = act.trap_pc;
    const jit::TrapSite* site = nullptr;
    // Still counted as live: the snapshot read here cannot be freed under us.
    if (act.trap_pc && registry_lookup(act.trap_pc, &site, nullptr) && site) {
      info.has_site = 1;
      info.func_index = site->func_index;
      info.bytecode_offset = site->bytecode_offset;
    }
    s->last_trap = info;
  }
  activation_count_dec();
  return code;
}

}  // namespace nvm::rt
