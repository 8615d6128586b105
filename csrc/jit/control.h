// control.h — control frames of the single pass (block / loop / if / function).
#pragma once

#include <cstdint>

namespace nvm::jit {

enum class FrameKind : uint8_t { Function, Block, Loop, If };

template <class Label>
struct ControlFrame {
  FrameKind kind;
  uint32_t type_index;
  uint32_t n_params, n_results;
  uint32_t base;          // operand-stack height below the params
  Label branch_target;    // end label (block/if/function) or loop header
  Label end_label;
  Label else_label;       // if only
  bool else_seen = false;
  // Some jump targets the end label, so code after END is live even when the fallthrough into
  // END is dead: a branch to this frame, or an if's then-arm jumping over the else arm.
  bool end_targeted = false;
  uint32_t save_base = 0; // if: first if-parameter save slot
};

}  // namespace nvm::jit
