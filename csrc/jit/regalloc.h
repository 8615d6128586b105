// regalloc.h — a tiny register allocator (Winch's regalloc.rs shape, docs/design.md "JIT structure").
//
// Free bitsets per class (bit i = register index i of the class, masm.h register ids). When a class is exhausted, the caller-provided `spill` callback must
// free at least one register of that class (codegen spills a value-stack entry). No asmjit
// include: this class is testable alone.
#pragma once

#include <cstdint>

#include "jit/masm.h"

namespace nvm::jit {

class RegAlloc {
 public:
  RegAlloc(uint32_t gp_allocatable, uint32_t fp_allocatable)
      : allocatable_{gp_allocatable, fp_allocatable}, free_{gp_allocatable, fp_allocatable} {}

  bool is_allocatable(Reg r) const { return (allocatable_[cls(r)] >> bit(r)) & 1; }
  bool is_free(Reg r) const { return (free_[cls(r)] >> bit(r)) & 1; }
  uint32_t free_mask(RegClass c) const { return free_[int(c)]; }
  uint32_t used_mask(RegClass c) const { return allocatable_[int(c)] & ~free_[int(c)]; }

  // Any free register of `c`; calls spill(c) while none is free.
  template <class SpillFn>
  Reg alloc(RegClass c, SpillFn&& spill) {
    while (free_[int(c)] == 0) spill(c);
    uint32_t b = uint32_t(__builtin_ctz(free_[int(c)]));
    free_[int(c)] &= ~(1u << b);
    ++allocations_;
    return reg_of(c, b);
  }
  // Takes exactly `r` (a fixed register): if a value holds it, evict(r) must free it.
  template <class EvictFn>
  void reserve_fixed(Reg r, EvictFn&& evict) {
    if (!is_free(r)) evict(r);
    free_[cls(r)] &= ~(1u << bit(r));
  }
  void free(Reg r) {
    if (r != kNoReg && is_allocatable(r)) free_[cls(r)] |= 1u << bit(r);
  }
  uint64_t allocations() const { return allocations_; }

 private:
  static int cls(Reg r) { return int(reg_class(r)); }
  static unsigned bit(Reg r) { return reg_index(r); }
  uint32_t allocatable_[2];
  uint32_t free_[2];
  uint64_t allocations_ = 0;
};

}  // namespace nvm::jit
