/* Shared definitions for the nearvm benchmark workloads.
 *
 * Every workload is freestanding C (no libc) that builds both to wasm32 (clang --target=wasm32
 * -nostdlib) and natively (host cc -O2 -shared). Each exports `long long run(int n)` returning a
 * checksum that must be identical on every runtime. Only fixed-width unsigned arithmetic is used
 * for anything that can overflow, so the checksum does not depend on the target.
 */
#ifndef NEARVM_BENCH_H
#define NEARVM_BENCH_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))
#else
#define EXPORT(name) __attribute__((visibility("default")))
#endif

#define NOINLINE __attribute__((noinline))

/* xorshift64: the deterministic input generator of every workload. */
static inline u64 bench_rng(u64 *state) {
    u64 x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static inline u64 bench_mix(u64 h, u64 v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static inline u64 f64_bits(double d) {
    union {
        double d;
        u64 u;
    } c;
    c.d = d;
    return c.u;
}

#endif
