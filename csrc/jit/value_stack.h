// value_stack.h — where every operand-stack value lives (Liftoff VarState / Winch Val).
//
// Location ∈ {Const, Reg, Local (lazy local.get), Spilled}. Entry i's spill slot is fixed when
// it is pushed (FrameLayout::operand_slot(i)), so spilling is one store and merges compare
// nothing. Each entry carries everything about the value (no parallel stacks, docs/design.md "JIT structure").
#pragma once

#include <cstdint>
#include <vector>

#include "jit/masm.h"

namespace nvm::jit {

enum class Loc : uint8_t { Const, Reg, Local, Spilled };

struct Val {
  uint8_t type;     // wasm value type code
  Loc loc;
  Reg reg = kNoReg;
  uint32_t local = 0;
  uint64_t bits = 0;  // constant bit pattern
  // A float arithmetic result (in a register) whose NaN canonicalisation is still owed: codegen
  // settles it where its bits become observable (codegen_impl.h "NaN canonicalisation").
  bool nan_pending = false;
};

inline bool is_float_type(uint8_t t) { return t == 0x7D || t == 0x7C; }
inline RegClass class_of(uint8_t t) { return is_float_type(t) ? RegClass::Fp : RegClass::Gp; }

// Two amortised watermarks keep every scan linear in total (potential argument: a scan costs
// what pushes since the last scan paid for):
//  - all_spilled_below: entries [0, n) are Spilled (Spilled entries change only by popping);
//  - locals_clean_below: entries [0, n) hold no Local reference.
class ValueStack {
 public:
  explicit ValueStack(uint32_t n_locals) : local_refs_(n_locals, 0) { }
  void reserve(uint32_t n) { vals_.reserve(n); }

  uint32_t size() const { return uint32_t(vals_.size()); }
  Val& at(uint32_t i) { return vals_[i]; }
  Val& top(uint32_t depth = 0) { return vals_[vals_.size() - 1 - depth]; }

  void push(const Val& v) {
    if (v.loc == Loc::Local) ++local_refs_[v.local];
    vals_.push_back(v);
  }
  Val pop() {
    Val v = vals_.back();
    vals_.pop_back();
    if (v.loc == Loc::Local) --local_refs_[v.local];
    clamp();
    return v;
  }
  void truncate(uint32_t n) {
    while (size() > n) pop();
  }
  // Changes an entry's location in place (only to Spilled/Reg), keeping the counters right.
  void relocate(uint32_t i, Loc loc, Reg reg) {
    Val& v = vals_[i];
    if (v.loc == Loc::Local) --local_refs_[v.local];
    v.loc = loc;
    v.reg = reg;
    v.nan_pending = false;  // callers settle before moving a value out of its register
  }
  bool has_local_refs(uint32_t local) const { return local_refs_[local] != 0; }

  uint32_t all_spilled_below = 0;
  uint32_t locals_clean_below = 0;

 private:
  void clamp() {
    if (all_spilled_below > size()) all_spilled_below = size();
    if (locals_clean_below > size()) locals_clean_below = size();
  }
  std::vector<Val> vals_;
  std::vector<uint32_t> local_refs_;
};

}  // namespace nvm::jit
