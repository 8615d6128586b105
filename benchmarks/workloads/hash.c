/* Integer hashing over linear memory: fill a 1 MiB buffer of 32-bit words from xorshift, then
 * make n passes of a multiply/rotate mixer over it, writing the running state back so every pass
 * depends on the previous one. Loads, stores, 32/64-bit multiplies, rotates. */
#include "bench.h"

#define WORDS (1u << 18)
static u32 buf[WORDS];

static inline u32 rotl32(u32 x, u32 r) { return (x << r) | (x >> (32 - r)); }

EXPORT("run") i64 run(i32 n) {
    u64 seed = 0x243f6a8885a308d3ULL;
    for (u32 i = 0; i < WORDS; i++) buf[i] = (u32)bench_rng(&seed);
    u64 acc = 0xcbf29ce484222325ULL;
    for (i32 pass = 0; pass < n; pass++) {
        u32 h = 0x811c9dc5u ^ (u32)pass;
        for (u32 i = 0; i < WORDS; i++) {
            u32 k = buf[i] * 0xcc9e2d51u;
            k = rotl32(k, 15) * 0x1b873593u;
            h = rotl32(h ^ k, 13) * 5u + 0xe6546b64u;
            buf[i] = k ^ h;
        }
        acc = (acc ^ h) * 0x100000001b3ULL;
    }
    return (i64)acc;
}
