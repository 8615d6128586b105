// masm.h — the macro-assembler contract between ISA-neutral codegen and an ISA backend.
//
// Three-operand form (Winch's rule, docs/design.md "JIT structure"): `op(dst, lhs, rhs)`; a two-operand ISA
// (x64) does its own `dst == lhs` shuffling. A backend may clobber only `dst` and the registers
// of its declared scratch set (x64/regs_x64.h). Fixed registers (x64 div: rax/rdx, shifts: rcx)
// are declared as data in the regs header and reserved by codegen through the allocator
// *before* calling the masm; the masm receives registers only, never the allocator.
#pragma once

#include <cstdint>

namespace nvm::jit {

// Register ids: 0..15 general purpose, 16..31 floating point (class = id >= 16).
using Reg = uint8_t;
inline constexpr Reg kNoReg = 0xFF;
enum class RegClass : uint8_t { Gp = 0, Fp = 1 };
inline RegClass reg_class(Reg r) { return r >= 16 ? RegClass::Fp : RegClass::Gp; }

enum class W : uint8_t { k32, k64 };  // integer operand width
enum class FW : uint8_t { kF32, kF64 };  // float operand width

// A frame-relative or register-relative memory operand: [base + index + disp].
struct Address {
  Reg base;
  Reg index = kNoReg;  // 64-bit index register (a zero-extended wasm address or table index)
  int32_t disp = 0;
  uint8_t shift = 0;   // index scale as a shift count (0..3)
};

enum class IntOp : uint8_t { Add, Sub, Mul, And, Or, Xor };
enum class ShiftOp : uint8_t { Shl, ShrS, ShrU, Rotl, Rotr };
enum class DivOp : uint8_t { DivS, DivU, RemS, RemU };
enum class Cond : uint8_t { Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU };
// The condition that holds exactly when `c` does not (integer compares have no unordered case).
inline Cond negate(Cond c) {
  switch (c) {
    case Cond::Eq: return Cond::Ne;
    case Cond::Ne: return Cond::Eq;
    case Cond::LtS: return Cond::GeS;
    case Cond::LtU: return Cond::GeU;
    case Cond::GtS: return Cond::LeS;
    case Cond::GtU: return Cond::LeU;
    case Cond::LeS: return Cond::GtS;
    case Cond::LeU: return Cond::GtU;
    case Cond::GeS: return Cond::LtS;
    case Cond::GeU: return Cond::LtU;
  }
  return Cond::Eq;
}
enum class FpOp : uint8_t { Add, Sub, Mul, Div, Min, Max, Copysign };
enum class FpUnOp : uint8_t { Abs, Neg, Sqrt, Ceil, Floor, Trunc, Nearest };
enum class FpCond : uint8_t { Eq, Ne, Lt, Gt, Le, Ge };
enum class LoadKind : uint8_t {
  I32, I64, F32, F64, I32_8S, I32_8U, I32_16S, I32_16U,
  I64_8S, I64_8U, I64_16S, I64_16U, I64_32S, I64_32U
};
enum class StoreKind : uint8_t { B8, B16, B32, B64, F32, F64 };
// Float -> int truncations: trapping (Trap) or saturating (Sat), signed/unsigned.
struct TruncKind { FW from; W to; bool is_signed; bool saturating; };

}  // namespace nvm::jit
