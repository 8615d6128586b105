// api_artifact.cpp — artifacts (issue 6): export a compiled module's machine code + metadata, and
// build a module from them without the JIT (copy into W^X memory + register the trap sites; the
// code is position-independent, so there is no relocation and no per-function work beyond size
// checks). The container format, checksum and HMAC live in python/nearvm/artifact.py, which has
// already validated everything; this file checks every index and range again (defence in depth:
// nothing it is given can make it read or map out of bounds).
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api_common.h"
#include "nearvm.h"
#include "runtime/code_registry.h"
#include "runtime/runtime.h"

using namespace nvm::rt;

namespace {


constexpr uint32_t kMaxTrapCode = NVM_TRAP_HOST_ERROR;

}  // namespace

extern "C" int nvm_module_export(nvm_module_t* module, nvm_artifact_sizes* sizes, uint8_t* code, size_t code_cap,
                                 uint32_t* func_offsets, uint32_t* func_sizes, uint32_t funcs_cap,
                                 uint32_t* trap_sites, uint32_t sites_cap, char* err, size_t errlen) {
  try {
    if (!module || !sizes) return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "null argument");
    const ModuleImpl& m = *module->impl;
    const size_t n_local = m.func_offsets.size();
    const size_t n_sites = m.code ? m.code->sites.size() : 0;
    if (m.func_sizes.size() != n_local || (m.code_size && (!m.code || m.code->mem.size < m.code_size)))
      return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "module has no exportable code");
    sizes->code_size = m.code_size;
    sizes->n_local_funcs = static_cast<uint32_t>(n_local);
    sizes->n_imported_funcs = m.n_imported_funcs;
    sizes->n_trap_sites = static_cast<uint32_t>(n_sites);
    if (!code && !func_offsets && !func_sizes && !trap_sites) return NVM_OK;  // sizes only
    if (code_cap < m.code_size || funcs_cap < n_local || sites_cap < n_sites || (m.code_size && !code) ||
        (n_local && (!func_offsets || !func_sizes)) || (n_sites && !trap_sites))
      return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "export buffers too small");
    if (m.code_size) std::memcpy(code, m.code->mem.ptr, m.code_size);  // R+X memory is readable
    for (size_t i = 0; i < n_local; ++i) {
      func_offsets[i] = m.func_offsets[i];
      func_sizes[i] = m.func_sizes[i];
    }
    for (size_t i = 0; i < n_sites; ++i) {
      const nvm::jit::TrapSite& s = m.code->sites[i];
      trap_sites[4 * i + 0] = s.pc_offset;
      trap_sites[4 * i + 1] = s.trap_code;
      trap_sites[4 * i + 2] = s.func_index;
      trap_sites[4 * i + 3] = s.bytecode_offset;
    }
    return NVM_OK;
  } catch (const std::bad_alloc&) {
    return nvm::api::fail(err, errlen, NVM_ERR_NOMEM, "out of memory");
  } catch (...) {
    return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "internal error");
  }
}

extern "C" int nvm_module_import(nvm_engine_t* engine, const uint8_t* code, size_t code_size,
                                 const uint32_t* func_offsets, const uint32_t* func_sizes, uint32_t n_local_funcs,
                                 uint32_t n_imported_funcs, const uint32_t* trap_sites, uint32_t n_trap_sites,
                                 const uint32_t* type_ids, uint32_t n_types, const uint32_t* func_type_ids,
                                 uint32_t n_funcs, const uint8_t* const* datas, const size_t* data_lens,
                                 uint32_t n_datas, nvm_module_t** out, char* err, size_t errlen) {
  try {
    if (!engine || !out) return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "null argument");
    if (code_size > 0xFFFFFFFFu) return nvm::api::fail(err, errlen, NVM_ERR_LIMIT, "code larger than 4 GiB");
    if (uint64_t{n_imported_funcs} + n_local_funcs != n_funcs)
      return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "function count mismatch between the code and the module");
    if ((code_size && !code) || (n_local_funcs && (!func_offsets || !func_sizes)) || (n_trap_sites && !trap_sites) ||
        (n_types && !type_ids) || (n_funcs && !func_type_ids) || (n_datas && (!datas || !data_lens)))
      return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "null array");
    // Functions: non-empty, inside the code, non-overlapping (sorted: O(n log n)).
    std::vector<std::pair<uint32_t, uint32_t>> spans(n_local_funcs);
    for (uint32_t i = 0; i < n_local_funcs; ++i) {
      uint64_t end = uint64_t{func_offsets[i]} + func_sizes[i];
      if (func_sizes[i] == 0 || end > code_size)
        return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "function code outside the code section");
      spans[i] = {func_offsets[i], func_sizes[i]};
    }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
      if (uint64_t{spans[i - 1].first} + spans[i - 1].second > spans[i].first)
        return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "overlapping functions");
    auto blob = std::make_shared<CodeBlob>();
    blob->sites.resize(n_trap_sites);
    for (uint32_t i = 0; i < n_trap_sites; ++i) {
      nvm::jit::TrapSite s{trap_sites[4 * i], trap_sites[4 * i + 1], trap_sites[4 * i + 2], trap_sites[4 * i + 3]};
      // Codes: NVM_TRAP_* (0: dynamic, a helper's) or a call site; sorted as sort_trap_sites
      // does (by pc, a trap site before a call site at the same pc).
      const bool call_site = s.trap_code == nvm::jit::kCallSiteCode;
      if (s.pc_offset >= code_size || (s.trap_code > kMaxTrapCode && !call_site) ||
          s.func_index < n_imported_funcs || s.func_index >= n_funcs ||
          (i && s.pc_offset < blob->sites[i - 1].pc_offset) ||
          (i && s.pc_offset == blob->sites[i - 1].pc_offset && !call_site &&
           blob->sites[i - 1].trap_code == nvm::jit::kCallSiteCode))
        return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "bad trap site");
      uint32_t li = s.func_index - n_imported_funcs;
      if (s.pc_offset < func_offsets[li] || s.pc_offset - func_offsets[li] >= func_sizes[li])
        return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "trap site outside its function");
      blob->sites[i] = s;
    }
    auto impl = std::make_shared<ModuleImpl>();
    impl->engine = engine->impl;
    impl->n_imported_funcs = n_imported_funcs;
    impl->func_offsets.assign(func_offsets, func_offsets + n_local_funcs);
    impl->func_sizes.assign(func_sizes, func_sizes + n_local_funcs);
    impl->code_size = code_size;
    impl->type_ids.assign(type_ids, type_ids + n_types);
    impl->func_type_ids.assign(func_type_ids, func_type_ids + n_funcs);
    impl->datas.resize(n_datas);
    for (uint32_t i = 0; i < n_datas; ++i) {
      if (data_lens[i] && !datas[i]) return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "null data segment");
      impl->datas[i].assign(datas[i], datas[i] + data_lens[i]);
    }
    if (code_size) {
      std::string error;
      if (!platform::map_code(code, code_size, &blob->mem, &error))
        return nvm::api::fail(err, errlen, NVM_ERR_PLATFORM, "cannot map code: " + error);
      CodeRange range;
      range.start = reinterpret_cast<uintptr_t>(blob->mem.ptr);
      range.end = range.start + code_size;
      range.sites = blob->sites.data();
      range.n_sites = blob->sites.size();
      range.keepalive = blob;
      impl->token = registry_register(range);
    }
    impl->code = std::move(blob);
    *out = new nvm_module{std::move(impl)};
    return NVM_OK;
  } catch (const std::bad_alloc&) {
    return nvm::api::fail(err, errlen, NVM_ERR_NOMEM, "out of memory");
  } catch (...) {
    return nvm::api::fail(err, errlen, NVM_ERR_INVALID, "internal error");
  }
}
