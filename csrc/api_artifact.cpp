// api_artifact.cpp — artifacts: export a compiled module's machine code + metadata, and
// build a module from them without the JIT (copy into W^X memory + register the trap sites; the
// code is position-independent, so there is no relocation and no per-function work beyond checks).
//
// nvm_module_import_artifact is Module.deserialize's loader: python/nearvm/artifact.py checks the
// HMAC, the checksum and the header and decodes the module section; everything else — the section
// table, the funcs, trap and exec sections — is parsed here straight from the blob, with every
// read bounds-checked (Cursor) and every count, offset, size and index cross-checked against the
// code and the module, so no input can make it read or map out of bounds. nvm_module_import takes
// the same tables as arrays (checked the same way).
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api_common.h"
#include "jit/target.h"
#include "nearvm.h"
#include "runtime/code_registry.h"
#include "runtime/runtime.h"

using namespace nvm::rt;

namespace {


constexpr uint32_t kMaxTrapCode = NVM_TRAP_INTERRUPTED;
// The artifact container (python/nearvm/artifact.py): header size, where it records the number of
// sections, and how many there are (ids 1 module, 2 code, 3 funcs, 4 traps, 5 exec).
constexpr uint64_t kHeaderSize = 128;
constexpr size_t kSectionCountAt = 20;
constexpr uint32_t kNumSections = 5;
// The header's target bytes (ISA id, OS ABI id: jit/target.h enumerator values).
constexpr size_t kIsaAt = 48;
constexpr size_t kOsAbiAt = 49;

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

namespace {

// A module built from validated pieces: everything below is already checked by the callers
// (function spans inside the code and non-overlapping, trap sites sorted and inside their
// functions, type ids mapped); this only copies and maps.
int build_module(nvm_engine_t* engine, const uint8_t* code, size_t code_size, std::vector<uint32_t>&& offsets,
                 std::vector<uint32_t>&& sizes, uint32_t n_imported_funcs, std::vector<nvm::jit::TrapSite>&& sites,
                 const uint32_t* type_ids, uint32_t n_types, std::vector<uint32_t>&& func_type_ids,
                 std::vector<std::vector<uint8_t>>&& datas, nvm_module_t** out, char* err, size_t errlen) {
  auto blob = std::make_shared<CodeBlob>();
  blob->sites = std::move(sites);
  auto impl = std::make_shared<ModuleImpl>();
  impl->engine = engine->impl;
  impl->n_imported_funcs = n_imported_funcs;
  impl->func_offsets = std::move(offsets);
  impl->func_sizes = std::move(sizes);
  impl->code_size = code_size;
  impl->type_ids.assign(type_ids, type_ids + n_types);
  impl->func_type_ids = std::move(func_type_ids);
  impl->datas = std::move(datas);
  return nvm::api::publish_module(std::move(impl), std::move(blob), code, code_size, out, err, errlen);
}

// Functions: non-empty, inside the code, non-overlapping. Linear when the offsets ascend (the
// JIT lays functions out in order), else sorted: O(n log n).
bool check_spans(const uint32_t* offsets, const uint32_t* sizes, size_t n, uint64_t code_size) {
  bool ascending = true;
  for (size_t i = 0; i < n; ++i) {
    if (sizes[i] == 0 || uint64_t{offsets[i]} + sizes[i] > code_size) return false;
    if (i && offsets[i] < uint64_t{offsets[i - 1]} + sizes[i - 1]) ascending = false;
  }
  if (ascending) return true;
  std::vector<std::pair<uint32_t, uint32_t>> spans(n);
  for (size_t i = 0; i < n; ++i) spans[i] = {offsets[i], sizes[i]};
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < n; ++i)
    if (uint64_t{spans[i - 1].first} + spans[i - 1].second > spans[i].first) return false;
  return true;
}

// Trap sites: sorted by pc (as jit::sort_trap_sites: a trap site before a call site at the same
// pc), a known trap code (0: a helper's, known at run time) or a call site (jit::kCallSiteCode),
// a local function, and a pc inside that function's code.
bool check_site(const nvm::jit::TrapSite& s, const nvm::jit::TrapSite* prev, const uint32_t* offsets,
                const uint32_t* sizes, uint32_t n_imported, uint32_t n_funcs) {
  const bool call_site = s.trap_code == nvm::jit::kCallSiteCode;
  if ((s.trap_code > kMaxTrapCode && !call_site) || s.func_index < n_imported || s.func_index >= n_funcs)
    return false;
  if (prev && s.pc_offset < prev->pc_offset) return false;
  if (prev && s.pc_offset == prev->pc_offset && !call_site && prev->trap_code == nvm::jit::kCallSiteCode)
    return false;
  uint32_t li = s.func_index - n_imported;
  return s.pc_offset >= offsets[li] && s.pc_offset - offsets[li] < sizes[li];
}

// Little-endian reads from a byte range whose bounds the caller checked (any alignment).
inline uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint64_t le64(const uint8_t* p) { return uint64_t{le32(p)} | uint64_t{le32(p + 4)} << 32; }

// A bounds-checked cursor over one artifact section: every read checks what remains first, and
// a failed read leaves the cursor failed (all later reads fail too). No read can leave [p, end).
struct Cursor {
  const uint8_t* p;
  size_t left;
  bool ok = true;
  Cursor(const uint8_t* data, size_t n) : p(data), left(n) {}
  bool need(uint64_t n) {
    if (!ok || n > left) ok = false;
    return ok;
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = le32(p);
    p += 4;
    left -= 4;
    return v;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = le64(p);
    p += 8;
    left -= 8;
    return v;
  }
  // A u32 count followed by `count` u32s, all in the section: returns the count and the array.
  uint32_t u32s(std::vector<uint32_t>* out) {
    uint32_t n = u32();
    if (!need(uint64_t{n} * 4)) return 0;
    out->resize(n);
    for (uint32_t i = 0; i < n; ++i) (*out)[i] = le32(p + 4 * size_t{i});
    p += 4 * size_t{n};
    left -= 4 * size_t{n};
    return n;
  }
  // A u32 count followed by `count` u32s, skipped: returns the count.
  uint32_t skip_u32s() {
    uint32_t n = u32();
    if (!need(uint64_t{n} * 4)) return 0;
    p += 4 * size_t{n};
    left -= 4 * size_t{n};
    return n;
  }
  bool done() const { return ok && left == 0; }
};

int invalid(char* err, size_t errlen, const std::string& msg) {
  return nvm::api::fail(err, errlen, NVM_ERR_INVALID, msg);
}

// [off, off + len) inside [0, size), without overflow.
bool span_ok(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

}  // namespace

extern "C" int nvm_module_import(nvm_engine_t* engine, const uint8_t* code, size_t code_size,
                                 const uint32_t* func_offsets, const uint32_t* func_sizes, uint32_t n_local_funcs,
                                 uint32_t n_imported_funcs, const uint32_t* trap_sites, uint32_t n_trap_sites,
                                 const uint32_t* type_ids, uint32_t n_types, const uint32_t* func_type_ids,
                                 uint32_t n_funcs, const uint8_t* const* datas, const size_t* data_lens,
                                 uint32_t n_datas, nvm_module_t** out, char* err, size_t errlen) {
  try {
    if (!engine || !out) return invalid(err, errlen, "null argument");
    if (code_size > 0xFFFFFFFFu) return nvm::api::fail(err, errlen, NVM_ERR_LIMIT, "code larger than 4 GiB");
    if (uint64_t{n_imported_funcs} + n_local_funcs != n_funcs)
      return invalid(err, errlen, "function count mismatch between the code and the module");
    if ((code_size && !code) || (n_local_funcs && (!func_offsets || !func_sizes)) || (n_trap_sites && !trap_sites) ||
        (n_types && !type_ids) || (n_funcs && !func_type_ids) || (n_datas && (!datas || !data_lens)))
      return invalid(err, errlen, "null array");
    if (!check_spans(func_offsets, func_sizes, n_local_funcs, code_size))
      return invalid(err, errlen, "function code empty, overlapping or outside the code section");
    std::vector<nvm::jit::TrapSite> sites(n_trap_sites);
    for (uint32_t i = 0; i < n_trap_sites; ++i) {
      sites[i] = {trap_sites[4 * i], trap_sites[4 * i + 1], trap_sites[4 * i + 2], trap_sites[4 * i + 3]};
      if (!check_site(sites[i], i ? &sites[i - 1] : nullptr, func_offsets, func_sizes, n_imported_funcs, n_funcs))
        return invalid(err, errlen, "bad trap site");
    }
    std::vector<std::vector<uint8_t>> data_copies(n_datas);
    for (uint32_t i = 0; i < n_datas; ++i) {
      if (data_lens[i] && !datas[i]) return invalid(err, errlen, "null data segment");
      data_copies[i].assign(datas[i], datas[i] + data_lens[i]);
    }
    return build_module(engine, code, code_size, std::vector<uint32_t>(func_offsets, func_offsets + n_local_funcs),
                        std::vector<uint32_t>(func_sizes, func_sizes + n_local_funcs), n_imported_funcs,
                        std::move(sites), type_ids, n_types,
                        std::vector<uint32_t>(func_type_ids, func_type_ids + n_funcs), std::move(data_copies), out,
                        err, errlen);
  } catch (const std::bad_alloc&) {
    return nvm::api::fail(err, errlen, NVM_ERR_NOMEM, "out of memory");
  } catch (...) {
    return invalid(err, errlen, "internal error");
  }
}

extern "C" int nvm_module_import_artifact(nvm_engine_t* engine, const uint8_t* blob, size_t body_end,
                                          uint64_t func_types_off, uint32_t n_funcs, uint32_t n_imported,
                                          const uint32_t* type_ids, uint32_t n_types, const uint64_t* data_spans,
                                          uint32_t n_datas, uint64_t* exec_span, nvm_module_t** out, char* err,
                                          size_t errlen) {
  try {
    if (!engine || !blob || !out || (n_types && !type_ids) || (n_datas && !data_spans))
      return invalid(err, errlen, "null argument");
    // The section table (artifact.py: header, then id u32, reserved u32, length u64, payload;
    // ids 1..5 in order, nothing after the last one).
    if (body_end < kHeaderSize || le32(blob + kSectionCountAt) != kNumSections)
      return invalid(err, errlen, "artifact section table: bad section count");
    // Machine code for another target never reaches a code mapping, whatever checked the header.
    constexpr nvm::jit::Target host = nvm::jit::host_target();
    if (blob[kIsaAt] != uint8_t(host.isa) || blob[kOsAbiAt] != uint8_t(host.abi))
      return invalid(err, errlen, std::string("artifact compiled for another target (this library runs ") +
                                      nvm::jit::isa_name(host.isa) + "/" + nvm::jit::os_abi_name(host.abi) + ")");
    uint64_t sec_off[kNumSections + 1], sec_len[kNumSections + 1];
    uint64_t pos = kHeaderSize;
    for (uint32_t id = 1; id <= kNumSections; ++id) {
      if (body_end - pos < 16) return invalid(err, errlen, "artifact section table truncated");
      uint64_t len = le64(blob + pos + 8);
      if (le32(blob + pos) != id || le32(blob + pos + 4) != 0)
        return invalid(err, errlen, "artifact section table: section " + std::to_string(id) + " expected");
      pos += 16;
      if (len > body_end - pos) return invalid(err, errlen, "artifact section overruns the blob");
      sec_off[id] = pos;
      sec_len[id] = len;
      pos += len;
    }
    if (pos != body_end) return invalid(err, errlen, "trailing bytes after the last artifact section");
    struct {
      uint64_t code_off, code_len, funcs_off, funcs_len, traps_off, traps_len, exec_off, exec_len;
    } L{sec_off[2], sec_len[2], sec_off[3], sec_len[3], sec_off[4], sec_len[4], sec_off[5], sec_len[5]};
    // The function type indices lie in the module section.
    if (n_funcs > sec_len[1] / 4 || func_types_off < sec_off[1] ||
        func_types_off - sec_off[1] > sec_len[1] - uint64_t{n_funcs} * 4)
      return invalid(err, errlen, "function types outside the module section");
    if (L.code_len > 0xFFFFFFFFu) return nvm::api::fail(err, errlen, NVM_ERR_LIMIT, "code larger than 4 GiB");
    if (n_imported > n_funcs) return invalid(err, errlen, "more imported functions than functions");
    const uint32_t n_local = n_funcs - n_imported;

    // funcs section: n_imported_funcs, offsets[n_local], sizes[n_local], nothing else.
    Cursor fc(blob + L.funcs_off, L.funcs_len);
    std::vector<uint32_t> offsets, sizes;
    uint32_t nimp = fc.u32();
    uint32_t n_off = fc.u32s(&offsets);
    uint32_t n_size = fc.u32s(&sizes);
    if (!fc.done()) return invalid(err, errlen, "artifact funcs section: truncated, oversized or trailing bytes");
    if (nimp != n_imported || n_off != n_local || n_size != n_local)
      return invalid(err, errlen, "artifact funcs section: function table does not match the module");
    if (!check_spans(offsets.data(), sizes.data(), n_local, L.code_len))
      return invalid(err, errlen, "artifact funcs section: function code overlaps, is empty or leaves the code");

    // traps section: count, then count records of 4 u32, nothing else.
    Cursor tc(blob + L.traps_off, L.traps_len);
    uint32_t n_sites = tc.u32();
    if (!tc.ok || uint64_t{n_sites} * 16 != tc.left)
      return invalid(err, errlen, "artifact trap section: site count does not match the section");
    std::vector<nvm::jit::TrapSite> sites(n_sites);
    for (uint32_t i = 0; i < n_sites; ++i) {
      const uint8_t* r = tc.p + 16 * size_t{i};
      sites[i] = {le32(r), le32(r + 4), le32(r + 8), le32(r + 12)};
      if (!check_site(sites[i], i ? &sites[i - 1] : nullptr, offsets.data(), sizes.data(), n_imported, n_funcs))
        return invalid(err, errlen, "artifact trap section: bad trap site " + std::to_string(i));
    }

    // exec section: gas flag (0/1), stack budget, frame costs and max stacks (none or one per
    // local function), nothing else. Only checked here; Python decodes it when it needs it.
    Cursor ec(blob + L.exec_off, L.exec_len);
    uint32_t gas = ec.u32();
    ec.u64();  // the stack budget: any value
    uint32_t n_costs = ec.skip_u32s();
    uint32_t n_stacks = ec.skip_u32s();
    if (!ec.done()) return invalid(err, errlen, "artifact exec section: truncated or trailing bytes");
    if (gas > 1) return invalid(err, errlen, "artifact exec section: bad gas flag");
    if ((n_costs != 0 && n_costs != n_local) || (n_stacks != 0 && n_stacks != n_local))
      return invalid(err, errlen, "artifact exec section: frame metadata does not match the local functions");

    // Function types: module type index of every function -> canonical id.
    std::vector<uint32_t> func_type_ids(n_funcs);
    const uint8_t* ft = blob + func_types_off;
    for (uint32_t i = 0; i < n_funcs; ++i) {
      uint32_t ti = le32(ft + 4 * size_t{i});
      if (ti >= n_types) return invalid(err, errlen, "function type index out of range");
      func_type_ids[i] = type_ids[ti];
    }
    std::vector<std::vector<uint8_t>> datas(n_datas);
    for (uint32_t i = 0; i < n_datas; ++i) {
      uint64_t off = data_spans[2 * i], len = data_spans[2 * i + 1];
      if (off < sec_off[1] || !span_ok(off - sec_off[1], len, sec_len[1]))
        return invalid(err, errlen, "data segment outside the module section");
      datas[i].assign(blob + off, blob + off + len);
    }
    if (exec_span) {
      exec_span[0] = L.exec_off;
      exec_span[1] = L.exec_len;
    }
    return build_module(engine, blob + L.code_off, L.code_len, std::move(offsets), std::move(sizes), n_imported,
                        std::move(sites), type_ids, n_types, std::move(func_type_ids), std::move(datas), out, err,
                        errlen);
  } catch (const std::bad_alloc&) {
    return nvm::api::fail(err, errlen, NVM_ERR_NOMEM, "out of memory");
  } catch (...) {
    return invalid(err, errlen, "internal error");
  }
}
