// codegen_impl.h — the definition of compile_function<Masm> (codegen.h), included by each
// backend's codegen_<isa>.cpp, which instantiates it for its masm: the ISA is a template
// parameter, so the contract (masm.h) costs no indirection. Nothing in here names an ISA.
// Spec references are to the WebAssembly 2.0 core spec.
#pragma once

#include "jit/codegen.h"

#include <map>
#include <unordered_map>

#include "bytecode/nvm_opcodes.h"
#include "include/nearvm.h"
#include "jit/control.h"
#include "jit/frame_layout.h"
#include "jit/regalloc.h"
#include "jit/value_stack.h"
#include "runtime/vmctx.h"

namespace nvm::jit {

namespace codegen_detail {

inline W width_of(uint8_t t) { return t == NVM_TYPE_I32 ? W::k32 : W::k64; }
inline FW fwidth_of(uint8_t t) { return t == NVM_TYPE_F32 ? FW::kF32 : FW::kF64; }
inline LoadKind load_kind_of(uint8_t t) {
  switch (t) {
    case NVM_TYPE_I32: return LoadKind::I32;
    case NVM_TYPE_F32: return LoadKind::F32;
    case NVM_TYPE_F64: return LoadKind::F64;
    default: return LoadKind::I64;
  }
}
inline StoreKind store_kind_of(uint8_t t) {
  switch (t) {
    case NVM_TYPE_I32: return StoreKind::B32;
    case NVM_TYPE_F32: return StoreKind::F32;
    case NVM_TYPE_F64: return StoreKind::F64;
    default: return StoreKind::B64;
  }
}

// Static use counts of each local in a body, weighted by loop depth (8x per enclosing loop,
// capped), for choosing local homes; whether the body calls a runtime helper (memory.grow,
// bulk memory, table.grow/fill/init/copy, drops); and whether it calls functions (call,
// call_indirect). One linear pass over the code; returns false on anything it cannot parse (the
// main pass then reports the error).
inline bool scan_body(const uint8_t* code, uint32_t size, std::vector<uint64_t>* uses, bool* calls_helpers,
                      bool* calls_functions) {
  ByteCursor c(code, code + size);
  std::vector<uint8_t> loops;  // per open frame: 1 if it is a loop
  uint32_t loop_depth = 0;
  while (!c.at_end() && c.ok()) {
    uint8_t op = c.u8();
    switch (op) {
      case NVM_OP_BLOCK: case NVM_OP_IF: c.u32(); loops.push_back(0); break;
      case NVM_OP_LOOP: c.u32(); loops.push_back(1); ++loop_depth; break;
      case NVM_OP_END:
        if (!loops.empty()) { loop_depth -= loops.back(); loops.pop_back(); }
        break;
      case NVM_OP_BR: case NVM_OP_BR_IF: c.u32(); c.u32(); c.u32(); break;
      case NVM_OP_BR_TABLE: {
        uint32_t n = c.u32();
        c.u32();
        if (n > c.remaining() / 8 || !c.bytes(size_t(n + 1) * 8)) return false;
        break;
      }
      case NVM_OP_SELECT_T: c.uleb32(); c.u8(); break;
      case NVM_OP_CALL: *calls_functions = true; c.uleb32(); break;
      case NVM_OP_GLOBAL_GET: case NVM_OP_GLOBAL_SET:
      case NVM_OP_TABLE_GET: case NVM_OP_TABLE_SET: case NVM_OP_REF_FUNC:
        c.uleb32();
        break;
      case NVM_OP_CALL_INDIRECT: *calls_functions = true; c.uleb32(); c.uleb32(); break;
      case NVM_OP_LOCAL_GET: case NVM_OP_LOCAL_SET: case NVM_OP_LOCAL_TEE: {
        uint32_t l = c.uleb32();
        if (l >= uses->size()) return false;
        (*uses)[l] += uint64_t(1) << (3 * std::min<uint32_t>(loop_depth, 6));
        break;
      }
      case NVM_OP_MEMORY_GROW: *calls_helpers = true; c.u8(); break;
      case NVM_OP_MEMORY_SIZE: case NVM_OP_REF_NULL: c.u8(); break;
      case NVM_OP_I32_CONST: c.sleb32(); break;
      case NVM_OP_I64_CONST: c.sleb64(); break;
      case NVM_OP_F32_CONST: c.u32(); break;
      case NVM_OP_F64_CONST: c.u64(); break;
      case NVM_OP_STACK: c.u32(); break;
      case NVM_OP_GAS: c.u64(); break;
      case NVM_PREFIX_FC: {
        uint32_t sub = c.uleb32();
        if (sub <= 7) break;
        if (sub != NVM_FC_TABLE_SIZE) *calls_helpers = true;
        switch (sub) {
          case NVM_FC_MEMORY_INIT: c.uleb32(); c.u8(); break;
          case NVM_FC_MEMORY_COPY: c.u8(); c.u8(); break;
          case NVM_FC_MEMORY_FILL: c.u8(); break;
          case NVM_FC_TABLE_INIT: case NVM_FC_TABLE_COPY: c.uleb32(); c.uleb32(); break;
          case NVM_FC_DATA_DROP: case NVM_FC_ELEM_DROP: case NVM_FC_TABLE_GROW:
          case NVM_FC_TABLE_SIZE: case NVM_FC_TABLE_FILL:
            c.uleb32();
            break;
          default: return false;
        }
        break;
      }
      default:
        if (op >= NVM_OP_I32_LOAD && op <= NVM_OP_I64_STORE32) { c.uleb32(); c.uleb32(); break; }
        // No immediates: unreachable, nop, else, return, drop, select, numeric, ref.is_null.
        if (op <= NVM_OP_NOP || op == NVM_OP_ELSE || op == NVM_OP_RETURN || op == NVM_OP_DROP ||
            op == NVM_OP_SELECT || (op >= NVM_OP_I32_EQZ && op <= NVM_OP_I64_EXTEND32_S) ||
            op == NVM_OP_REF_IS_NULL)
          break;
        return false;
    }
  }
  return c.ok();
}

template <class Masm>
class CodeGen {
  using Label = typename Masm::Label;
  using Arch = typename Masm::Traits;  // the ISA's answers (masm.h check_backend_traits)
  using Frame = ControlFrame<Label>;

 public:
  CodeGen(Masm& masm, const FunctionContext& ctx, const std::vector<Label>& func_labels)
      : masm_(masm), ctx_(ctx), info_(*ctx.info), hdr_(*ctx.header), func_labels_(func_labels),
        regs_(ctx.info->n_memories ? Arch::kGpAllocatable & ~(1u << Arch::kMemBase) : Arch::kGpAllocatable,
              Arch::kFpAllocatable),
        stack_(uint32_t(hdr_.local_types.size())),
        frame_(hdr_.n_params, uint32_t(hdr_.local_types.size()), hdr_.max_stack),
        cursor_(hdr_.code, hdr_.code + hdr_.code_size) {
    for (auto& o : owner_) o = -1;
    stack_.reserve(hdr_.max_stack);
    home_of_.assign(hdr_.local_types.size(), kNoReg);
    choose_homes();
  }

  bool run(uint32_t* patch_offset, uint64_t* frame_size);

 private:
  // ---- errors -------------------------------------------------------------------------------
  bool fail(const char* what) {
    if (!failed_ && ctx_.error)
      *ctx_.error = std::string("malformed bytecode: ") + what + " in function " +
                    std::to_string(ctx_.body->func_index) + " at code offset " + std::to_string(op_offset_);
    failed_ = true;
    return false;
  }

  // ---- local homes ----------------------------------------------------------------------------
  // The most used (loop-weighted) i32/i64 locals live in Arch::kLocalHomes for the whole body,
  // the f32/f64 ones in Arch::kFpLocalHomes: no loads/stores for them and nothing to do at
  // merges. Home registers are callee-saved in the internal convention: the prologue saves the
  // caller's value (a declared local's own slot, otherwise unused, holds it; a parameter's slot is
  // the caller's argument area, so a homed parameter gets a save slot) and every return restores
  // it. A parameter needs three (loop-weighted) uses to pay for its prologue load.
  void choose_homes() {
    std::vector<uint64_t> uses(hdr_.local_types.size(), 0);
    if (!scan_body(hdr_.code, hdr_.code_size, &uses, &calls_helpers_, &calls_functions_)) {
      calls_helpers_ = false;  // no save slots: a helper call then fails compilation loudly
      calls_functions_ = true;
      return;  // the main pass reports the malformed op
    }
    const bool metered = info_.flags & NVM_BYTECODE_FLAG_GAS;
    auto pick = [&](const Reg* regs, uint32_t n, bool fp) {
      for (uint32_t k = 0; k < n; ++k) {
        if (metered && regs[k] == Arch::kGasReg) continue;  // holds the gas left
        uint32_t best = ~0u;
        for (uint32_t l = 0; l < uses.size(); ++l) {
          uint8_t t = hdr_.local_types[l];
          bool ok = fp ? is_float_type(t) : (t == NVM_TYPE_I32 || t == NVM_TYPE_I64);
          if (!ok || home_of_[l] != kNoReg || uses[l] < (l < hdr_.n_params ? 3u : 1u)) continue;
          if (best == ~0u || uses[l] > uses[best]) best = l;
        }
        if (best == ~0u) return;
        home_of_[best] = regs[k];
        homes_.push_back(best);
      }
    };
    pick(Arch::kLocalHomes, Arch::kNumLocalHomes, false);
    pick(Arch::kFpLocalHomes, Arch::kNumFpLocalHomes, true);
    // Save area: [0, P) the caller's values of homed parameters' registers, then (in bodies that
    // call runtime helpers) one slot per host-volatile home register; if-parameter saves follow.
    for (uint32_t l : homes_)
      if (l < hdr_.n_params) param_home_slot_[l] = save_top_++;
    helper_save_base_ = save_top_;
    if (calls_helpers_) save_top_ += Arch::kNumHostVolatileHomes;
    frame_.need_save_slots(save_top_);
  }
  bool fp_home(uint32_t l) const { return home_of_[l] != kNoReg && reg_class(home_of_[l]) == RegClass::Fp; }
  Address save_slot_addr(uint32_t k) const { return Address{Arch::kFramePointer, kNoReg, frame_.save_slot(k)}; }
  // Where the caller's value of a homed local's register is kept while this function runs.
  Address home_save_addr(uint32_t l) const {
    return l < hdr_.n_params ? save_slot_addr(param_home_slot_.at(l)) : local_addr(l);
  }
  // Runtime helpers are host C functions: around them, the home registers the host ABI does not
  // preserve are saved (all of them, homed here or not: a caller may keep its locals there).
  void save_host_volatile_homes() {
    for (uint32_t k = 0; k < Arch::kNumHostVolatileHomes; ++k) {
      Reg r = Arch::kHostVolatileHomes[k];
      masm_.store(reg_class(r) == RegClass::Fp ? StoreKind::F64 : StoreKind::B64, save_slot_addr(helper_save_base_ + k), r);
    }
  }
  void reload_host_volatile_homes() {
    for (uint32_t k = 0; k < Arch::kNumHostVolatileHomes; ++k) {
      Reg r = Arch::kHostVolatileHomes[k];
      masm_.load(reg_class(r) == RegClass::Fp ? LoadKind::F64 : LoadKind::I64, r, save_slot_addr(helper_save_base_ + k));
    }
  }
  Reg home(uint32_t l) const { return home_of_[l]; }
  // Prologue: saves the caller's home registers, then loads homed parameters from the argument
  // area and zeroes homed declared locals (spec §4.4.10: declared locals start at zero).
  void save_homes_and_init() {
    for (uint32_t l : homes_) {
      masm_.store(fp_home(l) ? StoreKind::F64 : StoreKind::B64, home_save_addr(l), home(l));
      if (l < hdr_.n_params) masm_.load(load_kind_of(hdr_.local_types[l]), home(l), local_addr(l));
      else if (fp_home(l)) masm_.fconst(FW::kF64, home(l), 0);
      else masm_.mov_imm(W::k32, home(l), 0);
    }
  }
  void restore_homes() {
    for (uint32_t l : homes_) masm_.load(fp_home(l) ? LoadKind::F64 : LoadKind::I64, home(l), home_save_addr(l));
  }

  // ---- value stack + registers --------------------------------------------------------------
  Address slot(uint32_t i) const { return Address{Arch::kFramePointer, kNoReg, frame_.operand_slot(i)}; }
  Address local_addr(uint32_t l) const { return Address{Arch::kFramePointer, kNoReg, frame_.local_offset(l)}; }

  bool push(const Val& v) {
    // Dead code (after an END reached by nothing) is compiled but never runs; the frontend's
    // max_stack does not count it, so only live pushes are bounded.
    if (stack_.size() >= hdr_.max_stack && reachable_) return fail("operand stack exceeds max_stack");
    if (v.loc == Loc::Reg) owner_[v.reg] = int32_t(stack_.size());
    stack_.push(v);
    return true;
  }
  bool push_reg(uint8_t type, Reg r) { Val v{type, Loc::Reg, r}; return push(v); }
  bool push_const(uint8_t type, uint64_t bits) { Val v{type, Loc::Const}; v.bits = bits; return push(v); }
  bool push_spilled(uint8_t type) { Val v{type, Loc::Spilled}; return push(v); }

  // Pops the top value; a register it held becomes a temporary the caller must free. A pending
  // NaN canonicalisation is settled unless the consumer is NaN-agnostic (`settle_nan` false).
  bool pop(Val* v, bool settle_nan = true) {
    if (stack_.size() <= cur_base()) return fail("operand stack underflow");
    *v = stack_.pop();
    if (v->loc == Loc::Reg) owner_[v->reg] = -1;
    if (settle_nan) settle(*v);
    return true;
  }
  void discard_to(uint32_t n) {
    while (stack_.size() > n) {
      Val v = stack_.pop();
      if (v.loc == Loc::Reg) { owner_[v.reg] = -1; regs_.free(v.reg); }
    }
  }
  uint32_t cur_base() const { return ctrl_.empty() ? 0 : ctrl_.back().base; }

  // Frees a register of class `c` by spilling the lowest stack entry that holds one.
  void spill_one(RegClass c) {
    int32_t best = -1;
    uint32_t mask = regs_.used_mask(c);
    const unsigned n = c == RegClass::Fp ? Arch::kNumFpRegs : Arch::kNumGpRegs;
    for (unsigned b = 0; b < n; ++b) {
      if (!((mask >> b) & 1)) continue;
      int32_t o = owner_[reg_of(c, b)];
      if (o >= 0 && (best < 0 || o < best)) best = o;
    }
    if (best < 0) { fail("register pressure (internal)"); regs_.free(reg_of(c, 0)); return; }
    spill_entry(uint32_t(best));
  }
  Reg alloc(RegClass c) { return regs_.alloc(c, [this](RegClass k) { spill_one(k); }); }
  void reserve_fixed(Reg r) {
    regs_.reserve_fixed(r, [this](Reg held) {
      int32_t o = owner_[held];
      if (o >= 0) spill_entry(uint32_t(o));
    });
  }

  // Writes value `v` (any location) as 8 bytes (or its type's size) to `dst`.
  void store_val(Val& v, Address dst) {
    settle(v);
    switch (v.loc) {
      case Loc::Reg: masm_.store(store_kind_of(v.type), dst, v.reg); break;
      case Loc::Const: {
        uint64_t b = v.bits;
        bool wide = width_of(v.type) == W::k64 && !is_float_type(v.type) ? true : v.type == NVM_TYPE_F64;
        if (Arch::slot_imm_ok(b, wide)) {
          masm_.store_imm32(W::k64, dst, int32_t(b));
        } else {
          masm_.mov_imm(W::k64, Arch::kScratch, b);
          masm_.store(StoreKind::B64, dst, Arch::kScratch);
        }
        break;
      }
      case Loc::Local:
        if (home(v.local) != kNoReg) masm_.store(fp_home(v.local) ? StoreKind::F64 : StoreKind::B64, dst, home(v.local));
        else masm_.copy_slot(dst, local_addr(v.local));
        break;
      case Loc::Spilled: break;  // handled by callers that know the source slot
    }
  }
  void spill_entry(uint32_t i) {
    Val& v = stack_.at(i);
    if (v.loc == Loc::Spilled) return;
    store_val(v, slot(i));
    if (v.loc == Loc::Reg) { owner_[v.reg] = -1; regs_.free(v.reg); }
    stack_.relocate(i, Loc::Spilled, kNoReg);
  }
  // Control-flow merge: every value in its slot (Winch's spill-all). Linear by watermark.
  void prepare_merge() {
    for (uint32_t i = stack_.all_spilled_below; i < stack_.size(); ++i) spill_entry(i);
    stack_.all_spilled_below = stack_.size();
    if (stack_.locals_clean_below < stack_.size()) stack_.locals_clean_below = stack_.size();
  }
  // Before a call: registers are caller-saved, so register values go to their slots.
  void spill_registers() {
    for (unsigned r = 0; r < kMaxRegIds; ++r)
      if (owner_[r] >= 0) spill_entry(uint32_t(owner_[r]));
  }
  // Before local.set/tee of a local with pending lazy reads: materialise them (top-down).
  void materialize_local_refs() {
    for (uint32_t i = stack_.size(); i-- > stack_.locals_clean_below;) {
      Val& v = stack_.at(i);
      if (v.loc == Loc::Local) {
        store_val(v, slot(i));
        stack_.relocate(i, Loc::Spilled, kNoReg);
      }
    }
    stack_.locals_clean_below = stack_.size();
  }

  // NaN canonicalisation (docs/design.md "Determinism rules"), settled lazily: a float
  // arithmetic result is pushed with `nan_pending` and the ucomis/jp check is emitted only where
  // its bits can be observed — pop() by default, store_val (spills, merges, call arguments,
  // branch values, local writes), returns. NaN-agnostic consumers pop it raw: float arithmetic
  // (a NaN operand gives a NaN result, itself pending), comparisons (false/true whatever the
  // payload), truncations (trap or 0), demote/promote. So `a * b + c` is checked once.
  void settle(Val& v) {
    if (v.loc == Loc::Reg && v.nan_pending) {
      canonicalize_nan(fwidth_of(v.type), v.reg);
      v.nan_pending = false;
    }
  }
  bool push_reg_arith(uint8_t type, Reg r) {
    Val v{type, Loc::Reg, r};
    v.nan_pending = true;
    return push(v);
  }

  // Puts a popped value in a register (its own if it has one).
  Reg to_reg(const Val& v, uint32_t index) {
    if (v.loc == Loc::Reg) return v.reg;
    Reg r = alloc(class_of(v.type));
    load_into(v, index, r);
    return r;
  }
  void load_into(const Val& v, uint32_t index, Reg r) {
    switch (v.loc) {
      case Loc::Reg:
        if (is_float_type(v.type)) masm_.fmov(r, v.reg); else masm_.mov(W::k64, r, v.reg);
        break;
      case Loc::Const:
        if (is_float_type(v.type)) masm_.fconst(fwidth_of(v.type), r, v.bits);
        else masm_.mov_imm(width_of(v.type), r, v.bits);
        break;
      case Loc::Local:
        if (fp_home(v.local)) masm_.fmov(r, home(v.local));
        else if (home(v.local) != kNoReg) masm_.mov(W::k64, r, home(v.local));
        else masm_.load(load_kind_of(v.type), r, local_addr(v.local));
        break;
      case Loc::Spilled: masm_.load(load_kind_of(v.type), r, slot(index)); break;
    }
  }
  // Pops into a register; `index` of the popped value is the stack size after the pop.
  bool pop_reg(Reg* r, uint8_t* type = nullptr) {
    Val v{};
    if (!pop(&v)) return false;
    *r = to_reg(v, stack_.size());
    if (type) *type = v.type;
    return true;
  }
  bool pop_into_fixed(Reg fixed, const Val& v, uint32_t index) {
    if (v.loc == Loc::Reg && v.reg == fixed) return true;
    load_into(v, index, fixed);
    if (v.loc == Loc::Reg) regs_.free(v.reg);
    return true;
  }

  // ---- traps --------------------------------------------------------------------------------
  // A trap stub: `code` is what the trap site records; `code_in_ret` stubs (helper failures) exit
  // with the code the helper returned (in the return register), which by the RuntimeHelpers
  // contract is `code` anyway.
  struct TrapStub { Label label; uint32_t code; uint32_t bytecode_offset; bool code_in_ret; };
  Label trap(uint32_t code, bool code_in_ret = false) {
    Label l = masm_.new_label();
    trap_stubs_.push_back(TrapStub{l, code, op_offset_, code_in_ret});
    return l;
  }
  void emit_trap_stubs() {
    // Ordered: byte-for-byte reproducible code. Key: code * 2 + code_in_ret.
    std::map<uint64_t, Label> common;
    for (const TrapStub& s : trap_stubs_) {
      masm_.bind(s.label);
      ctx_.out->trap_sites.push_back(
          TrapSite{masm_.offset(), s.code, ctx_.body->func_index, s.bytecode_offset});
      masm_.label_address(Arch::kScratch2, s.label);
      uint64_t key = uint64_t(s.code) * 2 + (s.code_in_ret ? 1 : 0);
      auto it = common.find(key);
      if (it == common.end()) it = common.emplace(key, masm_.new_label()).first;
      masm_.jmp(it->second);
    }
    for (auto& [key, label] : common) {
      masm_.bind(label);
      uint32_t code = uint32_t(key >> 1);
      if (key & 1) masm_.trap_exit_with_code_in_return_reg();
      else masm_.trap_exit(code, code == NVM_TRAP_OUT_OF_GAS);
    }
  }
  // Interrupt requests (docs/design.md "Interrupts") are checked at function entry and loop headers, and
  // only in unmetered code: metered code is already bounded by its gas limit and pays nothing.
  void interrupt_check() {
    if (!(info_.flags & NVM_BYTECODE_FLAG_GAS)) masm_.interrupt_check(trap(NVM_TRAP_INTERRUPTED));
  }
  // After a call instruction: its return address -> this call op (backtraces, jit.h).
  void record_call_site() {
    ctx_.out->trap_sites.push_back(TrapSite{masm_.offset(), kCallSiteCode, ctx_.body->func_index, op_offset_});
  }
  void record_memory_site() {
    ctx_.out->trap_sites.push_back(
        TrapSite{masm_.offset(), NVM_TRAP_MEMORY_OUT_OF_BOUNDS, ctx_.body->func_index, op_offset_});
  }

  // Determinism (docs/design.md): a NaN produced by float arithmetic becomes the canonical NaN.
  // NaNs are rare, so the fix-up is out of line (emitted after the body): inline it is one
  // `ucomis r, r; jp` pair that falls through.
  struct NanFixup { Label fix, back; FW w; Reg r; };
  void canonicalize_nan(FW w, Reg r) {
    NanFixup f{masm_.new_label(), masm_.new_label(), w, r};
    masm_.branch_if_nan(w, r, f.fix);
    masm_.bind(f.back);
    nan_fixups_.push_back(f);
  }
  void emit_nan_fixups() {
    for (const NanFixup& f : nan_fixups_) {
      masm_.bind(f.fix);
      masm_.load_canonical_nan(f.w, f.r);
      masm_.jmp(f.back);
    }
  }

  // ---- ops ------------------------------------------------------------------------------------
  // `local.get x; <rhs>; op; local.set/tee x` with x homed (i++, acc += v): after popping the rhs,
  // if the lhs is a lazy read of x and the next op writes x, that op is consumed and the caller
  // computes into x's home directly. Other pending reads of x are materialised first.
  bool take_home_update(uint32_t* local, bool* tee) {
    if (stack_.size() <= cur_base()) return false;
    const Val& top = stack_.top();
    if (top.loc != Loc::Local || home(top.local) == kNoReg) return false;
    ByteCursor peek = cursor_;
    uint8_t next = peek.u8();
    if ((next != NVM_OP_LOCAL_SET && next != NVM_OP_LOCAL_TEE) || peek.uleb32() != top.local || !peek.ok())
      return false;
    cursor_ = peek;
    ++ctx_.out->ops_visited;
    Val lv;
    pop(&lv);
    if (stack_.has_local_refs(lv.local)) materialize_local_refs();
    *local = lv.local;
    *tee = next == NVM_OP_LOCAL_TEE;
    return true;
  }
  bool finish_home_update(uint32_t l, bool tee, uint8_t type) {
    if (!tee) return true;
    Val v{type, Loc::Local};
    v.local = l;
    return push(v);
  }
  bool op_int_binop(IntOp op, W w, uint8_t type) {
    Val rhs;
    if (!pop(&rhs)) return false;
    const bool imm_ok = rhs.loc == Loc::Const && Arch::alu_imm_ok(op, w, rhs.bits);
    uint32_t hl;
    bool tee;
    if (take_home_update(&hl, &tee)) {
      Reg h = home(hl);
      Address m;
      if (imm_ok) {
        masm_.int_op_imm(op, w, h, h, int32_t(uint32_t(rhs.bits)));
      } else if (rhs.loc == Loc::Local && home(rhs.local) != kNoReg) {
        masm_.int_op(op, w, h, h, home(rhs.local));  // may be h itself: read before the write
      } else if (Arch::kAluMemOperand && mem_operand(rhs, stack_.size() + 1, &m)) {
        masm_.int_op_mem(op, w, h, h, m);
      } else {
        // The rhs sat above the popped lhs: its index is stack size + 1 (for a Spilled rhs).
        Reg r = to_reg(rhs, stack_.size() + 1);
        masm_.int_op(op, w, h, h, r);
        regs_.free(r);
      }
      return finish_home_update(hl, tee, type);
    }
    // `op; local.set/tee y` with y an integer local homed in a register: computed straight into
    // y's home. Otherwise into the lhs's register when it is a temporary, else a fresh one; a
    // homed lhs is read in place (`lea dst, [home + imm]` rather than a copy and an add).
    bool to_home = take_home_dst(type, &hl, &tee);
    Val lv;
    if (!pop(&lv)) return false;
    uint32_t l_index = stack_.size();
    Reg dst, src;
    if (to_home) {
      dst = home(hl);
      if (lv.loc == Loc::Local && home(lv.local) != kNoReg) {
        src = home(lv.local);
      } else if (lv.loc == Loc::Reg || (rhs.loc == Loc::Local && rhs.local == hl)) {
        src = to_reg(lv, l_index);  // the rhs reads y's home: do not overwrite it first
      } else {
        load_into(lv, l_index, dst);
        src = dst;
      }
    } else if (lv.loc == Loc::Reg) {
      dst = src = lv.reg;
    } else if (lv.loc == Loc::Local && home(lv.local) != kNoReg) {
      dst = alloc(RegClass::Gp);
      src = home(lv.local);
    } else {
      dst = src = alloc(RegClass::Gp);
      load_into(lv, l_index, dst);
    }
    Address m;
    // The rhs was popped first: its index (a Spilled rhs's slot) is one above the lhs's.
    if (imm_ok) {
      masm_.int_op_imm(op, w, dst, src, int32_t(uint32_t(rhs.bits)));
    } else if (rhs.loc == Loc::Local && home(rhs.local) != kNoReg) {
      masm_.int_op(op, w, dst, src, home(rhs.local));
    } else if (Arch::kAluMemOperand && mem_operand(rhs, l_index + 1, &m)) {
      masm_.int_op_mem(op, w, dst, src, m);
    } else {
      Reg r = to_reg(rhs, l_index + 1);
      masm_.int_op(op, w, dst, src, r);
      if (r != dst) regs_.free(r);
    }
    if (src != dst) regs_.free(src);
    if (to_home) return finish_home_update(hl, tee, type);
    return push_reg(type, dst);
  }

  bool op_shift(ShiftOp op, W w, uint8_t type) {
    if (stack_.size() < cur_base() + 2) return fail("operand stack underflow");
    if (stack_.top().loc == Loc::Const) {
      Val c;
      pop(&c);
      Reg lhs;
      if (!pop_reg(&lhs)) return false;
      masm_.shift_imm(op, w, lhs, lhs, uint8_t(c.bits & 63));
      return push_reg(type, lhs);
    }
    Reg count;
    if constexpr (Arch::kShiftNeedsFixedCount) {
      count = Arch::kShiftCount;
      reserve_fixed(count);  // spills whatever stack entry holds it, operands included
      Val c;
      pop(&c);
      pop_into_fixed(count, c, stack_.size());
    } else if (!pop_reg(&count)) {
      return false;
    }
    Reg lhs;
    if (!pop_reg(&lhs)) return false;
    masm_.shift(op, w, lhs, lhs, count);
    regs_.free(count);
    return push_reg(type, lhs);
  }
  // Spec §4.3.2 idiv/irem: the masm emits the division-by-zero and INT_MIN / -1 checks
  // explicitly (x64 idiv would fault, aarch64 sdiv silently returns a value).
  bool op_div(DivOp op, W w, uint8_t type) {
    if (stack_.size() < cur_base() + 2) return fail("operand stack underflow");
    if constexpr (!Arch::kDivNeedsFixedRegs) {
      Reg rhs, lhs;
      if (!pop_reg(&rhs) || !pop_reg(&lhs)) return false;
      Label div0 = trap(NVM_TRAP_INTEGER_DIVIDE_BY_ZERO);
      Label ovf = op == DivOp::DivS ? trap(NVM_TRAP_INTEGER_OVERFLOW) : div0;
      masm_.div(op, w, lhs, lhs, rhs, div0, ovf);
      regs_.free(rhs);
      return push_reg(type, lhs);
    }
    reserve_fixed(Arch::kDivDividend);
    reserve_fixed(Arch::kDivRemainder);
    Reg rhs, lhs_fixed = Arch::kDivDividend;
    if (!pop_reg(&rhs)) return false;
    Val lv;
    pop(&lv);
    pop_into_fixed(lhs_fixed, lv, stack_.size());
    Label div0 = trap(NVM_TRAP_INTEGER_DIVIDE_BY_ZERO);
    Label ovf = op == DivOp::DivS ? trap(NVM_TRAP_INTEGER_OVERFLOW) : div0;
    bool quotient = op == DivOp::DivS || op == DivOp::DivU;
    Reg dst = quotient ? Arch::kDivDividend : Arch::kDivRemainder;
    masm_.div(op, w, dst, lhs_fixed, rhs, div0, ovf);
    regs_.free(rhs);
    regs_.free(quotient ? Arch::kDivRemainder : Arch::kDivDividend);
    return push_reg(type, dst);
  }
  // An integer compare (or eqz) directly followed by BR_IF / IF is not materialised as 0/1: its
  // operands are kept and the branch emits `cmp; jcc` (the bytecode puts no op in between, and
  // GAS comes after BR_IF/IF, docs/bytecode.md "Metered blocks").
  struct PendingCond {
    bool valid = false;
    Cond cond = Cond::Eq;
    W w = W::k32;
    Reg lhs = kNoReg;
    enum class Rhs : uint8_t { Reg, Imm, Mem } kind = Rhs::Imm;
    Reg rhs = kNoReg;
    int32_t imm = 0;
    Address mem{kNoReg};
  };
  // The next op consumes an i32 condition: br_if / if (cmp; jcc) or select (cmp; cmov).
  bool next_op_branches_on_i32() const {
    if (cursor_.remaining() == 0) return false;
    uint8_t next = *cursor_.position();
    return next == NVM_OP_BR_IF || next == NVM_OP_IF || next == NVM_OP_SELECT || next == NVM_OP_SELECT_T;
  }
  // A pending compare as a 0/1 register (a float select consumes it that way).
  Reg materialize_condition(const PendingCond& pc) {
    Reg lhs = pc.lhs;
    Reg dst = regs_.is_allocatable(lhs) ? lhs : alloc(RegClass::Gp);
    switch (pc.kind) {
      case PendingCond::Rhs::Imm: masm_.compare_imm(pc.cond, pc.w, dst, lhs, pc.imm); break;
      case PendingCond::Rhs::Mem: masm_.compare_mem(pc.cond, pc.w, dst, lhs, pc.mem); break;
      case PendingCond::Rhs::Reg: masm_.compare(pc.cond, pc.w, dst, lhs, pc.rhs); regs_.free(pc.rhs); break;
    }
    return dst;
  }
  // select (spec §4.4.4.2): cond ? a : b. After a fused integer compare: `cmp; cmov`.
  bool op_select() {
    if (pending_.valid) {
      PendingCond pc = pending_;
      pending_.valid = false;
      Reg b, a;
      uint8_t ta, tb;
      if (!pop_reg(&b, &tb) || !pop_reg(&a, &ta)) return false;
      if (ta != tb) return fail("select types");
      if (is_float_type(ta)) {
        Reg cond = materialize_condition(pc);
        masm_.fselect(a, cond, a, b);
        regs_.free(cond);
      } else {
        // Operands are in registers before the compare: nothing may touch the flags after it.
        switch (pc.kind) {
          case PendingCond::Rhs::Imm: masm_.cmp_flags_imm(pc.w, pc.lhs, pc.imm); break;
          case PendingCond::Rhs::Mem: masm_.cmp_flags_mem(pc.w, pc.lhs, pc.mem); break;
          case PendingCond::Rhs::Reg: masm_.cmp_flags(pc.w, pc.lhs, pc.rhs); break;
        }
        masm_.cmov(negate(pc.cond), width_of(ta), a, b);  // condition false: b
        release_condition(pc);
      }
      regs_.free(b);
      return push_reg(ta, a);
    }
    Reg cond, b, a;
    uint8_t ta, tb;
    if (!pop_reg(&cond) || !pop_reg(&b, &tb) || !pop_reg(&a, &ta)) return false;
    if (ta != tb) return fail("select types");
    if (is_float_type(ta)) masm_.fselect(a, cond, a, b);
    else masm_.select(width_of(ta), a, cond, a, b);
    regs_.free(cond);
    regs_.free(b);
    return push_reg(ta, a);
  }
  // A Local/Spilled value read straight from its frame slot as a memory operand.
  bool mem_operand(const Val& v, uint32_t index, Address* a) const {
    if (v.loc == Loc::Local) {
      if (home(v.local) != kNoReg) return false;
      *a = local_addr(v.local);
      return true;
    }
    if (v.loc == Loc::Spilled) { *a = slot(index); return true; }
    return false;
  }
  bool op_compare(Cond c, W w) {
    Val rhs;
    if (!pop(&rhs)) return false;
    uint32_t rhs_index = stack_.size();
    bool fuse = next_op_branches_on_i32();
    PendingCond pc;
    pc.cond = c;
    pc.w = w;
    if (rhs.loc == Loc::Const && Arch::cmp_imm_ok(w, rhs.bits)) {
      pc.kind = PendingCond::Rhs::Imm;
      pc.imm = int32_t(uint32_t(rhs.bits));
    } else if (rhs.loc == Loc::Local && home(rhs.local) != kNoReg) {
      pc.kind = PendingCond::Rhs::Reg;  // never allocatable: release_condition's free is a no-op
      pc.rhs = home(rhs.local);
    } else if (Arch::kCmpMemOperand && mem_operand(rhs, rhs_index, &pc.mem)) {
      pc.kind = PendingCond::Rhs::Mem;
    } else {
      pc.kind = PendingCond::Rhs::Reg;
      pc.rhs = to_reg(rhs, rhs_index);
    }
    // A fused compare never writes its lhs: a homed local is compared in place.
    if (fuse && stack_.size() > cur_base() && stack_.top().loc == Loc::Local &&
        home(stack_.top().local) != kNoReg) {
      Val lv;
      pop(&lv);
      pc.lhs = home(lv.local);
    } else if (!pop_reg(&pc.lhs)) {
      return false;
    }
    if (fuse) {
      pc.valid = true;
      pending_ = pc;
      return true;
    }
    Reg lhs = pc.lhs;
    switch (pc.kind) {
      case PendingCond::Rhs::Imm: masm_.compare_imm(c, w, lhs, lhs, pc.imm); break;
      case PendingCond::Rhs::Mem: masm_.compare_mem(c, w, lhs, lhs, pc.mem); break;
      case PendingCond::Rhs::Reg: masm_.compare(c, w, lhs, lhs, pc.rhs); regs_.free(pc.rhs); break;
    }
    return push_reg(NVM_TYPE_I32, lhs);
  }
  bool op_eqz(W w) {
    if (!next_op_branches_on_i32()) {
      return op_unary_gp(NVM_TYPE_I32, [&](Reg r) { masm_.eqz(w, r, r); });
    }
    return pop_zero_test(Cond::Eq, w, &pending_);
  }
  // A condition comparing the popped value with zero; a homed local is tested in place.
  bool pop_zero_test(Cond c, W w, PendingCond* out) {
    PendingCond pc;
    if (!pop_reg_read_only(&pc.lhs)) return false;
    pc.valid = true;
    pc.cond = c;
    pc.w = w;
    pc.kind = PendingCond::Rhs::Imm;
    pc.imm = 0;
    *out = pc;
    return true;
  }
  // The branch condition of BR_IF / IF: a pending compare, or else the popped i32 (!= 0).
  bool take_condition(PendingCond* pc) {
    if (pending_.valid) {
      *pc = pending_;
      pending_.valid = false;
      return true;
    }
    return pop_zero_test(Cond::Ne, W::k32, pc);
  }
  // Jumps to `l` when pc (negated: when it does not hold) and releases its registers.
  void branch_on(const PendingCond& pc, bool negated, const Label& l) {
    Cond c = negated ? negate(pc.cond) : pc.cond;
    switch (pc.kind) {
      case PendingCond::Rhs::Imm: masm_.branch_cmp_imm(c, pc.w, pc.lhs, pc.imm, l); break;
      case PendingCond::Rhs::Mem: masm_.branch_cmp_mem(c, pc.w, pc.lhs, pc.mem, l); break;
      case PendingCond::Rhs::Reg: masm_.branch_cmp(c, pc.w, pc.lhs, pc.rhs, l); break;
    }
  }
  void release_condition(const PendingCond& pc) {
    regs_.free(pc.lhs);
    if (pc.kind == PendingCond::Rhs::Reg) regs_.free(pc.rhs);
  }
  template <class F>
  bool op_unary_gp(uint8_t result_type, F&& emit) {
    Reg r;
    if (!pop_reg(&r)) return false;
    emit(r);
    return push_reg(result_type, r);
  }
  // `op; local.set/tee x` with x homed in a register of the result's type: the set is consumed
  // and the caller computes straight into x's home (a float result then settles its NaN there: a
  // local holds exact bits). Pending lazy reads of x are materialised first, before the home is
  // overwritten.
  bool take_home_dst(uint8_t type, uint32_t* local, bool* tee) {
    ByteCursor peek = cursor_;
    uint8_t next = peek.u8();
    if (next != NVM_OP_LOCAL_SET && next != NVM_OP_LOCAL_TEE) return false;
    uint32_t l = peek.uleb32();
    if (!peek.ok() || l >= hdr_.local_types.size() || home(l) == kNoReg || hdr_.local_types[l] != type) return false;
    cursor_ = peek;
    ++ctx_.out->ops_visited;
    if (stack_.has_local_refs(l)) materialize_local_refs();
    *local = l;
    *tee = next == NVM_OP_LOCAL_TEE;
    return true;
  }
  // Finishes an op whose result is in `r`: pushed as a pending arithmetic result, or, when the
  // op was computed into a home (`to_home`), settled there and pushed as the local for a tee.
  bool finish_fp_result(uint8_t type, Reg r, bool arith, bool to_home, uint32_t hl, bool tee) {
    if (!to_home) return arith ? push_reg_arith(type, r) : push_reg(type, r);
    if (arith) canonicalize_nan(fwidth_of(type), r);
    return finish_home_update(hl, tee, type);
  }
  // The register an operand is read from without being written: its own (a temporary the caller
  // frees), a homed local's home, or `tmp`/a fresh register loaded with it.
  Reg fp_operand_reg(const Val& v, uint32_t index) {
    if (v.loc == Loc::Reg) return v.reg;
    if (v.loc == Loc::Local && fp_home(v.local)) return home(v.local);
    Reg r = alloc(RegClass::Fp);
    load_into(v, index, r);
    return r;
  }
  bool op_fp_binop(FpOp op, uint8_t type) {
    if (stack_.size() < cur_base() + 2) return fail("operand stack underflow");
    const FW w = fwidth_of(type);
    const bool arith = op != FpOp::Copysign;  // copysign moves bits: its operands are settled
    const bool commutes = op == FpOp::Add || op == FpOp::Mul;  // bit-exact up to NaN payloads
    const bool mem_rhs_ok = Arch::kFpMemOperand && (commutes || op == FpOp::Sub || op == FpOp::Div);
    Val rv, lv;
    pop(&rv, !arith);
    uint32_t r_index = stack_.size();  // a Spilled operand's slot
    pop(&lv, !arith);
    uint32_t l_index = stack_.size();
    uint32_t hl = 0;
    bool tee = false;
    const bool to_home = take_home_dst(type, &hl, &tee);
    // A register operand becomes the destination (for commutative ops either one), so the
    // other operand can be read in place: a home, or a slot as a memory operand.
    if (!to_home && commutes && lv.loc != Loc::Reg && rv.loc == Loc::Reg) {
      std::swap(lv, rv);
      std::swap(l_index, r_index);
    }
    Address m;
    const bool r_mem = mem_rhs_ok && mem_operand(rv, r_index, &m);
    Reg dst, l;
    if (to_home) {
      dst = home(hl);
      l = fp_operand_reg(lv, l_index);
    } else if (lv.loc == Loc::Reg) {
      dst = l = lv.reg;
    } else if (lv.loc == Loc::Local && fp_home(lv.local)) {
      dst = alloc(RegClass::Fp);
      l = home(lv.local);
    } else {
      dst = l = alloc(RegClass::Fp);
      load_into(lv, l_index, dst);
    }
    if (r_mem) {
      masm_.fp_op_mem(op, w, dst, l, m);
    } else {
      Reg r = fp_operand_reg(rv, r_index);
      masm_.fp_op(op, w, dst, l, r);
      if (r != dst) regs_.free(r);
    }
    if (l != dst) regs_.free(l);
    return finish_fp_result(type, dst, arith, to_home, hl, tee);
  }
  bool op_fp_unop(FpUnOp op, uint8_t type) {
    const bool arith = op != FpUnOp::Abs && op != FpUnOp::Neg;  // abs/neg move bits
    Val v;
    if (!pop(&v, !arith)) return false;
    uint32_t hl = 0;
    bool tee = false;
    const bool to_home = take_home_dst(type, &hl, &tee);
    Reg src = fp_operand_reg(v, stack_.size());
    Reg dst = to_home ? home(hl) : regs_.is_allocatable(src) ? src : alloc(RegClass::Fp);
    masm_.fp_unop(op, fwidth_of(type), dst, src);
    if (src != dst) regs_.free(src);
    return finish_fp_result(type, dst, arith, to_home, hl, tee);
  }
  // Float compares: the result does not depend on a NaN's payload, so operands are read raw
  // (homes in place).
  bool op_fp_compare(FpCond c, uint8_t type) {
    Val rv, lv;
    if (!pop(&rv, false)) return false;
    uint32_t r_index = stack_.size();
    if (!pop(&lv, false)) return false;
    Reg rhs = fp_operand_reg(rv, r_index);
    Reg lhs = fp_operand_reg(lv, stack_.size());
    Reg dst = alloc(RegClass::Gp);
    masm_.fp_compare(c, fwidth_of(type), dst, lhs, rhs);
    regs_.free(rhs);
    regs_.free(lhs);
    return push_reg(NVM_TYPE_I32, dst);
  }
  bool op_trunc(TruncKind k) {
    Val v;
    if (!pop(&v, false)) return false;  // NaN traps (or gives 0) whatever its payload
    Reg src = fp_operand_reg(v, stack_.size());
    Reg dst = alloc(RegClass::Gp);
    Label invalid, overflow;
    if (!k.saturating) { invalid = trap(NVM_TRAP_INVALID_CONVERSION); overflow = trap(NVM_TRAP_INTEGER_OVERFLOW); }
    masm_.fp_to_int(k, dst, src, invalid, overflow);
    regs_.free(src);
    return push_reg(k.to == W::k32 ? NVM_TYPE_I32 : NVM_TYPE_I64, dst);
  }
  bool op_convert(FW to, W from, bool is_signed) {
    Reg src;
    if (!pop_reg(&src)) return false;
    Reg dst = alloc(RegClass::Fp);
    masm_.int_to_fp(to, from, is_signed, dst, src);
    regs_.free(src);
    return push_reg(to == FW::kF32 ? NVM_TYPE_F32 : NVM_TYPE_F64, dst);
  }
  bool op_reinterpret(bool to_float, FW w) {
    Reg src;
    if (!pop_reg(&src)) return false;
    Reg dst = alloc(to_float ? RegClass::Fp : RegClass::Gp);
    if (to_float) masm_.gp_to_fp(w, dst, src); else masm_.fp_to_gp(w, dst, src);
    regs_.free(src);
    uint8_t t = to_float ? (w == FW::kF32 ? NVM_TYPE_F32 : NVM_TYPE_F64) : (w == FW::kF32 ? NVM_TYPE_I32 : NVM_TYPE_I64);
    return push_reg(t, dst);
  }

  // Memory: address = memory_base + zero-extended u32 index + u32 offset; out of bounds faults
  // in the guard region (8 GiB reservation), recorded as a MEMORY_OUT_OF_BOUNDS trap site.
  // The address must be one the ISA encodes in the access instruction itself (Arch::address_ok):
  // the trap site is the pc right before it. Otherwise index + offset goes to kScratch2 first.
  bool memory_address(Reg index, uint32_t offset, unsigned size, Address* addr) {
    if (info_.n_memories == 0) return fail("memory access without memory");
    if (offset <= 0x7FFFFFFFu && Arch::address_ok(Address{Arch::kMemBase, index, int32_t(offset)}, size)) {
      *addr = Address{Arch::kMemBase, index, int32_t(offset)};
    } else {
      masm_.mov_imm(W::k32, Arch::kScratch2, offset);
      masm_.int_op(IntOp::Add, W::k64, Arch::kScratch2, Arch::kScratch2, index);
      *addr = Address{Arch::kMemBase, Arch::kScratch2, 0};
    }
    return true;
  }
  // Pops a value the consumer only reads: a homed local is used in its home (never written,
  // and freeing it is a no-op since homes are not allocatable); anything else as pop_reg.
  bool pop_reg_read_only(Reg* r) {
    if (stack_.size() > cur_base() && stack_.top().loc == Loc::Local && home(stack_.top().local) != kNoReg) {
      Val v;
      pop(&v);
      *r = home(v.local);  // i32 homes keep zero upper halves: valid as a 64-bit index
      return true;
    }
    return pop_reg(r);
  }
  // The effective address of a memory access whose index is popped here: a constant index
  // folds into the displacement (clang addresses globals as `i32.const A; load offset=0`).
  bool pop_memory_address(uint32_t offset, unsigned size, Address* addr, Reg* index_reg) {
    *index_reg = kNoReg;
    if (info_.n_memories == 0) return fail("memory access without memory");
    if (stack_.size() > cur_base() && stack_.top().loc == Loc::Const) {
      Val c;
      pop(&c);
      uint64_t ea = uint64_t(uint32_t(c.bits)) + offset;  // < 2^33: inside the 8 GiB reservation
      if (ea <= 0x7FFFFFFFu && Arch::address_ok(Address{Arch::kMemBase, kNoReg, int32_t(ea)}, size)) {
        *addr = Address{Arch::kMemBase, kNoReg, int32_t(ea)};
        return true;
      }
      masm_.mov_imm(W::k64, Arch::kScratch2, ea);
      *addr = Address{Arch::kMemBase, Arch::kScratch2, 0};
      return true;
    }
    if (!pop_reg_read_only(index_reg)) return false;
    return memory_address(*index_reg, offset, size, addr);
  }
  // `load; <binop>` where the binop takes the loaded value as its rhs: one instruction with a
  // memory operand (`addsd xmm0, [membase + index + offset]`, `add eax, [...]`). Full-width loads
  // with f32/f64 add/sub/mul/div or i32/i64 add/sub/mul/and/or/xor; the trap site is the fused
  // instruction and keeps the load's bytecode offset.
  bool try_fused_load_op(LoadKind k, uint8_t type, uint32_t offset) {
    if (cursor_.remaining() == 0 || stack_.size() < cur_base() + 2) return false;
    uint8_t next = *cursor_.position();
    bool fp = is_float_type(type);
    if (fp ? !Arch::kFpMemOperand : !Arch::kAluMemOperand) return false;  // no such form
    FpOp fop = FpOp::Add;
    IntOp iop = IntOp::Add;
    if (k == LoadKind::F64 || k == LoadKind::F32) {
      uint8_t base = k == LoadKind::F64 ? NVM_OP_F64_ADD : NVM_OP_F32_ADD;  // add, sub, mul, div
      if (next < base || next > base + 3) return false;
      static const FpOp ops[] = {FpOp::Add, FpOp::Sub, FpOp::Mul, FpOp::Div};
      fop = ops[next - base];
    } else if (k == LoadKind::I32 || k == LoadKind::I64) {
      uint8_t add = k == LoadKind::I32 ? NVM_OP_I32_ADD : NVM_OP_I64_ADD;
      uint8_t and_ = k == LoadKind::I32 ? NVM_OP_I32_AND : NVM_OP_I64_AND;
      if (next == add) iop = IntOp::Add;
      else if (next == add + 1) iop = IntOp::Sub;
      else if (next == add + 2) iop = IntOp::Mul;
      else if (next == and_) iop = IntOp::And;
      else if (next == and_ + 1) iop = IntOp::Or;
      else if (next == and_ + 2) iop = IntOp::Xor;
      else return false;
    } else {
      return false;
    }
    if (stack_.at(stack_.size() - 2).type != type) return false;  // validated; keeps it safe
    cursor_.u8();
    ++ctx_.out->ops_visited;
    Reg index;
    Address addr;
    if (!pop_memory_address(offset, access_size(k), &addr, &index)) return false;
    Val lv;
    if (!pop(&lv, !fp)) return false;  // float arithmetic reads a pending NaN raw
    Reg dst;
    if (lv.loc == Loc::Reg) {
      dst = lv.reg;
    } else {
      dst = alloc(fp ? RegClass::Fp : RegClass::Gp);
      load_into(lv, stack_.size(), dst);
    }
    record_memory_site();
    if (fp) masm_.fp_op_mem(fop, fwidth_of(type), dst, dst, addr);
    else masm_.int_op_mem(iop, width_of(type), dst, dst, addr);
    regs_.free(index);
    return fp ? push_reg_arith(type, dst) : push_reg(type, dst);
  }
  bool op_load(LoadKind k, uint8_t type) {
    cursor_.uleb32();
    uint32_t offset = cursor_.uleb32();
    if (try_fused_load_op(k, type, offset)) return true;
    if (failed_) return false;
    Reg index;
    Address addr;
    if (!pop_memory_address(offset, access_size(k), &addr, &index)) return false;
    Reg dst = is_float_type(type) ? alloc(RegClass::Fp)
              : index != kNoReg && regs_.is_allocatable(index) ? index : alloc(RegClass::Gp);
    record_memory_site();
    masm_.load(k, dst, addr);
    if (dst != index) regs_.free(index);
    return push_reg(type, dst);
  }
  bool op_store(StoreKind k) {
    cursor_.uleb32();
    uint32_t offset = cursor_.uleb32();
    // A constant value is stored as an immediate (float constants as their bit pattern).
    Val cv;
    bool imm_value = false;
    if (stack_.size() > cur_base() && stack_.top().loc == Loc::Const) {
      uint64_t b = stack_.top().bits;
      imm_value = Arch::store_imm_ok(k, b);
      if (imm_value) pop(&cv);
    }
    Reg value = kNoReg, index;
    if (!imm_value && !pop_reg_read_only(&value)) return false;
    Address addr;
    if (!pop_memory_address(offset, access_size(k), &addr, &index)) return false;
    record_memory_site();
    if (imm_value) masm_.store_imm(k, addr, int32_t(uint32_t(cv.bits)));
    else masm_.store(k, addr, value);
    regs_.free(value);
    regs_.free(index);
    return true;
  }

  // Branches when `lhs <c> u32 [field]`: one `cmp r, [m]` where the ISA has it, else the field
  // is loaded into `tmp` (a register the caller does not need afterwards) first.
  void branch_cmp_field(Cond c, Reg lhs, Address field, Reg tmp, const Label& l) {
    if constexpr (Arch::kCmpMemOperand) {
      (void)tmp;
      masm_.branch_cmp_mem(c, W::k32, lhs, field, l);
    } else {
      masm_.load(LoadKind::I32, tmp, field);
      masm_.branch_cmp(c, W::k32, lhs, tmp, l);
    }
  }
  // Loads `vmctx->field[index]` (a pointer table) into the scratch register.
  void load_vm_table_entry(int32_t field, uint32_t index) {
    masm_.load_ptr(Arch::kScratch, Address{Arch::kVmctx, kNoReg, field});
    masm_.load_ptr(Arch::kScratch, Address{Arch::kScratch, kNoReg, int32_t(8 * index)});
  }
  bool check_table(uint32_t t) { return t < info_.tables.size() ? true : fail("table index"); }

  // Calls (docs/runtime-abi.md): arguments to [sp + 8*i], results come back in the same slots.
  bool prepare_call_args(const FuncType& type) {
    uint32_t n_params = uint32_t(type.params.size());
    frame_.need_outgoing_slots(std::max<uint32_t>(n_params, uint32_t(type.results.size())));
    if (stack_.size() < cur_base() + n_params) return fail("call arguments underflow");
    uint32_t first = stack_.size() - n_params;
    for (uint32_t j = 0; j < n_params; ++j) {
      Val& v = stack_.at(first + j);
      if (v.type != type.params[j]) return fail("call argument type");
      Address dst{Arch::kStackPointer, kNoReg, int32_t(8 * j)};
      if (v.loc == Loc::Spilled) masm_.copy_slot(dst, slot(first + j));
      else store_val(v, dst);
    }
    discard_to(first);
    return true;
  }
  // After a call into another instance (an import, call_indirect) vmctx and the memory base
  // register hold the callee's; a direct call to a local function shares this instance's vmctx
  // and memory base, and every function leaves both registers as it found them (they are
  // pinned: never allocated while pinned, reloaded after the calls that change them).
  bool finish_call(const FuncType& type, bool same_instance) {
    if (!same_instance) {
      masm_.load_ptr(Arch::kVmctx, Address{Arch::kFramePointer, kNoReg, FrameLayout::kVmctxSlot});
      load_memory_base();
    }
    for (uint32_t j = 0; j < type.results.size(); ++j) {
      uint8_t t = type.results[j];
      Reg r = alloc(class_of(t));
      masm_.load(load_kind_of(t), r, Address{Arch::kStackPointer, kNoReg, int32_t(8 * j)});
      if (!push_reg(t, r)) return false;
    }
    return true;
  }
  bool op_call(uint32_t func) {
    if (func >= info_.func_types.size()) return fail("function index");
    const FuncType& type = info_.types[info_.func_types[func]];
    if (!prepare_call_args(type)) return false;
    spill_registers();
    // Home registers survive the call: every wasm-convention callee preserves them, the
    // host-call stub included (docs/runtime-abi.md).
    if (func >= info_.n_imported_funcs) {
      // A local function shares this instance's vmctx: call it directly.
      masm_.call(func_labels_[func - info_.n_imported_funcs]);
      record_call_site();
    } else {
      load_vm_table_entry(rt::kVmctxFuncsOffset, func);
      masm_.load_ptr(Arch::kVmctx, Address{Arch::kScratch, kNoReg, rt::kFuncRefVmctxOffset});
      enter_callee_instance();
      masm_.call_mem(Address{Arch::kScratch, kNoReg, rt::kFuncRefCodeOffset});
      record_call_site();
    }
    return finish_call(type, func >= info_.n_imported_funcs);
  }
  // Spec §4.4.8 call_indirect: out of table bounds -> "undefined element" (TABLE_OUT_OF_BOUNDS),
  // null -> UNINITIALIZED_ELEMENT, signature mismatch -> INDIRECT_CALL_TYPE_MISMATCH.
  bool op_call_indirect(uint32_t type_index, uint32_t table) {
    if (type_index >= info_.types.size() || !check_table(table)) return fail("call_indirect index");
    const FuncType& type = info_.types[type_index];
    Reg index;
    if (!pop_reg(&index)) return false;
    if (!prepare_call_args(type)) return false;
    spill_registers();
    load_vm_table_entry(rt::kVmctxTablesOffset, table);
    branch_cmp_field(Cond::GeU, index, Address{Arch::kScratch, kNoReg, rt::kTableSizeOffset}, Arch::kScratch2,
                     trap(NVM_TRAP_TABLE_OUT_OF_BOUNDS));
    masm_.load_ptr(Arch::kScratch, Address{Arch::kScratch, kNoReg, rt::kTableElemsOffset});
    masm_.load_ptr(Arch::kScratch, Address{Arch::kScratch, index, 0, 3});
    masm_.branch_zero(W::k64, Arch::kScratch, trap(NVM_TRAP_UNINITIALIZED_ELEMENT));
    masm_.load_ptr(Arch::kScratch2, Address{Arch::kVmctx, kNoReg, rt::kVmctxTypeIdsOffset});
    masm_.load(LoadKind::I32, Arch::kScratch2, Address{Arch::kScratch2, kNoReg, int32_t(4 * type_index)});
    // Both scratch registers are taken here; the table index is dead, so its register is the
    // temporary an ISA without `cmp r, [m]` loads the callee's type id into.
    branch_cmp_field(Cond::Ne, Arch::kScratch2, Address{Arch::kScratch, kNoReg, rt::kFuncRefTypeIdOffset}, index,
                     trap(NVM_TRAP_INDIRECT_CALL_TYPE_MISMATCH));
    regs_.free(index);
    masm_.load_ptr(Arch::kVmctx, Address{Arch::kScratch, kNoReg, rt::kFuncRefVmctxOffset});
    enter_callee_instance();
    masm_.call_mem(Address{Arch::kScratch, kNoReg, rt::kFuncRefCodeOffset});
    record_call_site();
    return finish_call(type, false);
  }
  // Helpers (RuntimeHelpers, host C ABI): `n` wasm operands popped into the argument area.
  // `helper_trap` is the only nonzero code the helper can return (vmctx.h RuntimeHelpers: the
  // memory.* helpers fail with MEMORY_OUT_OF_BOUNDS, the table.* ones with TABLE_OUT_OF_BOUNDS,
  // spec §4.4.6-§4.4.7), so the trap site records it statically; 0 = cannot trap (data.drop,
  // elem.drop): no check is emitted.
  bool call_helper(int32_t helper_offset, uint32_t n, const uint64_t* immediates, uint32_t n_imm,
                   bool returns_value, uint32_t helper_trap = 0) {
    uint32_t total = n + n_imm;
    frame_.need_outgoing_slots(total);
    if (stack_.size() < cur_base() + n) return fail("helper arguments underflow");
    for (uint32_t j = 0; j < n_imm; ++j) {
      masm_.mov_imm(W::k64, Arch::kScratch, immediates[j]);
      masm_.store(StoreKind::B64, Address{Arch::kStackPointer, kNoReg, int32_t(8 * j)}, Arch::kScratch);
    }
    uint32_t first = stack_.size() - n;
    for (uint32_t j = 0; j < n; ++j) {
      Val& v = stack_.at(first + j);
      Address dst{Arch::kStackPointer, kNoReg, int32_t(8 * (n_imm + j))};
      if (v.loc == Loc::Spilled) masm_.copy_slot(dst, slot(first + j));
      else if (v.loc == Loc::Reg && !is_float_type(v.type)) masm_.store(StoreKind::B64, dst, v.reg);
      else store_val(v, dst);
    }
    discard_to(first);
    spill_registers();
    // Helpers are host C functions: vmctx and the memory base register are callee-saved in both
    // host ABIs (SysV, Win64), so neither is reloaded (memory.grow never moves the base).
    if (!calls_helpers_) return fail("helper call not found by the body scan (internal)");
    save_host_volatile_homes();
    const bool metered = info_.flags & NVM_BYTECODE_FLAG_GAS;
    if (metered) masm_.gas_to_store();  // helpers charge bulk fees to the Store's counter
    masm_.call_helper(helper_offset, total);
    if (metered) masm_.gas_from_store();
    reload_host_volatile_homes();
    if (returns_value) {
      Reg r = alloc(RegClass::Gp);
      masm_.mov(W::k32, r, Arch::kReturnReg);
      return push_reg(NVM_TYPE_I32, r);
    }
    if (helper_trap != 0) masm_.branch_nonzero(W::k32, Arch::kReturnReg, trap(helper_trap, true));
    return true;
  }

  // Before a call that may enter another instance (vmctx already the callee's): the callee
  // expects its memory base in the register (docs/runtime-abi.md). Unconditional: this module
  // may have no memory while the callee's has one; operand registers are spilled at calls. For
  // a host function the vmctx is a HostCallContext and the loaded word is simply unused.
  void enter_callee_instance() {
    masm_.load_ptr(Arch::kMemBase, Address{Arch::kVmctx, kNoReg, rt::kVmctxMemoryBaseOffset});
  }
  void load_memory_base() {
    if (info_.n_memories)
      masm_.load_ptr(Arch::kMemBase, Address{Arch::kVmctx, kNoReg, rt::kVmctxMemoryBaseOffset});
  }

  // ---- control ------------------------------------------------------------------------------
  bool read_block_type(uint32_t* type_index) {
    *type_index = cursor_.u32();
    if (!cursor_.ok() || *type_index >= info_.types.size()) return fail("block type");
    return true;
  }
  bool enter(FrameKind kind, uint32_t type_index) {
    const FuncType& t = info_.types[type_index];
    uint32_t p = uint32_t(t.params.size());
    if (stack_.size() < cur_base() + p) return fail("block parameters underflow");
    if (ctrl_.size() >= hdr_.max_ctrl) return fail("control stack exceeds max_ctrl");
    Frame f{kind, type_index, p, uint32_t(t.results.size()), stack_.size() - p};
    f.branch_target = masm_.new_label();
    f.end_label = f.branch_target;
    ctrl_.push_back(f);
    return true;
  }
  // Values carried by a branch go to the target's slots [height, height + arity).
  void move_carried(uint32_t arity, uint32_t height) {
    uint32_t first = stack_.size() - arity;
    for (uint32_t j = 0; j < arity; ++j) {
      Val& v = stack_.at(first + j);
      if (v.loc == Loc::Spilled) {
        if (first + j != height + j) masm_.copy_slot(slot(height + j), slot(first + j));
      } else {
        store_val(v, slot(height + j));
      }
    }
  }
  // Results go to the caller's argument area as full 8-byte slots (32-bit values zero-extended).
  // The result slots alias the parameters: with several results, lazy reads are materialised
  // first (result j must not overwrite parameter j before a later result reads it); a single
  // result reads its value before writing the only slot.
  void emit_return_sequence() {
    uint32_t n = uint32_t(info_.types[info_.func_types[ctx_.body->func_index]].results.size());
    if (n > 1) materialize_local_refs();
    uint32_t first = stack_.size() - n;
    for (uint32_t j = 0; j < n; ++j) {
      Address dst{Arch::kFramePointer, kNoReg, frame_.result_offset(j)};
      Val& v = stack_.at(first + j);
      settle(v);
      switch (v.loc) {
        case Loc::Const: store_val(v, dst); break;
        case Loc::Reg:
          if (v.type == NVM_TYPE_F32) {
            masm_.fp_to_gp(FW::kF32, Arch::kScratch, v.reg);
            masm_.store(StoreKind::B64, dst, Arch::kScratch);
          } else {
            masm_.store(is_float_type(v.type) ? StoreKind::F64 : StoreKind::B64, dst, v.reg);
          }
          break;
        case Loc::Local:
        case Loc::Spilled: {
          LoadKind k = v.type == NVM_TYPE_I32 || v.type == NVM_TYPE_F32 ? LoadKind::I32 : LoadKind::I64;
          if (v.loc == Loc::Local && home(v.local) != kNoReg) {
            if (v.type == NVM_TYPE_F32) {  // full slot: the f32 bits zero-extended
              masm_.fp_to_gp(FW::kF32, Arch::kScratch, home(v.local));
              masm_.store(StoreKind::B64, dst, Arch::kScratch);
            } else {
              masm_.store(fp_home(v.local) ? StoreKind::F64 : StoreKind::B64, dst, home(v.local));
            }
            break;
          }
          masm_.load(k, Arch::kScratch, v.loc == Loc::Local ? local_addr(v.local) : slot(first + j));
          masm_.store(StoreKind::B64, dst, Arch::kScratch);
          break;
        }
      }
    }
    restore_homes();
    masm_.epilogue_return();  // the budget slot dies with the frame: nothing to give back
  }
  bool check_branch(uint32_t depth, uint32_t arity, uint32_t height, Frame** target) {
    if (depth >= ctrl_.size()) return fail("branch depth");
    Frame& f = ctrl_[ctrl_.size() - 1 - depth];
    uint32_t expected = f.kind == FrameKind::Loop ? f.n_params : f.n_results;
    if (arity != expected || uint64_t(height) + arity > stack_.size() || height != f.base)
      return fail("branch arity/height");
    if (f.kind != FrameKind::Loop) f.end_targeted = true;
    *target = &f;
    return true;
  }
  bool op_return() {
    uint32_t n = uint32_t(info_.types[info_.func_types[ctx_.body->func_index]].results.size());
    if (stack_.size() < n) return fail("return underflow");
    emit_return_sequence();
    reachable_ = false;
    return true;
  }
  bool op_br() {
    uint32_t depth = cursor_.u32(), arity = cursor_.u32(), height = cursor_.u32();
    Frame* f = nullptr;  // set by check_branch when it succeeds
    if (!cursor_.ok() || !check_branch(depth, arity, height, &f)) return fail("br");
    if (f->kind == FrameKind::Function) return op_return();
    move_carried(arity, height);
    masm_.jmp(f->branch_target);
    reachable_ = false;
    return true;
  }
  bool op_br_if() {
    uint32_t depth = cursor_.u32(), arity = cursor_.u32(), height = cursor_.u32();
    PendingCond cond;
    if (!cursor_.ok() || !take_condition(&cond)) return fail("br_if");
    Frame* f = nullptr;  // set by check_branch when it succeeds
    if (!check_branch(depth, arity, height, &f)) return false;
    // The merge moves come before the compare: the flags only have to survive the jcc.
    prepare_merge();
    bool in_place = stack_.size() - arity == height;
    if (f->kind != FrameKind::Function && in_place) {
      branch_on(cond, false, f->branch_target);
    } else {
      Label skip = masm_.new_label();
      branch_on(cond, true, skip);
      if (f->kind == FrameKind::Function) emit_return_sequence();
      else { move_carried(arity, height); masm_.jmp(f->branch_target); }
      masm_.bind(skip);
    }
    release_condition(cond);
    return true;
  }
  bool op_br_table() {
    uint32_t n = cursor_.u32(), arity = cursor_.u32();
    if (!cursor_.ok() || n > cursor_.remaining() / 8) return fail("br_table size");
    const uint8_t* entries = cursor_.bytes(size_t(n + 1) * 8);
    if (!entries) return fail("br_table entries");
    Reg index;
    if (!pop_reg(&index)) return false;
    prepare_merge();
    std::vector<Label> targets(n + 1);
    std::unordered_map<uint32_t, Label> stubs;  // depth -> stub doing moves (O(1) per entry)
    std::vector<std::pair<Label, uint32_t>> stub_list;
    ByteCursor ec(entries, entries + size_t(n + 1) * 8);
    for (uint32_t i = 0; i <= n; ++i) {
      uint32_t depth = ec.u32(), height = ec.u32();
      Frame* f = nullptr;  // set by check_branch when it succeeds
      if (!check_branch(depth, arity, height, &f)) return false;
      if (f->kind != FrameKind::Function && stack_.size() - arity == height) {
        targets[i] = f->branch_target;
        continue;
      }
      auto it = stubs.find(depth);
      if (it == stubs.end()) {
        it = stubs.emplace(depth, masm_.new_label()).first;
        stub_list.push_back({it->second, depth});
      }
      targets[i] = it->second;
    }
    masm_.branch_cmp_imm(Cond::GeU, W::k32, index, int32_t(n), targets[n]);
    masm_.jump_table(index, targets.data(), n);
    regs_.free(index);
    for (auto& [label, depth] : stub_list) {
      masm_.bind(label);
      Frame& f = ctrl_[ctrl_.size() - 1 - depth];
      if (f.kind == FrameKind::Function) emit_return_sequence();
      else { move_carried(arity, f.base); masm_.jmp(f.branch_target); }
    }
    reachable_ = false;
    return true;
  }
  bool op_if() {
    uint32_t type_index;
    if (!read_block_type(&type_index)) return false;
    PendingCond cond;
    if (!take_condition(&cond)) return false;
    prepare_merge();
    if (!enter(FrameKind::If, type_index)) return false;
    Frame& f = ctrl_.back();
    f.else_label = masm_.new_label();
    f.save_base = save_top_;
    // The else arm needs the params, which the then arm may overwrite in their slots.
    for (uint32_t j = 0; j < f.n_params; ++j)
      masm_.copy_slot(Address{Arch::kFramePointer, kNoReg, frame_.save_slot(save_top_ + j)}, slot(f.base + j));
    save_top_ += f.n_params;
    frame_.need_save_slots(save_top_);
    branch_on(cond, true, f.else_label);
    release_condition(cond);
    return true;
  }
  void start_else_arm(Frame& f) {
    masm_.bind(f.else_label);
    const FuncType& t = info_.types[f.type_index];
    for (uint32_t j = 0; j < f.n_params; ++j) {
      masm_.copy_slot(slot(f.base + j), Address{Arch::kFramePointer, kNoReg, frame_.save_slot(f.save_base + j)});
      push_spilled(t.params[j]);
    }
    save_top_ = f.save_base;
  }
  bool op_else() {
    if (ctrl_.empty() || ctrl_.back().kind != FrameKind::If || ctrl_.back().else_seen) return fail("else");
    Frame& f = ctrl_.back();
    if (reachable_) {
      if (stack_.size() != f.base + f.n_results) return fail("if results");
      prepare_merge();
      masm_.jmp(f.end_label);
      // The then-arm reaches END by this jump: if the else arm ends in dead code (return, br,
      // unreachable), END is still live and the code after it must be compiled as such.
      f.end_targeted = true;
    }
    discard_to(f.base);
    f.else_seen = true;
    start_else_arm(f);
    reachable_ = true;
    return true;
  }
  bool op_end() {
    if (ctrl_.empty()) return fail("end without frame");
    Frame& f = ctrl_.back();
    const FuncType& t = info_.types[f.type_index];
    if (reachable_) {
      if (stack_.size() != f.base + f.n_results) return fail("block results");
      // The function's END merges nothing: the return sequence reads values where they are.
      if (f.kind != FrameKind::Function) prepare_merge();
    }
    if (f.kind == FrameKind::Function) {
      if (reachable_) emit_return_sequence();
      ctrl_.pop_back();
      return true;
    }
    bool end_reachable = reachable_ || f.end_targeted;
    if (f.kind == FrameKind::If && !f.else_seen) {
      end_reachable = true;  // the implicit else arm falls through
      if (reachable_) masm_.jmp(f.end_label);
      discard_to(f.base);
      start_else_arm(f);  // an absent else passes the params through as results
      prepare_merge();
    }
    discard_to(f.base);
    if (f.kind != FrameKind::Loop) masm_.bind(f.end_label);
    uint32_t base = f.base;
    ctrl_.pop_back();
    (void)base;
    for (uint8_t r : t.results) push_spilled(r);
    stack_.all_spilled_below = stack_.size();
    reachable_ = end_reachable;
    return !failed_;
  }

  bool compile_op(uint8_t op);
  bool compile_fc(uint32_t sub);

  Masm& masm_;
  const FunctionContext& ctx_;
  const ProgramInfo& info_;
  const BodyHeader& hdr_;
  const std::vector<Label>& func_labels_;
  RegAlloc regs_;
  ValueStack stack_;
  FrameLayout frame_;
  ByteCursor cursor_;
  PendingCond pending_;
  std::vector<Frame> ctrl_;
  std::vector<TrapStub> trap_stubs_;
  std::vector<NanFixup> nan_fixups_;
  int32_t owner_[kMaxRegIds];  // register id -> the stack entry holding it, or -1
  std::vector<Reg> home_of_;     // per local: its home register or kNoReg
  std::vector<uint32_t> homes_;  // the homed locals
  std::unordered_map<uint32_t, uint32_t> param_home_slot_;  // homed parameter -> its save slot
  uint32_t helper_save_base_ = 0;  // first of the host-volatile save slots (if calls_helpers_)
  bool calls_helpers_ = false;
  bool calls_functions_ = false;  // the body has call or call_indirect (see the STACK op)
  uint32_t save_top_ = 0;
  uint32_t frame_cost_ = 0;
  uint32_t op_offset_ = 0;
  bool reachable_ = true;
  bool failed_ = false;
  bool stack_seen_ = false;
};

template <class Masm>
bool CodeGen<Masm>::run(uint32_t* patch_offset, uint64_t* frame_size) {
  const FuncType& sig = info_.types[info_.func_types[ctx_.body->func_index]];
  masm_.prologue();
  *patch_offset = masm_.sub_sp_patchable();
  masm_.store(StoreKind::B64, Address{Arch::kFramePointer, kNoReg, FrameLayout::kVmctxSlot}, Arch::kVmctx);
  // The memory base register arrives loaded: like vmctx it is set by whoever enters the
  // instance (entry trampoline, cross-instance call sites) and is unchanged by direct calls.
  // Declared locals start at zero (spec §4.4.10 "invoke"); many locals: one rep stosq.
  uint32_t n_decl = frame_.n_declared_locals();
  if (n_decl > 8) {
    masm_.zero_fill(Address{Arch::kFramePointer, kNoReg, frame_.declared_locals_base()}, n_decl);
  } else {
    for (uint32_t k = 0; k < n_decl; ++k)
      if (home(hdr_.n_params + k) == kNoReg) masm_.store_imm32(W::k64, local_addr(hdr_.n_params + k), 0);
  }
  save_homes_and_init();
  Frame fn{FrameKind::Function, info_.func_types[ctx_.body->func_index], 0, uint32_t(sig.results.size()), 0};
  fn.branch_target = masm_.new_label();
  fn.end_label = fn.branch_target;
  ctrl_.push_back(fn);

  while (!cursor_.at_end() && !failed_) {
    if (ctrl_.empty()) return fail("code after the function's end");
    op_offset_ = uint32_t(cursor_.offset());
    uint8_t op = cursor_.u8();
    ++ctx_.out->ops_visited;
    if (!compile_op(op)) return fail("invalid op");
    if (!cursor_.ok()) return fail("truncated immediate");
  }
  if (failed_) return false;
  if (!ctrl_.empty()) return fail("missing end");
  emit_nan_fixups();
  emit_trap_stubs();
  *frame_size = frame_.frame_size();
  return !failed_;
}

template <class Masm>
bool CodeGen<Masm>::compile_op(uint8_t op) {
  if (!stack_seen_ && op != NVM_OP_STACK) return fail("STACK must be the first op");
  switch (op) {
    case NVM_OP_STACK: {
      if (stack_seen_) return fail("duplicate STACK");
      stack_seen_ = true;
      frame_cost_ = cursor_.u32();
      if (frame_cost_ > 0x7FFFFFFFu) return fail("frame cost");
      masm_.stack_check(frame_cost_, trap(NVM_TRAP_STACK_OVERFLOW));
      // Function entry, in bodies that call: an activation of a body without calls returns or
      // reaches one of its loop headers (which check) within a bounded number of instructions,
      // and call depth is bounded by the stack budget, so checks at loop headers and at the
      // entries of calling bodies bound the time to the trap. A request pending when the host
      // calls into wasm is taken before entry (runtime invoke).
      if (calls_functions_) interrupt_check();
      return true;
    }
    case NVM_OP_GAS: {
      uint64_t cost = cursor_.u64();
      if (!(info_.flags & NVM_BYTECODE_FLAG_GAS)) return fail("GAS without flag");
      masm_.charge_gas(cost, trap(NVM_TRAP_OUT_OF_GAS));
      return true;
    }
    case NVM_OP_UNREACHABLE:
      masm_.jmp(trap(NVM_TRAP_UNREACHABLE));
      reachable_ = false;
      return true;
    case NVM_OP_NOP: return true;
    case NVM_OP_BLOCK: case NVM_OP_LOOP: {
      uint32_t type_index;
      if (!read_block_type(&type_index)) return false;
      prepare_merge();
      if (!enter(op == NVM_OP_BLOCK ? FrameKind::Block : FrameKind::Loop, type_index)) return false;
      if (op == NVM_OP_LOOP) {
        masm_.bind(ctrl_.back().branch_target);
        interrupt_check();  // every back-edge lands here
      }
      ctrl_.back().end_label = op == NVM_OP_LOOP ? masm_.new_label() : ctrl_.back().branch_target;
      return true;
    }
    case NVM_OP_IF: return op_if();
    case NVM_OP_ELSE: return op_else();
    case NVM_OP_END: return op_end();
    case NVM_OP_BR: return op_br();
    case NVM_OP_BR_IF: return op_br_if();
    case NVM_OP_BR_TABLE: return op_br_table();
    case NVM_OP_RETURN: return op_return();
    case NVM_OP_CALL: return op_call(cursor_.uleb32());
    case NVM_OP_CALL_INDIRECT: {
      uint32_t type_index = cursor_.uleb32();
      uint32_t table = cursor_.uleb32();
      return op_call_indirect(type_index, table);
    }
    case NVM_OP_DROP: { Val v; if (!pop(&v, false)) return false; if (v.loc == Loc::Reg) regs_.free(v.reg); return true; }
    case NVM_OP_SELECT: case NVM_OP_SELECT_T: {
      if (op == NVM_OP_SELECT_T) {
        if (cursor_.uleb32() != 1) return fail("select arity");
        if (!is_value_type(cursor_.u8())) return fail("select type");
      }
      return op_select();
    }
    case NVM_OP_LOCAL_GET: {
      uint32_t l = cursor_.uleb32();
      if (l >= hdr_.local_types.size()) return fail("local index");
      Val v{hdr_.local_types[l], Loc::Local};
      v.local = l;
      return push(v);
    }
    case NVM_OP_LOCAL_SET: case NVM_OP_LOCAL_TEE: {
      uint32_t l = cursor_.uleb32();
      if (l >= hdr_.local_types.size()) return fail("local index");
      Val v;
      if (!pop(&v)) return false;
      if (v.type != hdr_.local_types[l]) return fail("local type");
      if (stack_.has_local_refs(l)) materialize_local_refs();
      Reg h = home(l);
      if (v.loc == Loc::Local && v.local == l) { /* local.set x (local.get x): no-op */ }
      else if (h != kNoReg) {
        // Homed: i32 values in registers have zero upper halves, so W::k64 moves are exact.
        if (v.loc == Loc::Const && is_float_type(v.type)) masm_.fconst(fwidth_of(v.type), h, v.bits);
        else if (v.loc == Loc::Const) masm_.mov_imm(width_of(v.type), h, v.bits);
        else load_into(v, stack_.size(), h);
      }
      else if (v.loc == Loc::Spilled) masm_.copy_slot(local_addr(l), slot(stack_.size()));
      else store_val(v, local_addr(l));
      // `local.set/tee x; local.get x` with the value in a register: the get reuses the register
      // instead of reading back the slot just written (a store-forwarding round trip on the
      // dependency chain). set+get becomes tee; tee+get pushes a register copy.
      bool get_follows = false;
      if (v.loc == Loc::Reg && h == kNoReg) {
        ByteCursor peek = cursor_;
        if (peek.u8() == NVM_OP_LOCAL_GET && peek.uleb32() == l && peek.ok()) {
          cursor_ = peek;
          ++ctx_.out->ops_visited;
          get_follows = true;
        }
      }
      if (op == NVM_OP_LOCAL_TEE || get_follows) {
        if (v.loc == Loc::Local && v.local != l) { v.local = l; }
        if (!push(v)) return false;
        if (op == NVM_OP_LOCAL_TEE && get_follows) {
          Reg copy = alloc(class_of(v.type));
          if (is_float_type(v.type)) masm_.fmov(copy, v.reg); else masm_.mov(W::k64, copy, v.reg);
          return push_reg(v.type, copy);
        }
        return true;
      }
      if (v.loc == Loc::Reg) regs_.free(v.reg);
      return true;
    }
    case NVM_OP_GLOBAL_GET: case NVM_OP_GLOBAL_SET: {
      uint32_t g = cursor_.uleb32();
      if (g >= info_.globals.size()) return fail("global index");
      uint8_t t = info_.globals[g].valtype;
      if (op == NVM_OP_GLOBAL_GET) {
        load_vm_table_entry(rt::kVmctxGlobalsOffset, g);
        Reg r = alloc(class_of(t));
        masm_.load(load_kind_of(t), r, Address{Arch::kScratch, kNoReg, 0});
        return push_reg(t, r);
      }
      Reg r;
      if (!pop_reg(&r)) return false;
      load_vm_table_entry(rt::kVmctxGlobalsOffset, g);
      // i32/f32 cells keep their upper 32 bits zero (vmctx.h VMGlobal).
      masm_.store(t == NVM_TYPE_F32 ? StoreKind::F32 : t == NVM_TYPE_F64 ? StoreKind::F64 : StoreKind::B64,
                  Address{Arch::kScratch, kNoReg, 0}, r);
      regs_.free(r);
      return true;
    }
    case NVM_OP_TABLE_GET: case NVM_OP_TABLE_SET: {
      uint32_t t = cursor_.uleb32();
      if (!check_table(t)) return false;
      Reg value = kNoReg, index;
      if (op == NVM_OP_TABLE_SET && !pop_reg(&value)) return false;
      if (!pop_reg(&index)) return false;
      load_vm_table_entry(rt::kVmctxTablesOffset, t);
      branch_cmp_field(Cond::GeU, index, Address{Arch::kScratch, kNoReg, rt::kTableSizeOffset}, Arch::kScratch2,
                       trap(NVM_TRAP_TABLE_OUT_OF_BOUNDS));
      masm_.load_ptr(Arch::kScratch, Address{Arch::kScratch, kNoReg, rt::kTableElemsOffset});
      Address elem{Arch::kScratch, index, 0, 3};
      if (op == NVM_OP_TABLE_GET) {
        masm_.load_ptr(index, elem);
        return push_reg(info_.tables[t].elem_type, index);
      }
      masm_.store(StoreKind::B64, elem, value);
      regs_.free(value);
      regs_.free(index);
      return true;
    }
    case NVM_OP_MEMORY_SIZE: {
      cursor_.u8();
      if (info_.n_memories == 0) return fail("memory.size without memory");
      Reg r = alloc(RegClass::Gp);
      masm_.load_ptr(r, Address{Arch::kVmctx, kNoReg, rt::kVmctxMemorySizeOffset});
      masm_.shift_imm(ShiftOp::ShrU, W::k64, r, r, 16);  // bytes -> 64 KiB pages
      return push_reg(NVM_TYPE_I32, r);
    }
    case NVM_OP_MEMORY_GROW: {
      cursor_.u8();
      if (info_.n_memories == 0) return fail("memory.grow without memory");
      return call_helper(int32_t(offsetof(rt::RuntimeHelpers, memory_grow)), 1, nullptr, 0, true);
    }
    case NVM_OP_I32_CONST: return push_const(NVM_TYPE_I32, uint32_t(cursor_.sleb32()));
    case NVM_OP_I64_CONST: return push_const(NVM_TYPE_I64, uint64_t(cursor_.sleb64()));
    case NVM_OP_F32_CONST: return push_const(NVM_TYPE_F32, cursor_.u32());
    case NVM_OP_F64_CONST: return push_const(NVM_TYPE_F64, cursor_.u64());
    case NVM_OP_REF_NULL: {
      uint8_t t = cursor_.u8();
      if (!is_ref_type(t)) return fail("ref.null type");
      return push_const(t, 0);
    }
    case NVM_OP_REF_IS_NULL:
      return op_unary_gp(NVM_TYPE_I32, [&](Reg r) { masm_.eqz(W::k64, r, r); });
    case NVM_OP_REF_FUNC: {
      uint32_t f = cursor_.uleb32();
      if (f >= info_.func_types.size()) return fail("ref.func index");
      load_vm_table_entry(rt::kVmctxFuncsOffset, f);
      Reg r = alloc(RegClass::Gp);
      masm_.mov(W::k64, r, Arch::kScratch);
      return push_reg(NVM_TYPE_FUNCREF, r);
    }
    case NVM_PREFIX_FC: return compile_fc(cursor_.uleb32());
    default: break;
  }
  // Loads and stores.
  if (op >= NVM_OP_I32_LOAD && op <= NVM_OP_I64_LOAD32_U) {
    static const LoadKind kinds[] = {LoadKind::I32, LoadKind::I64, LoadKind::F32, LoadKind::F64,
                                     LoadKind::I32_8S, LoadKind::I32_8U, LoadKind::I32_16S, LoadKind::I32_16U,
                                     LoadKind::I64_8S, LoadKind::I64_8U, LoadKind::I64_16S, LoadKind::I64_16U,
                                     LoadKind::I64_32S, LoadKind::I64_32U};
    static const uint8_t types[] = {NVM_TYPE_I32, NVM_TYPE_I64, NVM_TYPE_F32, NVM_TYPE_F64,
                                    NVM_TYPE_I32, NVM_TYPE_I32, NVM_TYPE_I32, NVM_TYPE_I32,
                                    NVM_TYPE_I64, NVM_TYPE_I64, NVM_TYPE_I64, NVM_TYPE_I64, NVM_TYPE_I64, NVM_TYPE_I64};
    return op_load(kinds[op - NVM_OP_I32_LOAD], types[op - NVM_OP_I32_LOAD]);
  }
  if (op >= NVM_OP_I32_STORE && op <= NVM_OP_I64_STORE32) {
    static const StoreKind kinds[] = {StoreKind::B32, StoreKind::B64, StoreKind::F32, StoreKind::F64,
                                      StoreKind::B8, StoreKind::B16, StoreKind::B8, StoreKind::B16, StoreKind::B32};
    return op_store(kinds[op - NVM_OP_I32_STORE]);
  }
  // Comparisons (spec §4.3.2 irelop / §4.3.3 frelop).
  if (op == NVM_OP_I32_EQZ || op == NVM_OP_I64_EQZ) return op_eqz(op == NVM_OP_I32_EQZ ? W::k32 : W::k64);
  if (op >= NVM_OP_I32_EQ && op <= NVM_OP_I32_GE_U) return op_compare(Cond(op - NVM_OP_I32_EQ), W::k32);
  if (op >= NVM_OP_I64_EQ && op <= NVM_OP_I64_GE_U) return op_compare(Cond(op - NVM_OP_I64_EQ), W::k64);
  if (op >= NVM_OP_F32_EQ && op <= NVM_OP_F32_GE) return op_fp_compare(FpCond(op - NVM_OP_F32_EQ), NVM_TYPE_F32);
  if (op >= NVM_OP_F64_EQ && op <= NVM_OP_F64_GE) return op_fp_compare(FpCond(op - NVM_OP_F64_EQ), NVM_TYPE_F64);
  // Integer arithmetic: the i64 block mirrors the i32 block at +0x12.
  if (op >= NVM_OP_I32_CLZ && op <= NVM_OP_I64_ROTR) {
    bool is64 = op >= NVM_OP_I64_CLZ;
    W w = is64 ? W::k64 : W::k32;
    uint8_t t = is64 ? NVM_TYPE_I64 : NVM_TYPE_I32;
    switch (op - (is64 ? NVM_OP_I64_CLZ : NVM_OP_I32_CLZ)) {
      case 0: return op_unary_gp(t, [&](Reg r) { masm_.clz(w, r, r); });
      case 1: return op_unary_gp(t, [&](Reg r) { masm_.ctz(w, r, r); });
      case 2: return op_unary_gp(t, [&](Reg r) { masm_.popcnt(w, r, r); });
      case 3: return op_int_binop(IntOp::Add, w, t);
      case 4: return op_int_binop(IntOp::Sub, w, t);
      case 5: return op_int_binop(IntOp::Mul, w, t);
      case 6: return op_div(DivOp::DivS, w, t);
      case 7: return op_div(DivOp::DivU, w, t);
      case 8: return op_div(DivOp::RemS, w, t);
      case 9: return op_div(DivOp::RemU, w, t);
      case 10: return op_int_binop(IntOp::And, w, t);
      case 11: return op_int_binop(IntOp::Or, w, t);
      case 12: return op_int_binop(IntOp::Xor, w, t);
      case 13: return op_shift(ShiftOp::Shl, w, t);
      case 14: return op_shift(ShiftOp::ShrS, w, t);
      case 15: return op_shift(ShiftOp::ShrU, w, t);
      case 16: return op_shift(ShiftOp::Rotl, w, t);
      case 17: return op_shift(ShiftOp::Rotr, w, t);
    }
  }
  // Float arithmetic: f64 mirrors f32 at +0x0E.
  if (op >= NVM_OP_F32_ABS && op <= NVM_OP_F64_COPYSIGN) {
    bool is64 = op >= NVM_OP_F64_ABS;
    uint8_t t = is64 ? NVM_TYPE_F64 : NVM_TYPE_F32;
    switch (op - (is64 ? NVM_OP_F64_ABS : NVM_OP_F32_ABS)) {
      case 0: return op_fp_unop(FpUnOp::Abs, t);
      case 1: return op_fp_unop(FpUnOp::Neg, t);
      case 2: return op_fp_unop(FpUnOp::Ceil, t);
      case 3: return op_fp_unop(FpUnOp::Floor, t);
      case 4: return op_fp_unop(FpUnOp::Trunc, t);
      case 5: return op_fp_unop(FpUnOp::Nearest, t);
      case 6: return op_fp_unop(FpUnOp::Sqrt, t);
      case 7: return op_fp_binop(FpOp::Add, t);
      case 8: return op_fp_binop(FpOp::Sub, t);
      case 9: return op_fp_binop(FpOp::Mul, t);
      case 10: return op_fp_binop(FpOp::Div, t);
      case 11: return op_fp_binop(FpOp::Min, t);
      case 12: return op_fp_binop(FpOp::Max, t);
      case 13: return op_fp_binop(FpOp::Copysign, t);
    }
  }
  switch (op) {
    case NVM_OP_I32_WRAP_I64:
      if (stack_.size() > cur_base() && stack_.top().loc == Loc::Const) {
        Val c;
        pop(&c);
        return push_const(NVM_TYPE_I32, c.bits & 0xFFFFFFFFu);
      }
      return op_unary_gp(NVM_TYPE_I32, [&](Reg r) { masm_.zero_extend_32(r, r); });
    case NVM_OP_I64_EXTEND_I32_S:
      return op_unary_gp(NVM_TYPE_I64, [&](Reg r) { masm_.sign_extend(W::k64, 32, r, r); });
    case NVM_OP_I64_EXTEND_I32_U: {
      // An i32 in a register already has a zero upper half (every i32 producer writes a 32-bit
      // register, which x64 zero-extends; memory addressing relies on the same invariant), and
      // 32-bit loads zero-extend: the value only changes type.
      Val v;
      if (!pop(&v)) return false;
      if (v.loc == Loc::Const) return push_const(NVM_TYPE_I64, v.bits & 0xFFFFFFFFu);
      Reg r = to_reg(v, stack_.size());
      return push_reg(NVM_TYPE_I64, r);
    }
    case NVM_OP_I32_EXTEND8_S:
      return op_unary_gp(NVM_TYPE_I32, [&](Reg r) { masm_.sign_extend(W::k32, 8, r, r); });
    case NVM_OP_I32_EXTEND16_S:
      return op_unary_gp(NVM_TYPE_I32, [&](Reg r) { masm_.sign_extend(W::k32, 16, r, r); });
    case NVM_OP_I64_EXTEND8_S:
      return op_unary_gp(NVM_TYPE_I64, [&](Reg r) { masm_.sign_extend(W::k64, 8, r, r); });
    case NVM_OP_I64_EXTEND16_S:
      return op_unary_gp(NVM_TYPE_I64, [&](Reg r) { masm_.sign_extend(W::k64, 16, r, r); });
    case NVM_OP_I64_EXTEND32_S:
      return op_unary_gp(NVM_TYPE_I64, [&](Reg r) { masm_.sign_extend(W::k64, 32, r, r); });
    case NVM_OP_I32_TRUNC_F32_S: return op_trunc({FW::kF32, W::k32, true, false});
    case NVM_OP_I32_TRUNC_F32_U: return op_trunc({FW::kF32, W::k32, false, false});
    case NVM_OP_I32_TRUNC_F64_S: return op_trunc({FW::kF64, W::k32, true, false});
    case NVM_OP_I32_TRUNC_F64_U: return op_trunc({FW::kF64, W::k32, false, false});
    case NVM_OP_I64_TRUNC_F32_S: return op_trunc({FW::kF32, W::k64, true, false});
    case NVM_OP_I64_TRUNC_F32_U: return op_trunc({FW::kF32, W::k64, false, false});
    case NVM_OP_I64_TRUNC_F64_S: return op_trunc({FW::kF64, W::k64, true, false});
    case NVM_OP_I64_TRUNC_F64_U: return op_trunc({FW::kF64, W::k64, false, false});
    case NVM_OP_F32_CONVERT_I32_S: return op_convert(FW::kF32, W::k32, true);
    case NVM_OP_F32_CONVERT_I32_U: return op_convert(FW::kF32, W::k32, false);
    case NVM_OP_F32_CONVERT_I64_S: return op_convert(FW::kF32, W::k64, true);
    case NVM_OP_F32_CONVERT_I64_U: return op_convert(FW::kF32, W::k64, false);
    case NVM_OP_F64_CONVERT_I32_S: return op_convert(FW::kF64, W::k32, true);
    case NVM_OP_F64_CONVERT_I32_U: return op_convert(FW::kF64, W::k32, false);
    case NVM_OP_F64_CONVERT_I64_S: return op_convert(FW::kF64, W::k64, true);
    case NVM_OP_F64_CONVERT_I64_U: return op_convert(FW::kF64, W::k64, false);
    case NVM_OP_F32_DEMOTE_F64: case NVM_OP_F64_PROMOTE_F32: {
      Val v;
      if (!pop(&v, false)) return false;  // NaN in, NaN out: canonicalised (lazily) below
      Reg src = fp_operand_reg(v, stack_.size());
      Reg r = regs_.is_allocatable(src) ? src : alloc(RegClass::Fp);
      bool demote = op == NVM_OP_F32_DEMOTE_F64;
      if (demote) masm_.demote(r, src); else masm_.promote(r, src);
      return push_reg_arith(demote ? NVM_TYPE_F32 : NVM_TYPE_F64, r);
    }
    case NVM_OP_I32_REINTERPRET_F32: return op_reinterpret(false, FW::kF32);
    case NVM_OP_I64_REINTERPRET_F64: return op_reinterpret(false, FW::kF64);
    case NVM_OP_F32_REINTERPRET_I32: return op_reinterpret(true, FW::kF32);
    case NVM_OP_F64_REINTERPRET_I64: return op_reinterpret(true, FW::kF64);
    default: break;
  }
  return fail("unknown opcode");
}

template <class Masm>
bool CodeGen<Masm>::compile_fc(uint32_t sub) {
  using H = rt::RuntimeHelpers;
  switch (sub) {
    case NVM_FC_I32_TRUNC_SAT_F32_S: return op_trunc({FW::kF32, W::k32, true, true});
    case NVM_FC_I32_TRUNC_SAT_F32_U: return op_trunc({FW::kF32, W::k32, false, true});
    case NVM_FC_I32_TRUNC_SAT_F64_S: return op_trunc({FW::kF64, W::k32, true, true});
    case NVM_FC_I32_TRUNC_SAT_F64_U: return op_trunc({FW::kF64, W::k32, false, true});
    case NVM_FC_I64_TRUNC_SAT_F32_S: return op_trunc({FW::kF32, W::k64, true, true});
    case NVM_FC_I64_TRUNC_SAT_F32_U: return op_trunc({FW::kF32, W::k64, false, true});
    case NVM_FC_I64_TRUNC_SAT_F64_S: return op_trunc({FW::kF64, W::k64, true, true});
    case NVM_FC_I64_TRUNC_SAT_F64_U: return op_trunc({FW::kF64, W::k64, false, true});
    case NVM_FC_MEMORY_INIT: {
      uint64_t seg = cursor_.uleb32();
      cursor_.u8();
      if (seg >= info_.n_data_segments || info_.n_memories == 0) return fail("memory.init index");
      return call_helper(int32_t(offsetof(H, memory_init)), 3, &seg, 1, false, NVM_TRAP_MEMORY_OUT_OF_BOUNDS);
    }
    case NVM_FC_DATA_DROP: {
      uint64_t seg = cursor_.uleb32();
      if (seg >= info_.n_data_segments) return fail("data.drop index");
      return call_helper(int32_t(offsetof(H, data_drop)), 0, &seg, 1, false);
    }
    case NVM_FC_MEMORY_COPY:
      cursor_.u8(); cursor_.u8();
      if (info_.n_memories == 0) return fail("memory.copy without memory");
      return call_helper(int32_t(offsetof(H, memory_copy)), 3, nullptr, 0, false, NVM_TRAP_MEMORY_OUT_OF_BOUNDS);
    case NVM_FC_MEMORY_FILL:
      cursor_.u8();
      if (info_.n_memories == 0) return fail("memory.fill without memory");
      return call_helper(int32_t(offsetof(H, memory_fill)), 3, nullptr, 0, false, NVM_TRAP_MEMORY_OUT_OF_BOUNDS);
    case NVM_FC_TABLE_INIT: {
      uint64_t imm[2];
      imm[1] = cursor_.uleb32();  // elem index
      imm[0] = cursor_.uleb32();  // table index
      if (imm[1] >= info_.n_elem_segments || !check_table(uint32_t(imm[0]))) return fail("table.init index");
      return call_helper(int32_t(offsetof(H, table_init)), 3, imm, 2, false, NVM_TRAP_TABLE_OUT_OF_BOUNDS);
    }
    case NVM_FC_ELEM_DROP: {
      uint64_t seg = cursor_.uleb32();
      if (seg >= info_.n_elem_segments) return fail("elem.drop index");
      return call_helper(int32_t(offsetof(H, elem_drop)), 0, &seg, 1, false);
    }
    case NVM_FC_TABLE_COPY: {
      uint64_t imm[2];
      imm[0] = cursor_.uleb32();
      imm[1] = cursor_.uleb32();
      if (!check_table(uint32_t(imm[0])) || !check_table(uint32_t(imm[1]))) return false;
      return call_helper(int32_t(offsetof(H, table_copy)), 3, imm, 2, false, NVM_TRAP_TABLE_OUT_OF_BOUNDS);
    }
    case NVM_FC_TABLE_GROW: {
      uint64_t t = cursor_.uleb32();
      if (!check_table(uint32_t(t))) return false;
      if (!call_helper(int32_t(offsetof(H, table_grow)), 2, &t, 1, true)) return false;
      // The helper charges the per-element fee first; kTableGrowOutOfGas says it did not fit.
      masm_.branch_cmp_imm(Cond::Eq, W::k32, stack_.at(stack_.size() - 1).reg, rt::kTableGrowOutOfGas,
                           trap(NVM_TRAP_OUT_OF_GAS));
      return true;
    }
    case NVM_FC_TABLE_SIZE: {
      uint32_t t = cursor_.uleb32();
      if (!check_table(t)) return false;
      load_vm_table_entry(rt::kVmctxTablesOffset, t);
      Reg r = alloc(RegClass::Gp);
      masm_.load(LoadKind::I32, r, Address{Arch::kScratch, kNoReg, rt::kTableSizeOffset});
      return push_reg(NVM_TYPE_I32, r);
    }
    case NVM_FC_TABLE_FILL: {
      uint64_t t = cursor_.uleb32();
      if (!check_table(uint32_t(t))) return false;
      return call_helper(int32_t(offsetof(H, table_fill)), 3, &t, 1, false, NVM_TRAP_TABLE_OUT_OF_BOUNDS);
    }
    default: return fail("unknown 0xFC op");
  }
}

}  // namespace codegen_detail

template <class Masm>
bool compile_function(Masm& masm, const FunctionContext& ctx,
                      const std::vector<typename Masm::Label>& func_labels,
                      uint32_t* frame_patch_offset, uint64_t* frame_size) {
  codegen_detail::CodeGen<Masm> gen(masm, ctx, func_labels);
  return gen.run(frame_patch_offset, frame_size);
}

}  // namespace nvm::jit
