/* memcpy-heavy: n rounds of 1024 block moves (16 B .. 4 KiB, possibly overlapping) inside a
 * 1 MiB arena, plus fixed-size 64-byte struct copies and memsets. Built with -mbulk-memory, so
 * variable-size copies become memory.copy / memory.fill; the fixed-size ones are inlined loads
 * and stores. */
#include "bench.h"

#define ARENA (1u << 20)
static u8 arena[ARENA];

typedef struct {
    u64 w[8];
} block64;

static block64 slots[256];

EXPORT("run") i64 run(i32 n) {
    u64 seed = 0x082efa98ec4e6c89ULL;
    for (u32 i = 0; i < ARENA; i++) arena[i] = (u8)(i * 131u + (i >> 9));
    for (u32 i = 0; i < 256; i++)
        for (u32 j = 0; j < 8; j++) slots[i].w[j] = bench_rng(&seed);
    u64 acc = 0;
    for (i32 r = 0; r < n; r++) {
        for (u32 k = 0; k < 1024; k++) {
            u64 x = bench_rng(&seed);
            u32 size = 16u << (x & 7);
            u32 src = (u32)(x >> 8) % (ARENA - size);
            u32 dst = (u32)(x >> 36) % (ARENA - size);
            __builtin_memmove(arena + dst, arena + src, size);
            arena[dst] ^= (u8)k;
            if ((k & 15) == 0) __builtin_memset(arena + src, (int)(k & 0xff), size / 4);
            block64 tmp;
            __builtin_memcpy(&tmp, arena + (src & ~7u), sizeof tmp);
            tmp.w[k & 7] ^= x;
            slots[k & 255] = tmp;
        }
        u64 h = 0;
        for (u32 i = 0; i < ARENA; i += 509) h = bench_mix(h, arena[i]);
        for (u32 i = 0; i < 256; i += 17) h = bench_mix(h, slots[i].w[i & 7]);
        acc = bench_mix(acc, h);
    }
    return (i64)acc;
}
