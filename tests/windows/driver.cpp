// driver.cpp — runs the corpus written by tests/windows/win_corpus.py through nearvm's C ABI
// (csrc/include/nearvm.h) and compares every outcome with the one recorded from the Python API
// on Linux: trap code or result bits, gas used, and a hash of the memory at the end.
//
// Built twice by scripts/windows/build_driver.py: with mingw-w64 (run under wine: the Windows
// platform layer, the Win64 entry/host-call stubs and helper calls) and with the host g++ (the
// control: the driver's own instantiation logic agrees with the Python runtime's).
//
// Usage: nvm_driver CASE_DIR_OR_FILE...   Exit status 0 iff every case matched. The corpus runs
// twice: on the main thread, then on a second thread (the trap state is per thread and the
// fault handler must find it there too).
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#endif

#include "nearvm.h"

namespace {

constexpr uint8_t kI32 = 0x7F, kF32 = 0x7D;

struct FuncSig {
  std::vector<uint8_t> params, results;
};

struct Call {
  uint32_t func = 0;
  bool has_limit = false;
  uint64_t limit = 0;
  std::vector<uint64_t> args;
  uint32_t code = 0;
  uint64_t gas_used = 0;
  std::vector<uint64_t> results;
  std::string text;
};

struct Elem {
  int mode = 0;
  uint32_t offset = 0;
  std::vector<int64_t> items;
};

struct CaseFile {
  std::string name;
  bool gas = false;
  uint64_t bulk_base = 0, bulk_per_unit = 0;
  int64_t stack_budget = 0;
  std::vector<FuncSig> types;
  std::vector<uint32_t> func_types;
  std::vector<std::string> imports;
  bool has_memory = false;
  uint32_t mem_min = 0, mem_max = 0, mem_declared = 0;
  bool has_table = false;
  uint32_t table_min = 0, table_max = 0;
  struct Glob { uint8_t type; int mut; uint64_t bits; };
  std::vector<Glob> globals;
  std::vector<std::vector<uint8_t>> datas;
  std::vector<uint32_t> active_datas;  // (index, kind 0, offset) triples
  std::vector<Elem> elems;
  int64_t start = -1;
  int64_t inner = -1;
  std::vector<uint8_t> program;
  std::vector<Call> calls;
  uint64_t memory_hash = 0;
};

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out;
  if (s == "-") return out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(uint8_t(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

bool parse(const std::string& path, CaseFile* c, std::string* error) {
  std::ifstream in(path);
  if (!in) { *error = "cannot open " + path; return false; }
  std::string line;
  bool ended = false;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "nearvm-case") {
      int v = 0;
      ls >> v;
      if (v != 1) { *error = "unknown case format version"; return false; }
    } else if (key == "name") {
      ls >> c->name;
    } else if (key == "config") {
      int g = 0;
      ls >> g >> c->bulk_base >> c->bulk_per_unit >> c->stack_budget;
      c->gas = g != 0;
    } else if (key == "type") {
      FuncSig sig;
      unsigned n = 0, t = 0;
      ls >> n;
      for (unsigned i = 0; i < n; ++i) { ls >> t; sig.params.push_back(uint8_t(t)); }
      ls >> n;
      for (unsigned i = 0; i < n; ++i) { ls >> t; sig.results.push_back(uint8_t(t)); }
      c->types.push_back(sig);
    } else if (key == "funcs") {
      unsigned n = 0, t = 0;
      ls >> n;
      for (unsigned i = 0; i < n; ++i) { ls >> t; c->func_types.push_back(t); }
    } else if (key == "import") {
      std::string name;
      ls >> name;
      c->imports.push_back(name);
    } else if (key == "memory") {
      c->has_memory = true;
      ls >> c->mem_min >> c->mem_max >> c->mem_declared;
    } else if (key == "table") {
      c->has_table = true;
      ls >> c->table_min >> c->table_max;
    } else if (key == "global") {
      unsigned t = 0;
      CaseFile::Glob g{};
      ls >> t >> g.mut >> g.bits;
      g.type = uint8_t(t);
      c->globals.push_back(g);
    } else if (key == "data") {
      std::string hex;
      ls >> hex;
      c->datas.push_back(unhex(hex));
    } else if (key == "active_data") {
      uint32_t idx = 0, off = 0;
      ls >> idx >> off;
      c->active_datas.insert(c->active_datas.end(), {idx, 0u, off});
    } else if (key == "elem") {
      Elem e;
      unsigned n = 0;
      ls >> e.mode >> e.offset >> n;
      for (unsigned i = 0; i < n; ++i) { int64_t v = 0; ls >> v; e.items.push_back(v); }
      c->elems.push_back(e);
    } else if (key == "start") {
      ls >> c->start;
    } else if (key == "inner") {
      ls >> c->inner;
    } else if (key == "program") {
      std::string hex;
      ls >> hex;
      c->program = unhex(hex);
    } else if (key == "call") {
      Call call;
      call.text = line;
      std::string limit, word;
      unsigned n = 0;
      ls >> call.func >> limit >> n;
      if (limit != "-") { call.has_limit = true; call.limit = std::stoull(limit); }
      for (unsigned i = 0; i < n; ++i) { uint64_t v = 0; ls >> v; call.args.push_back(v); }
      ls >> word;
      if (word != "expect") { *error = "malformed call line: " + line; return false; }
      ls >> call.code >> call.gas_used >> n;
      for (unsigned i = 0; i < n; ++i) { uint64_t v = 0; ls >> v; call.results.push_back(v); }
      c->calls.push_back(call);
    } else if (key == "memory_hash") {
      std::string hex;
      ls >> hex;
      c->memory_hash = std::stoull(hex, nullptr, 16);
    } else if (key == "end") {
      ended = true;
    } else if (!key.empty()) {
      *error = "unknown record '" + key + "'";
      return false;
    }
    if (ls.fail()) { *error = "malformed line: " + line; return false; }
  }
  if (!ended) { *error = "truncated case file (no 'end')"; return false; }
  return true;
}

uint64_t fnv1a64(const uint8_t* p, uint64_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

// ---- host functions (same semantics as HOSTS in win_corpus.py)--------------------------------

struct HostEnv {
  nvm_store_t* store = nullptr;
  int64_t inner = -1;
};

uint32_t host_add_one(void*, void*, uint64_t* io) {
  io[0] = io[0] + 1;
  return 0;
}
uint32_t host_fail(void*, void*, uint64_t*) { return NVM_TRAP_HOST_ERROR; }
uint32_t host_charge(void* data, void*, uint64_t* io) {
  return nvm_store_charge_gas(static_cast<HostEnv*>(data)->store, io[0]);
}
uint32_t host_reenter(void* data, void* caller, uint64_t* io) {
  auto* env = static_cast<HostEnv*>(data);
  if (caller == nullptr || env->inner < 0) return NVM_TRAP_HOST_ERROR;
  void* f = nvm_instance_func(static_cast<nvm_instance_t*>(caller), uint32_t(env->inner));
  uint64_t slot[1] = {io[0] & 0xFFFFFFFFu};
  uint32_t code = nvm_call(env->store, f, slot, 1);
  if (code != 0) return code == NVM_CALL_FAILED || code == NVM_CALL_NEEDS_STACK ? NVM_TRAP_HOST_ERROR : code;
  io[0] = slot[0] & 0xFFFFFFFFu;
  return 0;
}
double f32_of(uint64_t bits) {
  uint32_t b = uint32_t(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return double(f);
}
double f64_of(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
uint32_t host_mix(void*, void*, uint64_t* io) {
  double r = double(int32_t(uint32_t(io[0])));
  r = r + double(int64_t(io[1])) * 2.0;
  r = r + f32_of(io[2]) * 3.0;
  r = r + f64_of(io[3]) * 4.0;
  r = r + double(int32_t(uint32_t(io[4]))) * 5.0;
  r = r + double(int64_t(io[5])) * 6.0;
  r = r + f32_of(io[6]) * 7.0;
  r = r + f64_of(io[7]) * 8.0;
  std::memcpy(&io[0], &r, 8);
  return 0;
}

uint32_t host_interrupt(void* data, void*, uint64_t*) {
  nvm_store_interrupt(static_cast<HostEnv*>(data)->store);
  return 0;
}

struct HostDef {
  const char* name;
  nvm_host_callback fn;
  int wants_caller;
};
const HostDef kHosts[] = {
    {"add_one", host_add_one, 0}, {"fail", host_fail, 0}, {"charge", host_charge, 1},
    {"reenter", host_reenter, 1}, {"mix", host_mix, 0}, {"interrupt", host_interrupt, 1},
};

uint64_t mask_result(uint8_t type, uint64_t bits) {
  return (type == kI32 || type == kF32) ? (bits & 0xFFFFFFFFu) : bits;
}

// Runs one case; returns the number of mismatches (a setup failure counts as one).
int run_case(const CaseFile& c) {
  char err[512] = {0};
  int failures = 0;
  auto fail = [&](const std::string& what) {
    std::printf("FAIL %s: %s\n", c.name.c_str(), what.c_str());
    ++failures;
  };
  nvm_engine_t* engine = nullptr;
  if (nvm_engine_new(&engine, err, sizeof err) != NVM_OK) { fail(std::string("engine: ") + err); return failures; }
  if (!nvm_engine_can_execute(engine, err, sizeof err)) {
    fail(std::string("engine cannot execute: ") + err);
    nvm_engine_free(engine);
    return failures;
  }
  std::vector<uint32_t> type_ids;
  for (const FuncSig& t : c.types)
    type_ids.push_back(nvm_engine_intern_type(engine, t.params.data(), uint32_t(t.params.size()),
                                              t.results.data(), uint32_t(t.results.size())));
  std::vector<uint32_t> func_type_ids;
  for (uint32_t t : c.func_types) func_type_ids.push_back(type_ids.at(t));
  std::vector<const uint8_t*> data_ptrs;
  std::vector<size_t> data_lens;
  for (const auto& d : c.datas) { data_ptrs.push_back(d.data()); data_lens.push_back(d.size()); }
  nvm_module_t* module = nullptr;
  if (nvm_module_new(engine, c.program.data(), c.program.size(), type_ids.data(), uint32_t(type_ids.size()),
                     func_type_ids.data(), uint32_t(func_type_ids.size()), data_ptrs.data(), data_lens.data(),
                     uint32_t(c.datas.size()), &module, err, sizeof err) != NVM_OK) {
    fail(std::string("module: ") + err);
    nvm_engine_free(engine);
    return failures;
  }
  nvm_store_t* store = nullptr;
  if (nvm_store_new(engine, c.stack_budget, c.gas ? 1 : 0, &store, err, sizeof err) != NVM_OK) {
    fail(std::string("store: ") + err);
    nvm_module_free(module);
    nvm_engine_free(engine);
    return failures;
  }
  nvm_store_counters* counters = nvm_store_counters_ptr(store);
  if (c.gas) {
    counters->bulk_base = c.bulk_base;
    counters->bulk_per_unit = c.bulk_per_unit;
    counters->gas_limit = UINT64_MAX;
  }
  HostEnv env{store, c.inner};
  std::vector<void*> funcs;
  for (size_t i = 0; i < c.imports.size(); ++i) {
    const HostDef* def = nullptr;
    for (const HostDef& h : kHosts)
      if (c.imports[i] == h.name) def = &h;
    if (def == nullptr) { fail("unknown host function " + c.imports[i]); break; }
    funcs.push_back(nvm_func_new_host(store, func_type_ids.at(i), def->fn, &env, def->wants_caller));
  }
  std::vector<nvm_memory_t*> memories;
  std::vector<nvm_table_t*> tables;
  std::vector<nvm_global_t*> globals;
  nvm_instance_t* inst = nullptr;
  if (failures == 0 && c.has_memory) {
    nvm_memory_t* m = nullptr;
    if (nvm_memory_new(store, c.mem_min, c.mem_max, c.mem_declared, &m, err, sizeof err) != NVM_OK)
      fail(std::string("memory: ") + err);
    else memories.push_back(m);
  }
  if (failures == 0 && c.has_table) {
    nvm_table_t* t = nullptr;
    if (nvm_table_new(store, 0x70, c.table_min, c.table_max, 0, &t, err, sizeof err) != NVM_OK)
      fail(std::string("table: ") + err);
    else tables.push_back(t);
  }
  for (const auto& g : c.globals) {
    if (failures) break;
    nvm_global_t* p = nullptr;
    if (nvm_global_new(store, g.type, g.mut, g.bits, &p, err, sizeof err) != NVM_OK) fail(std::string("global: ") + err);
    else globals.push_back(p);
  }
  if (failures == 0 &&
      nvm_instance_new(store, module, funcs.data(), uint32_t(funcs.size()), memories.data(), uint32_t(memories.size()),
                       tables.data(), uint32_t(tables.size()), globals.data(), uint32_t(globals.size()),
                       uint32_t(c.elems.size()), &inst, err, sizeof err) != NVM_OK)
    fail(std::string("instance: ") + err);
  // Instantiation as nearvm.Instance does it (spec §4.5.4): element segments, then data segments,
  // then the start function.
  for (size_t i = 0; failures == 0 && i < c.elems.size(); ++i) {
    std::vector<uintptr_t> items;
    for (int64_t f : c.elems[i].items)
      items.push_back(f < 0 ? 0 : reinterpret_cast<uintptr_t>(nvm_instance_func(inst, uint32_t(f))));
    nvm_instance_set_elem(inst, uint32_t(i), items.empty() ? nullptr : items.data(), uint32_t(items.size()));
  }
  for (size_t i = 0; failures == 0 && i < c.elems.size(); ++i) {
    const Elem& e = c.elems[i];
    if (e.mode == 0) {
      uint32_t code = nvm_instance_table_init(inst, 0, uint32_t(i), e.offset, 0, uint32_t(e.items.size()));
      if (code) fail("element segment trapped: " + std::to_string(code));
      nvm_instance_elem_drop(inst, uint32_t(i));
    } else if (e.mode == 2) {
      nvm_instance_elem_drop(inst, uint32_t(i));
    }
  }
  if (failures == 0 && !c.active_datas.empty()) {
    uint32_t code = nvm_instance_init_datas(inst, c.active_datas.data(), uint32_t(c.active_datas.size() / 3));
    if (code) fail("data segment trapped: " + std::to_string(code));
  }
  if (failures == 0 && c.start >= 0) {
    uint64_t slot[1] = {0};
    uint32_t code = nvm_call(store, nvm_instance_func(inst, uint32_t(c.start)), slot, 1);
    if (code) fail("start function trapped: " + std::to_string(code));
  }
  for (const Call& call : c.calls) {
    if (failures) break;
    const FuncSig& sig = c.types.at(c.func_types.at(call.func));
    size_t n_slots = std::max<size_t>({1, call.args.size(), sig.results.size()});
    std::vector<uint64_t> buf(n_slots, 0);
    std::copy(call.args.begin(), call.args.end(), buf.begin());
    if (c.gas) counters->gas_limit = call.has_limit ? call.limit : UINT64_MAX;
    uint32_t code = nvm_call(store, nvm_instance_func(inst, call.func), buf.data(), uint32_t(n_slots));
    if (code == NVM_CALL_FAILED || code == NVM_CALL_NEEDS_STACK) {
      fail(call.text + ": the call could not run (" + std::to_string(code) + "): " + nvm_store_last_error(store));
      break;
    }
#if defined(_WIN32)
    // The native stack wasm may use below this frame is committed after an entry (Windows grows
    // stacks one guard page at a time and JIT code has no stack probes). Wine commits thread
    // stacks whole, so there this only holds; on Windows it checks prepare_native_stack.
    {
      volatile char here = 0;
      const uint64_t need = nvm_store_native_stack_needed(store) - (64u << 10);
      MEMORY_BASIC_INFORMATION mbi;
      if (VirtualQuery(const_cast<char*>(&here) - need, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT)
        fail(call.text + ": the native stack below the entry is not committed");
    }
#endif
    uint64_t used = c.gas ? counters->gas_used : 0;
    std::ostringstream got;
    got << "code " << code << " gas " << used;
    bool same = code == call.code && used == call.gas_used;
    if (code == 0) {
      got << " results";
      for (size_t j = 0; j < sig.results.size(); ++j) {
        uint64_t r = mask_result(sig.results[j], buf[j]);
        got << ' ' << r;
        same = same && j < call.results.size() && r == call.results[j];
      }
      same = same && call.results.size() == sig.results.size();
    }
    if (!same) fail(call.text + "  GOT " + got.str());
  }
  if (failures == 0) {
    uint64_t h = memories.empty() ? fnv1a64(nullptr, 0)
                                  : fnv1a64(nvm_memory_base(memories[0]), nvm_memory_size(memories[0]));
    if (h != c.memory_hash) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "memory hash %016" PRIx64 ", expected %016" PRIx64, h, c.memory_hash);
      fail(buf);
    }
  }
  nvm_store_free(store);
  nvm_module_free(module);
  nvm_engine_free(engine);
  if (failures == 0) std::printf("ok   %s (%zu calls)\n", c.name.c_str(), c.calls.size());
  return failures;
}

std::vector<std::string> case_files(const std::string& arg) {
  std::vector<std::string> out;
  auto ends_with = [](const std::string& s, const char* suffix) {
    size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
  };
  if (ends_with(arg, ".case")) return {arg};
#if defined(_WIN32)
  WIN32_FIND_DATAA fd;
  HANDLE h = FindFirstFileA((arg + "\\*.case").c_str(), &fd);
  if (h != INVALID_HANDLE_VALUE) {
    do out.push_back(arg + "\\" + fd.cFileName); while (FindNextFileA(h, &fd));
    FindClose(h);
  }
#else
  if (DIR* d = opendir(arg.c_str())) {
    while (dirent* e = readdir(d))
      if (ends_with(e->d_name, ".case")) out.push_back(arg + "/" + e->d_name);
    closedir(d);
  }
#endif
  std::sort(out.begin(), out.end());
  return out;
}

int run_all(int argc, char** argv, const char* where) {
  int failures = 0, cases = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::string> files = case_files(argv[i]);
    if (files.empty()) { std::printf("FAIL no .case files in %s\n", argv[i]); ++failures; }
    for (const std::string& f : files) {
      CaseFile c;
      std::string error;
      ++cases;
      if (!parse(f, &c, &error)) { std::printf("FAIL %s: %s\n", f.c_str(), error.c_str()); ++failures; continue; }
      failures += run_case(c);
    }
  }
  std::printf("%s: %d cases, %d failures\n", where, cases, failures);
  std::fflush(stdout);
  return (failures == 0 && cases > 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("nearvm %s on %s\n", nvm_version(), nvm_host_isa());
  int main_status = run_all(argc, argv, "main thread");
  int thread_status = 1;
  std::thread worker([&] { thread_status = run_all(argc, argv, "second thread"); });
  worker.join();
  return main_status | thread_status;
}
