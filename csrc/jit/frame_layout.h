// frame_layout.h — where locals, operand slots and call areas live in a function's frame.
//
//   [fp + 16 + 8*i]  parameter i / result i (the caller's argument area, docs/runtime-abi.md)
//   [fp + 8]         return address          [fp + 0]  saved frame pointer
//   [fp - 8]         saved vmctx
//   [fp - 16]        stack budget left after this frame (kBudgetSlot; every frame and the entry
//                    trampoline's have it: a callee reads its caller's at [[fp] - 16])
//   [fp - 24 - 8*k]  declared local k
//   below            operand slot i (fixed at push), then the if-parameter save area
//   [sp + 8*i]       outgoing argument area (sized by the largest call, patched at the end)
#pragma once

#include <cstdint>

namespace nvm::jit {

class FrameLayout {
 public:
  FrameLayout(uint32_t n_params, uint32_t n_locals, uint32_t max_stack)
      : n_params_(n_params), n_decl_(n_locals - n_params), max_stack_(max_stack) {}

  static constexpr int32_t kVmctxSlot = -8;
  static constexpr int32_t kBudgetSlot = -16;
  static constexpr uint32_t kFixedSlots = 2;  // vmctx, budget
  int32_t local_offset(uint32_t i) const {
    return i < n_params_ ? int32_t(16 + 8 * i) : -int32_t(8 * (kFixedSlots + 1 + (i - n_params_)));
  }
  // The lowest declared local's address (the prologue zeroes [this, this + 8 * n_decl)).
  int32_t declared_locals_base() const { return -int32_t(8 * (kFixedSlots + n_decl_)); }
  int32_t result_offset(uint32_t j) const { return int32_t(16 + 8 * j); }
  int32_t operand_slot(uint32_t i) const { return -int32_t(8 * (kFixedSlots + 1 + n_decl_ + i)); }
  int32_t save_slot(uint32_t j) const { return -int32_t(8 * (kFixedSlots + 1 + n_decl_ + max_stack_ + j)); }
  uint32_t n_declared_locals() const { return n_decl_; }

  void need_save_slots(uint32_t n) { if (n > save_max_) save_max_ = n; }
  void need_outgoing_slots(uint32_t n) { if (n > out_max_) out_max_ = n; }
  // Bytes below the saved frame pointer; keeps sp 16-byte aligned at calls.
  uint64_t frame_size() const {
    uint64_t slots = kFixedSlots + uint64_t(n_decl_) + max_stack_ + save_max_ + out_max_;
    return (slots * 8 + 15) & ~uint64_t(15);
  }

 private:
  uint32_t n_params_, n_decl_, max_stack_;
  uint32_t save_max_ = 0, out_max_ = 0;
};

}  // namespace nvm::jit
