// reader.h — bounds-checked reader of a lowered bytecode program (docs/bytecode.md).
//
// The program is pre-validated by the Python frontend, but the C side trusts nothing: every
// read is bounds-checked, every LEB is length-limited, and every index is checked against the
// module header. Malformed input yields an error string, never undefined behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nvm::jit {

// A cursor over [begin, end). After the first failed read `ok()` is false and every further
// read returns 0, so callers may check once per op instead of after every immediate.
class ByteCursor {
 public:
  ByteCursor() = default;
  ByteCursor(const uint8_t* begin, const uint8_t* end) : begin_(begin), pos_(begin), end_(end) {}

  bool ok() const { return ok_; }
  bool at_end() const { return pos_ >= end_; }
  size_t offset() const { return static_cast<size_t>(pos_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  const uint8_t* position() const { return pos_; }
  void fail() { ok_ = false; pos_ = end_; }

  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  uint32_t uleb32();
  int32_t sleb32();
  int64_t sleb64();
  // Returns a pointer to `n` bytes and advances, or nullptr (and fails) if they are not there.
  const uint8_t* bytes(size_t n);

 private:
  const uint8_t* begin_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool ok_ = true;
};

struct FuncType {
  std::vector<uint8_t> params;
  std::vector<uint8_t> results;
};

struct TableDesc { uint8_t elem_type; uint32_t min, max; bool has_max; };
struct GlobalDesc { uint8_t valtype; bool mutable_; bool imported; };

struct FunctionBody {
  uint32_t func_index = 0;          // module function index (imports included)
  const uint8_t* body = nullptr;    // the whole body (locals header + code)
  uint32_t body_size = 0;
};

// The module header plus the location of each body. Bodies are decoded lazily by the compiler.
struct ProgramInfo {
  uint32_t flags = 0;
  std::vector<FuncType> types;
  uint32_t n_imported_funcs = 0;
  std::vector<uint32_t> func_types;  // [n_funcs]
  std::vector<TableDesc> tables;
  uint32_t n_memories = 0;
  std::vector<GlobalDesc> globals;
  uint32_t n_elem_segments = 0;
  uint32_t n_data_segments = 0;
  std::vector<FunctionBody> bodies;
};

// Upper bounds that keep hostile headers from requesting absurd allocations.
inline constexpr uint32_t kMaxTypes = 1u << 20;
inline constexpr uint32_t kMaxFuncs = 1u << 20;
inline constexpr uint32_t kMaxTypeArity = 1u << 16;
inline constexpr uint32_t kMaxLocals = 1u << 20;
inline constexpr uint32_t kMaxStackDepth = 1u << 20;
inline constexpr uint32_t kMaxCtrlDepth = 1u << 20;

bool is_value_type(uint8_t t);
bool is_ref_type(uint8_t t);

// Parses the module header and body table. Returns false with *error on malformed input.
bool read_program(const uint8_t* data, size_t size, ProgramInfo* out, std::string* error);

// The per-function header in front of the code (docs/bytecode.md "Function body").
struct BodyHeader {
  std::vector<uint8_t> local_types;  // params first, then declared locals
  uint32_t n_params = 0;
  uint32_t max_stack = 0;
  uint32_t max_ctrl = 0;
  uint32_t frame_cost = 0;
  const uint8_t* code = nullptr;
  uint32_t code_size = 0;
};
bool read_body_header(const ProgramInfo& info, const FunctionBody& body, BodyHeader* out,
                      std::string* error);

}  // namespace nvm::jit
