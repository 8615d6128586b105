// Unit tests for the ISA-neutral allocator pieces below the spec suite: RegAlloc, ValueStack and
// FrameLayout. These headers must not include asmjit (docs/design.md "JIT structure": testable alone), so this file
// is compiled by tests/jit/test_jit_units.py with nothing but `g++ -std=c++17 -Icsrc -Itests/cpp`.
// Also pins the x64 register data (regs_x64.h) the allocator is configured with.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "jit/frame_layout.h"
#include "jit/regalloc.h"
#include "jit/value_stack.h"
#include "jit/x64/regs_x64.h"
#include "unit_check.h"

using namespace nvm::jit;

namespace {
using R = x64::RegsX64;
constexpr uint8_t kI32 = 0x7F, kI64 = 0x7E, kF32 = 0x7D, kF64 = 0x7C;

int popcount(uint32_t m) { return __builtin_popcount(m); }

void test_alloc_hands_out_each_register_once() {
  RegAlloc ra(R::kGpAllocatable, R::kFpAllocatable);
  std::set<Reg> seen;
  int spills = 0;
  auto no_spill = [&](RegClass) { ++spills; };
  for (int i = 0; i < popcount(R::kGpAllocatable); ++i) {
    Reg r = ra.alloc(RegClass::Gp, no_spill);
    CHECK(reg_class(r) == RegClass::Gp);
    CHECK(ra.is_allocatable(r));
    CHECK(!ra.is_free(r));
    CHECK(seen.insert(r).second);
  }
  CHECK(spills == 0);
  CHECK(ra.free_mask(RegClass::Gp) == 0);
  // Never the pinned / scratch / stack registers.
  for (Reg r : {R::kVmctx, R::kFramePointer, R::kStackPointer, R::kScratch, R::kScratch2})
    CHECK(seen.count(r) == 0);
  for (int i = 0; i < popcount(R::kFpAllocatable); ++i) {
    Reg r = ra.alloc(RegClass::Fp, no_spill);
    CHECK(reg_class(r) == RegClass::Fp);
    CHECK(r != R::kFpScratch && r != R::kFpScratch2);
    CHECK(seen.insert(r).second);
  }
  CHECK(spills == 0);
  CHECK(ra.allocations() == uint64_t(popcount(R::kGpAllocatable) + popcount(R::kFpAllocatable)));
}

void test_alloc_spills_through_callback_until_free() {
  RegAlloc ra(R::kGpAllocatable, R::kFpAllocatable);
  std::vector<Reg> held;
  while (ra.free_mask(RegClass::Gp)) held.push_back(ra.alloc(RegClass::Gp, [](RegClass) { std::abort(); }));
  // Exhausted: the callback is asked (for the right class) until it frees something.
  int calls = 0;
  RegClass asked = RegClass::Fp;
  Reg victim = held[3];
  Reg got = ra.alloc(RegClass::Gp, [&](RegClass c) {
    asked = c;
    if (++calls == 2) ra.free(victim);  // a callback that needs two rounds
  });
  CHECK(calls == 2);
  CHECK(asked == RegClass::Gp);
  CHECK(got == victim);
  // The other class is unaffected by GP exhaustion.
  bool fp_spilled = false;
  Reg f = ra.alloc(RegClass::Fp, [&](RegClass) { fp_spilled = true; });
  CHECK(!fp_spilled && reg_class(f) == RegClass::Fp);
}

void test_reserve_fixed_div_and_shift_registers() {
  RegAlloc ra(R::kGpAllocatable, R::kFpAllocatable);
  CHECK(ra.is_allocatable(R::kDivDividend) && ra.is_allocatable(R::kDivRemainder));
  CHECK(ra.is_allocatable(R::kShiftCount));
  // Free fixed register: taken without evicting anything.
  bool evicted = false;
  ra.reserve_fixed(R::kShiftCount, [&](Reg) { evicted = true; });
  CHECK(!evicted && !ra.is_free(R::kShiftCount));
  ra.free(R::kShiftCount);
  CHECK(ra.is_free(R::kShiftCount));
  // Held fixed register: evict is asked for exactly that register; afterwards it is ours.
  Reg first = ra.alloc(RegClass::Gp, [](RegClass) { std::abort(); });
  CHECK(first == R::kDivDividend);  // lowest free bit: rax
  Reg evicted_reg = kNoReg;
  ra.reserve_fixed(R::kDivDividend, [&](Reg r) { evicted_reg = r; ra.free(r); });
  CHECK(evicted_reg == R::kDivDividend);
  CHECK(!ra.is_free(R::kDivDividend));
  ra.reserve_fixed(R::kDivRemainder, [&](Reg) { std::abort(); });
  // A later alloc never returns a reserved register.
  for (int i = 0; i < 4; ++i) {
    Reg r = ra.alloc(RegClass::Gp, [](RegClass) { std::abort(); });
    CHECK(r != R::kDivDividend && r != R::kDivRemainder);
  }
  // Freeing a non-allocatable register (scratch, pinned) is a no-op.
  uint32_t before = ra.free_mask(RegClass::Gp);
  ra.free(R::kScratch);
  ra.free(R::kVmctx);
  ra.free(kNoReg);
  CHECK(ra.free_mask(RegClass::Gp) == before);
}

void test_value_stack_local_refs_and_relocate() {
  ValueStack vs(3);
  Val a{kI32, Loc::Local}; a.local = 1;
  Val b{kI64, Loc::Const}; b.bits = 42;
  Val c{kI32, Loc::Local}; c.local = 1;
  vs.push(a); vs.push(b); vs.push(c);
  CHECK(vs.size() == 3);
  CHECK(vs.has_local_refs(1) && !vs.has_local_refs(0) && !vs.has_local_refs(2));
  vs.relocate(0, Loc::Spilled, kNoReg);  // materialised: no longer a lazy read
  CHECK(vs.has_local_refs(1));
  vs.relocate(2, Loc::Reg, x64::rbx);
  CHECK(!vs.has_local_refs(1));
  CHECK(vs.at(2).loc == Loc::Reg && vs.at(2).reg == x64::rbx);
  CHECK(vs.top().loc == Loc::Reg && vs.top(1).bits == 42);
  Val p = vs.pop();
  CHECK(p.reg == x64::rbx && vs.size() == 2);
  // A popped lazy read drops its reference.
  Val d{kF64, Loc::Local}; d.local = 2;
  vs.push(d);
  CHECK(vs.has_local_refs(2));
  vs.truncate(1);
  CHECK(!vs.has_local_refs(2) && vs.size() == 1);
}

void test_value_stack_watermarks_clamp_on_pop() {
  ValueStack vs(1);
  for (int i = 0; i < 5; ++i) vs.push(Val{kI32, Loc::Spilled});
  vs.all_spilled_below = 5;
  vs.locals_clean_below = 5;
  vs.pop();
  vs.pop();
  CHECK(vs.all_spilled_below == 3 && vs.locals_clean_below == 3);
  vs.truncate(0);
  CHECK(vs.all_spilled_below == 0 && vs.locals_clean_below == 0);
}

void test_frame_layout_slots_fixed_at_push() {
  // 2 params, 3 declared locals, max_stack 4.
  FrameLayout f(2, 5, 4);
  CHECK(f.n_declared_locals() == 3);
  CHECK(f.local_offset(0) == 16 && f.local_offset(1) == 24);         // caller's argument area
  CHECK(f.result_offset(0) == 16 && f.result_offset(1) == 24);       // results alias params
  CHECK(f.local_offset(2) == -24 && f.local_offset(4) == -40);       // below vmctx and budget
  CHECK(FrameLayout::kVmctxSlot == -8 && FrameLayout::kBudgetSlot == -16);
  CHECK(f.declared_locals_base() == f.local_offset(4));                // zero-fill start
  // Operand slot i depends only on i: distinct, 8-byte spaced, below every local, above saves.
  std::set<int32_t> used{FrameLayout::kVmctxSlot, FrameLayout::kBudgetSlot, f.local_offset(2), f.local_offset(3),
                         f.local_offset(4)};
  for (uint32_t i = 0; i < 4; ++i) {
    CHECK(f.operand_slot(i) < f.local_offset(4));
    CHECK(f.operand_slot(i) % 8 == 0);
    CHECK(used.insert(f.operand_slot(i)).second);
    if (i) CHECK(f.operand_slot(i) == f.operand_slot(i - 1) - 8);
  }
  f.need_save_slots(2);
  CHECK(f.save_slot(0) == f.operand_slot(3) - 8);
  CHECK(used.insert(f.save_slot(1)).second);
  // frame_size covers vmctx + budget + locals + operands + saves + outgoing, 16-byte aligned.
  f.need_outgoing_slots(3);
  f.need_outgoing_slots(1);  // the maximum wins
  uint64_t fs = f.frame_size();
  CHECK(fs % 16 == 0);
  CHECK(fs >= 8 * (2 + 3 + 4 + 2 + 3));
  CHECK(uint64_t(-f.save_slot(1)) <= fs - 8 * 3);  // outgoing area [sp, sp+24) not overlapped
}
}  // namespace

int main() {
  test_alloc_hands_out_each_register_once();
  test_alloc_spills_through_callback_until_free();
  test_reserve_fixed_div_and_shift_registers();
  test_value_stack_local_refs_and_relocate();
  test_value_stack_watermarks_clamp_on_pop();
  test_frame_layout_slots_fixed_at_push();
  return unit_check_result();
}
