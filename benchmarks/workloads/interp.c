/* Switch-dispatch interpreter: a tiny stack machine (16 opcodes, dense switch -> br_table) runs
 * a hand-written bytecode loop of n iterations. Indirect branches, small loads, a value stack in
 * linear memory. */
#include "bench.h"

enum {
    OP_HALT, OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_XOR,
    OP_SHL, OP_SHR, OP_AND, OP_DUP, OP_SWAP, OP_DROP, OP_JZ, OP_JNZ,
};

#define I(op, imm) ((u32)(op) | ((u32)(imm) << 8))

/* r0 = counter, r1 = accumulator, r2 = side value; the stack is empty at every jump. */
static const u32 program[] = {
    /* 0 L0 */ I(OP_LOAD, 1), I(OP_PUSH, 40503), I(OP_MUL, 0), I(OP_LOAD, 0), I(OP_ADD, 0),
    /* 5 */ I(OP_DUP, 0), I(OP_PUSH, 13), I(OP_SHR, 0), I(OP_XOR, 0), I(OP_STORE, 1),
    /* 10 */ I(OP_LOAD, 0), I(OP_PUSH, 3), I(OP_AND, 0), I(OP_JZ, 25),
    /* 14 */ I(OP_LOAD, 2), I(OP_PUSH, 1), I(OP_ADD, 0), I(OP_DUP, 0), I(OP_PUSH, 1), I(OP_SHL, 0),
    /* 20 */ I(OP_XOR, 0), I(OP_LOAD, 1), I(OP_SWAP, 0), I(OP_STORE, 2), I(OP_DROP, 0),
    /* 25 L1 */ I(OP_LOAD, 0), I(OP_PUSH, 1), I(OP_SUB, 0), I(OP_DUP, 0), I(OP_STORE, 0), I(OP_JNZ, 0),
    /* 31 */ I(OP_HALT, 0),
};

static u32 stack[256];

static NOINLINE u64 execute(const u32 *code, u32 *regs) {
    u32 sp = 0, pc = 0;
    u64 steps = 0;
    for (;;) {
        u32 ins = code[pc++];
        u32 imm = ins >> 8;
        steps++;
        switch (ins & 0xff) {
        case OP_HALT: return steps;
        case OP_PUSH: stack[sp++] = imm; break;
        case OP_LOAD: stack[sp++] = regs[imm]; break;
        case OP_STORE: regs[imm] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case OP_SHL: sp--; stack[sp - 1] <<= (stack[sp] & 31); break;
        case OP_SHR: sp--; stack[sp - 1] >>= (stack[sp] & 31); break;
        case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_SWAP: { u32 t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case OP_DROP: sp--; break;
        case OP_JZ: if (stack[--sp] == 0) pc = imm; break;
        case OP_JNZ: if (stack[--sp] != 0) pc = imm; break;
        default: return ~0ULL;
        }
    }
}

EXPORT("run") i64 run(i32 n) {
    if (n < 1) n = 1;
    u32 regs[4] = {(u32)n, 0x12345u, 0, 0};
    stack[0] = 0;
    u64 steps = execute(program, regs);
    return (i64)bench_mix(bench_mix(steps, regs[1]), regs[2]);
}
