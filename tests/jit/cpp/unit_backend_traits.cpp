// Unit tests of the backend contract's data (jit/masm.h, <isa>/traits_<isa>.h): both ISAs'
// register files through the ISA-neutral allocator (aarch64 has 32 + 32 registers, so register
// indices above 15 and FP ids above kFpRegBase + 15 must work), and the aarch64 immediate and
// address predicates against encodings checked by hand. No asmjit: `g++ -std=c++17 -Icsrc -Itests/cpp`.
#include <cstdio>
#include <set>

#include "jit/a64/traits_a64.h"
#include "jit/regalloc.h"
#include "jit/x64/traits_x64.h"
#include "unit_check.h"

using namespace nvm::jit;

namespace {

template <class T>
void test_register_file_through_the_allocator() {
  RegAlloc ra(T::kGpAllocatable, T::kFpAllocatable);
  std::set<Reg> seen;
  auto none = [](RegClass) { CHECK(false); };
  for (int i = 0; i < __builtin_popcount(T::kGpAllocatable); ++i) {
    Reg r = ra.alloc(RegClass::Gp, none);
    CHECK(reg_class(r) == RegClass::Gp && reg_index(r) < T::kNumGpRegs && seen.insert(r).second);
  }
  for (int i = 0; i < __builtin_popcount(T::kFpAllocatable); ++i) {
    Reg r = ra.alloc(RegClass::Fp, none);
    CHECK(reg_class(r) == RegClass::Fp && reg_index(r) < T::kNumFpRegs && seen.insert(r).second);
    CHECK(r == reg_of(RegClass::Fp, reg_index(r)));
  }
  // (x64 allocates its memory-base register in memory-less modules: codegen removes it otherwise.)
  for (Reg r : {T::kVmctx, T::kFramePointer, T::kStackPointer, T::kScratch, T::kScratch2,
                T::kFpScratch, T::kFpScratch2})
    CHECK(seen.count(r) == 0);
  for (uint32_t k = 0; k < T::kNumLocalHomes; ++k) CHECK(seen.count(T::kLocalHomes[k]) == 0);
  for (uint32_t k = 0; k < T::kNumFpLocalHomes; ++k) CHECK(seen.count(T::kFpLocalHomes[k]) == 0);
  // Freed registers come back (including FP indices above 15 on aarch64).
  for (Reg r : seen) ra.free(r);
  CHECK(ra.free_mask(RegClass::Gp) == T::kGpAllocatable && ra.free_mask(RegClass::Fp) == T::kFpAllocatable);
}

void test_a64_immediates() {
  using T = a64::TraitsA64;
  CHECK(T::alu_imm_ok(IntOp::Add, W::k32, 4095) && T::alu_imm_ok(IntOp::Add, W::k32, 0xFFF000));
  CHECK(!T::alu_imm_ok(IntOp::Add, W::k32, 4097));
  CHECK(T::alu_imm_ok(IntOp::Add, W::k32, 0xFFFFFFFFu));           // x + (-1): sub #1
  CHECK(T::alu_imm_ok(IntOp::Sub, W::k64, uint64_t(-4095)));       // x - (-4095): add #4095
  CHECK(!T::alu_imm_ok(IntOp::Mul, W::k32, 2));
  CHECK(T::alu_imm_ok(IntOp::And, W::k32, 0xFF) && T::alu_imm_ok(IntOp::Xor, W::k32, 0x80000000u));
  CHECK(!T::alu_imm_ok(IntOp::And, W::k32, 0) && !T::alu_imm_ok(IntOp::Or, W::k32, 0xFFFFFFFFu));
  CHECK(!T::alu_imm_ok(IntOp::Or, W::k64, 0x100000000ull));        // not an int32 for the masm
  CHECK(T::cmp_imm_ok(W::k32, 1000) && T::cmp_imm_ok(W::k64, uint64_t(-1)) && !T::cmp_imm_ok(W::k32, 70000));
  CHECK(T::store_imm_ok(StoreKind::B8, 0x100) && !T::store_imm_ok(StoreKind::B8, 1));
  CHECK(T::store_imm_ok(StoreKind::B64, 0) && !T::store_imm_ok(StoreKind::F32, 0x3F800000));
}

void test_a64_addresses() {
  using T = a64::TraitsA64;
  const Reg b = T::kMemBase, i = T::kScratch2;
  CHECK(T::address_ok(Address{b, kNoReg, 32760}, 8) && !T::address_ok(Address{b, kNoReg, 32768}, 8));
  CHECK(T::address_ok(Address{b, kNoReg, -256}, 8) && !T::address_ok(Address{b, kNoReg, -264}, 8));
  CHECK(T::address_ok(Address{b, kNoReg, 255}, 4) && !T::address_ok(Address{b, kNoReg, 257}, 4));
  CHECK(T::address_ok(Address{b, i, 0}, 1) && !T::address_ok(Address{b, i, 8}, 8));
  CHECK(T::address_ok(Address{b, i, 0, 3}, 8) && !T::address_ok(Address{b, i, 0, 3}, 4));
  // x64 encodes them all.
  CHECK(x64::TraitsX64::address_ok(Address{b, i, 0x7FFFFFFF, 3}, 8));
}

void test_a64_frame_patch() {
  // movz x16, #0; movk x16, #0, lsl #16 (the prologue's patchable pair) gets both halves.
  uint8_t code[8] = {0x10, 0x00, 0x80, 0xD2, 0x10, 0x00, 0xA0, 0xF2};
  a64::TraitsA64::patch_frame_size(code, 0, 0x12345670);
  uint32_t lo = uint32_t(code[0]) | uint32_t(code[1]) << 8 | uint32_t(code[2]) << 16 | uint32_t(code[3]) << 24;
  uint32_t hi = uint32_t(code[4]) | uint32_t(code[5]) << 8 | uint32_t(code[6]) << 16 | uint32_t(code[7]) << 24;
  CHECK(lo == (0xD2800010u | (0x5670u << 5)) && hi == (0xF2A00010u | (0x1234u << 5)));
}

void test_entry_prefix() {
  auto p = entry_prefix<a64::TraitsA64>(7);
  CHECK(p.size() == 16 && p[0] == 0 && p[12] == 7 && p[13] == 0);
  auto q = entry_prefix<x64::TraitsX64>(258);
  CHECK(q[0] == 0xCC && q[11] == 0xCC && q[12] == 2 && q[13] == 1);
}

}  // namespace

int main() {
  test_register_file_through_the_allocator<x64::TraitsX64>();
  test_register_file_through_the_allocator<a64::TraitsA64>();
  test_a64_immediates();
  test_a64_addresses();
  test_a64_frame_patch();
  test_entry_prefix();
  return unit_check_result();
}
