// reader.cpp — see reader.h.
#include "jit/reader.h"

#include <cstring>

#include "bytecode/nvm_opcodes.h"

namespace nvm::jit {

uint8_t ByteCursor::u8() {
  if (pos_ >= end_) { fail(); return 0; }
  return *pos_++;
}

uint32_t ByteCursor::u32() {
  const uint8_t* p = bytes(4);
  if (!p) return 0;
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint64_t ByteCursor::u64() {
  uint64_t lo = u32();
  uint64_t hi = u32();
  return lo | hi << 32;
}

const uint8_t* ByteCursor::bytes(size_t n) {
  if (remaining() < n) { fail(); return nullptr; }
  const uint8_t* p = pos_;
  pos_ += n;
  return p;
}

// LEB128 (Wasm spec §5.2.2): at most ceil(N/7) bytes; unused bits of the last byte must be
// a sign/zero extension. The frontend validated them, we re-check to stay UB-free.
uint32_t ByteCursor::uleb32() {
  uint64_t result = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    uint8_t b = u8();
    if (!ok_) return 0;
    result |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      if (result > 0xFFFFFFFFull) { fail(); return 0; }
      return uint32_t(result);
    }
  }
  fail();
  return 0;
}

int64_t ByteCursor::sleb64() {
  uint64_t result = 0;
  int shift = 0;
  for (int i = 0; i < 10; ++i) {
    uint8_t b = u8();
    if (!ok_) return 0;
    result |= uint64_t(b & 0x7F) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40)) result |= ~uint64_t(0) << shift;
      return int64_t(result);
    }
  }
  fail();
  return 0;
}

int32_t ByteCursor::sleb32() {
  int64_t v = sleb64();
  if (v < INT32_MIN || v > INT32_MAX) { fail(); return 0; }
  return int32_t(v);
}

bool is_value_type(uint8_t t) {
  return t == NVM_TYPE_I32 || t == NVM_TYPE_I64 || t == NVM_TYPE_F32 || t == NVM_TYPE_F64 ||
         t == NVM_TYPE_FUNCREF || t == NVM_TYPE_EXTERNREF;
}
bool is_ref_type(uint8_t t) { return t == NVM_TYPE_FUNCREF || t == NVM_TYPE_EXTERNREF; }

namespace {
bool fail_with(std::string* error, const char* what, size_t offset) {
  if (error) *error = std::string("malformed bytecode: ") + what + " at offset " + std::to_string(offset);
  return false;
}
}  // namespace

bool read_program(const uint8_t* data, size_t size, ProgramInfo* out, std::string* error) {
  if (!data && size) return fail_with(error, "null program", 0);
  ByteCursor c(data, data + size);
  if (c.u32() != NVM_BYTECODE_MAGIC || !c.ok()) return fail_with(error, "bad magic", 0);
  uint32_t version = c.u32();
  if (!c.ok() || version != NVM_BYTECODE_FORMAT_VERSION)
    return fail_with(error, "unsupported format version", 4);
  out->flags = c.u32();

  uint32_t n_types = c.u32();
  if (!c.ok() || n_types > kMaxTypes || n_types > c.remaining() / 8)
    return fail_with(error, "type count", c.offset());
  out->types.resize(n_types);
  for (auto& t : out->types) {
    for (auto* vec : {&t.params, &t.results}) {
      uint32_t n = c.u32();
      if (!c.ok() || n > kMaxTypeArity || n > c.remaining()) return fail_with(error, "type arity", c.offset());
      const uint8_t* p = c.bytes(n);
      vec->assign(p, p + n);
      for (uint8_t v : *vec)
        if (!is_value_type(v)) return fail_with(error, "value type", c.offset());
    }
  }

  out->n_imported_funcs = c.u32();
  uint32_t n_funcs = c.u32();
  if (!c.ok() || n_funcs > kMaxFuncs || out->n_imported_funcs > n_funcs || n_funcs > c.remaining() / 4)
    return fail_with(error, "function count", c.offset());
  out->func_types.resize(n_funcs);
  for (auto& ft : out->func_types) {
    ft = c.u32();
    if (ft >= n_types) return fail_with(error, "function type index", c.offset());
  }

  uint32_t n_tables = c.u32();
  if (!c.ok() || n_tables > c.remaining() / 12) return fail_with(error, "table count", c.offset());
  out->tables.resize(n_tables);
  for (auto& t : out->tables) {
    t.elem_type = c.u8();
    c.u8();  // imported: the runtime's business
    t.has_max = c.u8() != 0;
    c.u8();
    t.min = c.u32();
    t.max = c.u32();
    if (!is_ref_type(t.elem_type)) return fail_with(error, "table element type", c.offset());
  }

  out->n_memories = c.u32();
  if (!c.ok() || out->n_memories > 1) return fail_with(error, "memory count", c.offset());
  for (uint32_t i = 0; i < out->n_memories; ++i) c.bytes(12);

  uint32_t n_globals = c.u32();
  if (!c.ok() || n_globals > c.remaining() / 4) return fail_with(error, "global count", c.offset());
  out->globals.resize(n_globals);
  for (auto& g : out->globals) {
    g.valtype = c.u8();
    g.mutable_ = c.u8() != 0;
    g.imported = c.u8() != 0;
    c.u8();
    if (!is_value_type(g.valtype)) return fail_with(error, "global type", c.offset());
  }
  out->n_elem_segments = c.u32();
  out->n_data_segments = c.u32();

  uint32_t n_bodies = c.u32();
  if (!c.ok() || n_bodies != n_funcs - out->n_imported_funcs)
    return fail_with(error, "body count", c.offset());
  out->bodies.resize(n_bodies);
  for (uint32_t i = 0; i < n_bodies; ++i) {
    uint32_t body_size = c.u32();
    const uint8_t* p = c.bytes(body_size);
    if (!p) return fail_with(error, "body size", c.offset());
    out->bodies[i] = FunctionBody{out->n_imported_funcs + i, p, body_size};
  }
  if (!c.at_end()) return fail_with(error, "trailing bytes", c.offset());
  return true;
}

bool read_body_header(const ProgramInfo& info, const FunctionBody& body, BodyHeader* out,
                      std::string* error) {
  ByteCursor c(body.body, body.body + body.body_size);
  const FuncType& type = info.types[info.func_types[body.func_index]];
  out->local_types = type.params;
  out->n_params = uint32_t(type.params.size());
  uint32_t groups = c.u32();
  if (!c.ok() || groups > c.remaining() / 5) return fail_with(error, "local groups", c.offset());
  uint64_t total = out->n_params;
  for (uint32_t g = 0; g < groups; ++g) {
    uint32_t count = c.u32();
    uint8_t t = c.u8();
    total += count;
    if (!c.ok() || total > kMaxLocals || !is_value_type(t)) return fail_with(error, "locals", c.offset());
    out->local_types.insert(out->local_types.end(), count, t);
  }
  out->max_stack = c.u32();
  out->max_ctrl = c.u32();
  out->frame_cost = c.u32();
  out->code_size = c.u32();
  if (!c.ok() || out->max_stack > kMaxStackDepth || out->max_ctrl > kMaxCtrlDepth || out->max_ctrl == 0)
    return fail_with(error, "body header", c.offset());
  out->code = c.bytes(out->code_size);
  if (!out->code || !c.at_end()) return fail_with(error, "code size", c.offset());
  return true;
}

}  // namespace nvm::jit
