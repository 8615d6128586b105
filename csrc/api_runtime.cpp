// api_runtime.cpp — the runtime's C ABI (declared in include/nearvm.h). No C++ exception crosses
// it: every entry point catches and turns failures into a status + message.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "api_common.h"
#include "nearvm.h"
#include "runtime/code_registry.h"
#include "runtime/runtime.h"

using namespace nvm::rt;
using nvm::api::fail;

namespace {

StoreImpl* S(nvm_store_t* s) { return reinterpret_cast<StoreImpl*>(s); }
MemoryImpl* M(nvm_memory_t* m) { return reinterpret_cast<MemoryImpl*>(m); }
TableImpl* T(nvm_table_t* t) { return reinterpret_cast<TableImpl*>(t); }
GlobalImpl* G(nvm_global_t* g) { return reinterpret_cast<GlobalImpl*>(g); }
InstanceImpl* I(nvm_instance_t* i) { return reinterpret_cast<InstanceImpl*>(i); }

uint32_t host_dispatch(HostCallContext* c, uint64_t* args_results) {
  auto* h = reinterpret_cast<HostCtx*>(c);
  return h->cb(h->data, h->caller, args_results);
}

bool is_host_ref(const VMFuncRef* ref) { return ref->func_index == ~0u; }

}  // namespace

#define NVM_TRY try {
#define NVM_CATCH(err, errlen)                                                     \
  }                                                                                \
  catch (const std::bad_alloc&) {                                                  \
    return fail(err, errlen, NVM_ERR_NOMEM, "out of memory");                      \
  }                                                                                \
  catch (const std::exception& e) {                                                \
    return fail(err, errlen, NVM_ERR_INVALID, std::string("internal error: ") + e.what()); \
  }                                                                                \
  catch (...) {                                                                    \
    return fail(err, errlen, NVM_ERR_INVALID, "internal error");                   \
  }

// ---- engine ----------------------------------------------------------------------------------

extern "C" int nvm_engine_new(nvm_engine_t** out, char* err, size_t errlen) {
  NVM_TRY
  auto impl = std::make_shared<EngineImpl>();
  nvm::jit::EngineStubs stubs;
  std::string error;
  nvm::jit::CompileOptions options;
  if (nvm::jit::generate_stubs(options, &stubs, &error)) {
    auto blob = std::make_shared<CodeBlob>();
    if (!platform::map_code(stubs.code.data(), stubs.code.size(), &blob->mem, &error)) {
      return fail(err, errlen, NVM_ERR_PLATFORM, "cannot map the engine stubs: " + error);
    }
    impl->entry = reinterpret_cast<EntryTrampolineFn>(blob->mem.ptr + stubs.entry_offset);
    impl->host_call_stub = blob->mem.ptr + stubs.host_call_offset;
    CodeRange range;
    range.start = reinterpret_cast<uintptr_t>(blob->mem.ptr);
    range.end = range.start + stubs.code.size();
    range.keepalive = blob;
    impl->stubs_token = registry_register(range);
    impl->stubs = std::move(blob);
  } else {
    // No JIT (or it failed): the engine still creates stores, memories, tables, globals.
    impl->stub_error = error.empty() ? "the JIT generated no stubs" : error;
  }
  *out = new nvm_engine{std::move(impl)};
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" void nvm_engine_free(nvm_engine_t* engine) { delete engine; }

extern "C" int nvm_engine_can_execute(nvm_engine_t* engine, char* err, size_t errlen) {
  if (engine->impl->entry) return 1;
  fail(err, errlen, 0, engine->impl->stub_error);
  return 0;
}

extern "C" uint32_t nvm_engine_intern_type(nvm_engine_t* engine, const uint8_t* params, uint32_t n_params,
                                           const uint8_t* results, uint32_t n_results) {
  try {
    return engine->impl->intern(params, n_params, results, n_results);
  } catch (...) {
    return 0;
  }
}

// ---- module ----------------------------------------------------------------------------------

extern "C" int nvm_module_new(nvm_engine_t* engine, const uint8_t* program, size_t size, const uint32_t* type_ids,
                              uint32_t n_types, const uint32_t* func_type_ids, uint32_t n_funcs,
                              const uint8_t* const* datas, const size_t* data_lens, uint32_t n_datas,
                              nvm_module_t** out, char* err, size_t errlen) {
  NVM_TRY
  nvm::jit::CompiledProgram prog;
  nvm::jit::CompileOptions options;
  std::string error;
  if (!nvm::jit::compile_program(program, size, options, &prog, &error))
    return fail(err, errlen, NVM_ERR_COMPILE, error.empty() ? "compilation failed" : error);
  if (prog.n_imported_funcs > n_funcs || prog.func_offsets.size() != n_funcs - prog.n_imported_funcs)
    return fail(err, errlen, NVM_ERR_INVALID, "function count mismatch between the program and the module");
  for (uint32_t off : prog.func_offsets)
    if (off >= prog.code.size()) return fail(err, errlen, NVM_ERR_INVALID, "function offset outside the code");
  auto impl = std::make_shared<ModuleImpl>();
  impl->engine = engine->impl;
  impl->n_imported_funcs = prog.n_imported_funcs;
  impl->func_offsets = prog.func_offsets;
  impl->func_sizes = prog.func_sizes;
  impl->code_size = prog.code.size();
  impl->type_ids.assign(type_ids, type_ids + n_types);
  impl->func_type_ids.assign(func_type_ids, func_type_ids + n_funcs);
  impl->datas.resize(n_datas);
  for (uint32_t i = 0; i < n_datas; ++i) impl->datas[i].assign(datas[i], datas[i] + data_lens[i]);
  auto blob = std::make_shared<CodeBlob>();
  blob->sites = std::move(prog.trap_sites);
  return nvm::api::publish_module(std::move(impl), std::move(blob), prog.code.data(), prog.code.size(), out, err,
                                  errlen);
  NVM_CATCH(err, errlen)
}

extern "C" void nvm_module_free(nvm_module_t* module) { delete module; }

extern "C" size_t nvm_module_code_size(nvm_module_t* module) {
  return module->impl->code ? module->impl->code->mem.size : 0;
}

// ---- store -----------------------------------------------------------------------------------

extern "C" int nvm_store_new(nvm_engine_t* engine, int64_t stack_budget, int gas_enabled, nvm_store_t** out,
                             char* err, size_t errlen) {
  NVM_TRY
  auto* s = new StoreImpl();
  s->engine = engine->impl;
  s->ctx.gas_used = 0;
  s->ctx.gas_limit = ~uint64_t{0};
  s->ctx.stack_remaining = stack_budget;
  s->stack_budget = stack_budget;
  s->ctx.activation = nullptr;
  s->gas_enabled = gas_enabled != 0;
  s->ctx.gas_metered = s->gas_enabled ? 1 : 0;
  *out = reinterpret_cast<nvm_store_t*>(s);
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" void nvm_store_free(nvm_store_t* store) { delete S(store); }

extern "C" uint64_t nvm_store_native_stack_needed(nvm_store_t* store) {
  return native_stack_needed(S(store)->stack_budget);
}

extern "C" nvm_store_counters* nvm_store_counters_ptr(nvm_store_t* store) {
  return reinterpret_cast<nvm_store_counters*>(&S(store)->ctx);
}

extern "C" uint32_t nvm_store_charge_gas(nvm_store_t* store, uint64_t amount) {
  VMStoreContext& c = S(store)->ctx;
  if (!S(store)->gas_enabled) return 0;
  uint64_t left = c.gas_limit - c.gas_used;
  if (c.gas_used > c.gas_limit || amount > left) {
    c.gas_used = c.gas_limit;
    return NVM_TRAP_OUT_OF_GAS;
  }
  c.gas_used += amount;
  return 0;
}

extern "C" const nvm_trap_info* nvm_store_last_trap(nvm_store_t* store) { return &S(store)->last_trap; }
extern "C" void nvm_store_interrupt(nvm_store_t* store) { set_interrupt(S(store), 1); }
extern "C" void nvm_store_clear_interrupt(nvm_store_t* store) { set_interrupt(S(store), 0); }
extern "C" const char* nvm_store_last_error(nvm_store_t* store) { return S(store)->last_error.c_str(); }

// ---- memory ----------------------------------------------------------------------------------

extern "C" int nvm_memory_new(nvm_store_t* store, uint32_t min_pages, uint32_t max_pages, uint32_t declared_max,
                              nvm_memory_t** out, char* err, size_t errlen) {
  NVM_TRY
  if (max_pages > kMaxPages) max_pages = kMaxPages;
  if (min_pages > max_pages) return fail(err, errlen, NVM_ERR_LIMIT, "memory minimum exceeds its maximum");
  uint64_t bytes = uint64_t{min_pages} * kPageSize;
  uint8_t* base = memory_pool_acquire(bytes);  // pooled or fresh: [0, bytes) zero, rest inaccessible
  if (!base) return fail(err, errlen, NVM_ERR_NOMEM, "cannot reserve address space for a linear memory");
  std::unique_ptr<MemoryImpl> owner;
  try {
    owner = std::make_unique<MemoryImpl>();
  } catch (...) {
    memory_pool_release(base, bytes);
    throw;
  }
  auto* m = owner.release();
  m->base = base;
  m->pages = min_pages;
  m->size_bytes = bytes;
  m->max_pages = max_pages;
  m->declared_max = declared_max;
  try {
    S(store)->memories.push_back(m);
  } catch (...) {
    m->release();
    throw;
  }
  *out = reinterpret_cast<nvm_memory_t*>(m);
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" uint8_t* nvm_memory_base(nvm_memory_t* memory) { return M(memory)->base; }
extern "C" uint64_t nvm_memory_size(nvm_memory_t* memory) { return M(memory)->size_bytes; }
extern "C" uint32_t nvm_memory_pages(nvm_memory_t* memory) { return M(memory)->pages; }
extern "C" int64_t nvm_memory_grow(nvm_memory_t* memory, uint32_t delta) { return M(memory)->grow(delta); }
extern "C" void nvm_memory_retain(nvm_memory_t* memory) { M(memory)->retain(); }
extern "C" void nvm_memory_release(nvm_memory_t* memory) { M(memory)->release(); }

// ---- table -----------------------------------------------------------------------------------

extern "C" int nvm_table_new(nvm_store_t* store, uint8_t elem_type, uint32_t minimum, uint32_t maximum,
                             uintptr_t init, nvm_table_t** out, char* err, size_t errlen) {
  NVM_TRY
  if (elem_type != 0x70 && elem_type != 0x6F) return fail(err, errlen, NVM_ERR_INVALID, "bad table element type");
  if (minimum > kMaxTableElems) return fail(err, errlen, NVM_ERR_LIMIT, "table minimum exceeds the implementation limit");
  auto t = std::make_unique<TableImpl>();
  t->storage.assign(minimum, init);
  t->t.elems = t->storage.data();
  t->t.size = minimum;
  t->t.capacity = minimum;
  t->t.maximum = maximum;
  t->t.elem_type = elem_type;
  *out = reinterpret_cast<nvm_table_t*>(t.get());
  S(store)->tables.push_back(std::move(t));
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" uint32_t nvm_table_size(nvm_table_t* table) { return T(table)->t.size; }

extern "C" int nvm_table_get(nvm_table_t* table, uint32_t index, uintptr_t* out) {
  if (index >= T(table)->t.size) return -1;
  *out = T(table)->t.elems[index];
  return 0;
}

extern "C" int nvm_table_set(nvm_table_t* table, uint32_t index, uintptr_t value) {
  if (index >= T(table)->t.size) return -1;
  T(table)->t.elems[index] = value;
  return 0;
}

extern "C" int64_t nvm_table_grow(nvm_table_t* table, uint32_t delta, uintptr_t init) {
  return T(table)->grow(delta, init);
}

// ---- global ----------------------------------------------------------------------------------

extern "C" int nvm_global_new(nvm_store_t* store, uint8_t valtype, int is_mutable, uint64_t bits,
                              nvm_global_t** out, char* err, size_t errlen) {
  NVM_TRY
  auto g = std::make_unique<GlobalImpl>();
  g->valtype = valtype;
  g->is_mutable = is_mutable != 0;
  g->cell.bits = (valtype == 0x7F || valtype == 0x7D) ? (bits & 0xFFFFFFFFu) : bits;
  *out = reinterpret_cast<nvm_global_t*>(g.get());
  S(store)->globals.push_back(std::move(g));
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" uint64_t* nvm_global_cell(nvm_global_t* global) { return &G(global)->cell.bits; }

// ---- functions -------------------------------------------------------------------------------

extern "C" void* nvm_func_new_host(nvm_store_t* store, uint32_t type_id, nvm_host_callback callback, void* data,
                                   int wants_caller) {
  try {
    StoreImpl* s = S(store);
    auto h = std::make_unique<HostFuncImpl>();
    h->ctx.base.dispatch = host_dispatch;
    h->ctx.base.user = h.get();
    h->ctx.base.store = &s->ctx;
    h->ctx.cb = callback;
    h->ctx.data = data;
    h->ctx.caller = nullptr;
    h->ctx.wants_caller = wants_caller != 0;
    h->ref.code = s->engine->host_call_stub;
    h->ref.vmctx = reinterpret_cast<VMContext*>(&h->ctx);
    h->ref.type_id = type_id;
    h->ref.func_index = ~0u;
    h->canonical = h.get();
    void* ref = &h->ref;
    s->host_funcs.push_back(std::move(h));
    return ref;
  } catch (...) {
    return nullptr;
  }
}

extern "C" uint32_t nvm_funcref_type_id(void* funcref) { return static_cast<VMFuncRef*>(funcref)->type_id; }

extern "C" void* nvm_funcref_host_data(void* funcref) {
  auto* ref = static_cast<VMFuncRef*>(funcref);
  if (!is_host_ref(ref)) return nullptr;
  return reinterpret_cast<HostCtx*>(ref->vmctx)->data;
}

extern "C" uint32_t nvm_call(nvm_store_t* store, void* funcref, uint64_t* args_results, uint32_t n_slots) {
  StoreImpl* s = S(store);
  try {
    return invoke(s, s->engine->entry, static_cast<VMFuncRef*>(funcref), args_results, n_slots);
  } catch (...) {
    return NVM_CALL_FAILED;
  }
}

// ---- instance --------------------------------------------------------------------------------

extern "C" int nvm_instance_new(nvm_store_t* store, nvm_module_t* module, void* const* func_imports,
                                uint32_t n_func_imports, nvm_memory_t* const* memories, uint32_t n_memories,
                                nvm_table_t* const* tables, uint32_t n_tables, nvm_global_t* const* globals,
                                uint32_t n_globals, uint32_t n_elems, nvm_instance_t** out, char* err,
                                size_t errlen) {
  NVM_TRY
  StoreImpl* s = S(store);
  const auto& mod = module->impl;
  if (mod->engine != s->engine) return fail(err, errlen, NVM_ERR_INVALID, "module and store use different engines");
  if (n_func_imports != mod->n_imported_funcs)
    return fail(err, errlen, NVM_ERR_INVALID, "wrong number of imported functions");
  if (n_memories > 1) return fail(err, errlen, NVM_ERR_UNSUPPORTED, "at most one memory is supported");
  auto in = std::make_unique<InstanceImpl>();
  in->store = s;
  in->module = mod;
  const uint32_t n_funcs = static_cast<uint32_t>(mod->func_type_ids.size());
  in->funcs.resize(n_funcs);
  for (uint32_t i = 0; i < n_func_imports; ++i) {
    auto* ref = static_cast<VMFuncRef*>(func_imports[i]);
    if (is_host_ref(ref) && reinterpret_cast<HostCtx*>(ref->vmctx)->wants_caller) {
      // access_caller: a per-instance wrapper knows its caller (the stub only passes the callee ctx).
      auto* orig = reinterpret_cast<HostCtx*>(ref->vmctx);
      auto w = std::make_unique<HostFuncImpl>();
      w->ctx = *orig;
      w->ctx.base.user = w.get();
      w->ctx.caller = in.get();
      w->ref = *ref;
      w->ref.vmctx = reinterpret_cast<VMContext*>(&w->ctx);
      w->canonical = static_cast<HostFuncImpl*>(orig->base.user);
      in->funcs[i] = &w->ref;
      in->wrappers.push_back(std::move(w));
    } else {
      in->funcs[i] = ref;
    }
  }
  const uint32_t n_local = n_funcs - n_func_imports;
  in->local_funcs.resize(n_local);
  const uint8_t* code = mod->code && mod->code->mem.ptr ? mod->code->mem.ptr : nullptr;
  for (uint32_t i = 0; i < n_local; ++i) {
    VMFuncRef& f = in->local_funcs[i];
    f.code = code ? const_cast<uint8_t*>(code) + mod->func_offsets[i] : nullptr;
    f.vmctx = &in->ctx;
    f.type_id = mod->func_type_ids[n_func_imports + i];
    f.func_index = n_func_imports + i;
    in->funcs[n_func_imports + i] = &f;
  }
  for (uint32_t i = 0; i < n_tables; ++i) {
    in->table_objs.push_back(T(tables[i]));
    in->tables.push_back(&T(tables[i])->t);
  }
  for (uint32_t i = 0; i < n_globals; ++i) in->globals.push_back(&G(globals[i])->cell);
  if (n_memories == 1) {
    in->memory = M(memories[0]);
    in->ctx.memory_base = in->memory->base;
    in->ctx.memory_size = in->memory->size_bytes;
    in->memory->users.push_back(&in->ctx);
  }
  in->elems.resize(n_elems);
  in->data_dropped.assign(mod->datas.size(), 0);
  in->ctx.store = &s->ctx;
  in->ctx.globals = in->globals.data();
  in->ctx.funcs = in->funcs.data();
  in->ctx.tables = in->tables.data();
  in->ctx.type_ids = mod->type_ids.data();
  in->ctx.helpers = &kHelpers;
  in->ctx.instance = in.get();
  *out = reinterpret_cast<nvm_instance_t*>(in.get());
  std::lock_guard<std::mutex> lock(s->interrupt_mutex);
  in->ctx.interrupt = s->interrupt_pending;
  s->instances.push_back(std::move(in));
  return NVM_OK;
  NVM_CATCH(err, errlen)
}

extern "C" void* nvm_instance_func(nvm_instance_t* instance, uint32_t func_index) {
  InstanceImpl* in = I(instance);
  return func_index < in->funcs.size() ? in->funcs[func_index] : nullptr;
}

extern "C" int nvm_instance_set_elem(nvm_instance_t* instance, uint32_t elem_index, const uintptr_t* items,
                                     uint32_t n) {
  InstanceImpl* in = I(instance);
  if (elem_index >= in->elems.size()) return NVM_ERR_INVALID;
  try {
    in->elems[elem_index].assign(items, items + n);
  } catch (...) {
    return NVM_ERR_NOMEM;
  }
  return NVM_OK;
}

extern "C" uint32_t nvm_instance_table_init(nvm_instance_t* instance, uint32_t table_index, uint32_t elem_index,
                                            uint32_t dst, uint32_t src, uint32_t n) {
  return do_table_init(I(instance), table_index, elem_index, dst, src, n);
}

extern "C" uint32_t nvm_instance_memory_init(nvm_instance_t* instance, uint32_t data_index, uint32_t dst,
                                             uint32_t src, uint32_t n) {
  return do_memory_init(I(instance), data_index, dst, src, n);
}

extern "C" void nvm_instance_elem_drop(nvm_instance_t* instance, uint32_t elem_index) {
  kHelpers.elem_drop(&I(instance)->ctx, elem_index);
}

extern "C" void nvm_instance_data_drop(nvm_instance_t* instance, uint32_t data_index) {
  kHelpers.data_drop(&I(instance)->ctx, data_index);
}

extern "C" size_t nvm_selftest_registry_size(void) { return registry_size(); }

extern "C" size_t nvm_selftest_registry_retired(void) { return registry_retired(); }

extern "C" size_t nvm_store_last_backtrace(nvm_store_t* store, const nvm_frame** out) {
  const auto& bt = S(store)->last_backtrace;
  *out = bt.empty() ? nullptr : bt.data();
  return bt.size();
}

extern "C" void nvm_memory_pool_stats(nvm_memory_pool_info* out) {
  MemoryPoolStats st{};
  memory_pool_stats(&st);
  out->created = st.created;
  out->reused = st.reused;
  out->cached = st.cached;
  out->limit = st.limit;
}

extern "C" void nvm_memory_pool_set_limit(uint64_t limit) { memory_pool_set_limit(limit); }

extern "C" uint32_t nvm_instance_init_datas(nvm_instance_t* instance, const uint32_t* segs, uint32_t n) {
  InstanceImpl* in = I(instance);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t data_index = segs[3 * i], kind = segs[3 * i + 1], arg = segs[3 * i + 2];
    uint32_t offset = arg;
    if (kind == 1) {  // global.get: an (imported, immutable) global's current value
      if (arg >= in->globals.size()) return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
      offset = static_cast<uint32_t>(in->globals[arg]->bits);
    } else if (kind != 0) {
      return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
    }
    if (data_index >= in->module->datas.size()) return NVM_TRAP_MEMORY_OUT_OF_BOUNDS;
    const uint32_t len = static_cast<uint32_t>(in->module->datas[data_index].size());
    uint32_t code = do_memory_init(in, data_index, offset, 0, len);
    if (code) return code;
    in->data_dropped[data_index] = 1;
  }
  return 0;
}
