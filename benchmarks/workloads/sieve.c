/* Sieve of Eratosthenes over a 2 MiB byte array, n times (the limit varies per repetition so no
 * pass is redundant). Byte stores in strided loops, branchy counting. */
#include "bench.h"

#define LIMIT (1u << 21)
static u8 composite[LIMIT];

EXPORT("run") i64 run(i32 n) {
    u64 acc = 0;
    for (i32 r = 0; r < n; r++) {
        u32 limit = LIMIT - (u32)r * 4099u % (LIMIT / 2);
        for (u32 i = 0; i < limit; i++) composite[i] = 0;
        u32 count = 0;
        for (u32 i = 2; i < limit; i++) {
            if (composite[i]) continue;
            count++;
            for (u32 j = i + i; j < limit; j += i) composite[j] = 1;
        }
        acc = bench_mix(acc, count);
    }
    return (i64)acc;
}
