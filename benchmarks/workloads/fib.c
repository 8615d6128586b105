/* Recursion: naive doubly-recursive Fibonacci. run(n) = fib(n). Call/return and small frames. */
#include "bench.h"

static NOINLINE u64 fib(u32 n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

EXPORT("run") i64 run(i32 n) { return (i64)fib((u32)n); }
