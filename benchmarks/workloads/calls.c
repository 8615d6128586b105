/* Call-heavy: 16 tiny functions reached through a function-pointer table (call_indirect) and a
 * chain of small non-inlined direct calls, n iterations. Measures call/return and indirect-call
 * signature checks. */
#include "bench.h"

typedef u64 (*op_fn)(u64, u64);

static NOINLINE u64 f0(u64 a, u64 b) { return a + b; }
static NOINLINE u64 f1(u64 a, u64 b) { return a ^ (b * 3); }
static NOINLINE u64 f2(u64 a, u64 b) { return (a << 3) - b; }
static NOINLINE u64 f3(u64 a, u64 b) { return a * 0x9e37u + b; }
static NOINLINE u64 f4(u64 a, u64 b) { return (a >> 5) ^ b ^ 0x55u; }
static NOINLINE u64 f5(u64 a, u64 b) { return a - (b << 1); }
static NOINLINE u64 f6(u64 a, u64 b) { return (a | b) + 7; }
static NOINLINE u64 f7(u64 a, u64 b) { return (a & ~b) ^ (a >> 11); }
static NOINLINE u64 f8(u64 a, u64 b) { return a + b * b; }
static NOINLINE u64 f9(u64 a, u64 b) { return ~a + b; }
static NOINLINE u64 f10(u64 a, u64 b) { return (a << 7) | (a >> 57) ^ b; }
static NOINLINE u64 f11(u64 a, u64 b) { return a * 5 - b; }
static NOINLINE u64 f12(u64 a, u64 b) { return a ^ (a >> 3) ^ b; }
static NOINLINE u64 f13(u64 a, u64 b) { return a + 0x1234567u - b; }
static NOINLINE u64 f14(u64 a, u64 b) { return (a * b) | 1; }
static NOINLINE u64 f15(u64 a, u64 b) { return a - b + (a >> 1); }

static op_fn table[16] = {f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15};

static NOINLINE u32 leaf(u32 x) { return x * 2654435761u; }
static NOINLINE u32 mid(u32 x, u32 y) { return leaf(x ^ y) + leaf(y); }
static NOINLINE u32 top(u32 x) { return mid(x, x >> 3) ^ mid(x + 1, 7); }

EXPORT("run") i64 run(i32 n) {
    u64 acc = 0x0123456789abcdefULL;
    u32 side = 1;
    for (i32 i = 0; i < n; i++) {
        op_fn f = table[(acc >> 17 ^ (u64)i) & 15];
        acc = f(acc, (u64)i);
        side = top(side + (u32)i);
    }
    return (i64)bench_mix(acc, side);
}
