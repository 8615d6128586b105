/* Sorting: n rounds of filling 100k 32-bit keys from xorshift and sorting them with an
 * introsort-style quicksort (median of three, insertion sort below 16 elements, heapsort
 * fallback when the recursion gets too deep). Compares, swaps, unpredictable branches. */
#include "bench.h"

#define COUNT 100000u
static u32 keys[COUNT];

static void insertion(u32 *a, i32 lo, i32 hi) {
    for (i32 i = lo + 1; i <= hi; i++) {
        u32 v = a[i];
        i32 j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void sift(u32 *a, i32 start, i32 end, i32 base) {
    i32 root = start;
    for (;;) {
        i32 child = 2 * root + 1;
        if (child > end) return;
        if (child + 1 <= end && a[base + child] < a[base + child + 1]) child++;
        if (a[base + root] >= a[base + child]) return;
        u32 t = a[base + root];
        a[base + root] = a[base + child];
        a[base + child] = t;
        root = child;
    }
}

static void heapsort_range(u32 *a, i32 lo, i32 hi) {
    i32 len = hi - lo + 1;
    for (i32 s = len / 2 - 1; s >= 0; s--) sift(a, s, len - 1, lo);
    for (i32 e = len - 1; e > 0; e--) {
        u32 t = a[lo];
        a[lo] = a[lo + e];
        a[lo + e] = t;
        sift(a, 0, e - 1, lo);
    }
}

static NOINLINE void qsort_range(u32 *a, i32 lo, i32 hi, i32 depth) {
    while (hi - lo >= 16) {
        if (depth-- == 0) {
            heapsort_range(a, lo, hi);
            return;
        }
        i32 mid = lo + (hi - lo) / 2;
        u32 x = a[lo], y = a[mid], z = a[hi];
        u32 pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        i32 i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                u32 t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            qsort_range(a, lo, j, depth);
            lo = i;
        } else {
            qsort_range(a, i, hi, depth);
            hi = j;
        }
    }
    insertion(a, lo, hi);
}

EXPORT("run") i64 run(i32 n) {
    u64 seed = 0xa4093822299f31d0ULL;
    u64 acc = 0;
    for (i32 r = 0; r < n; r++) {
        for (u32 i = 0; i < COUNT; i++) keys[i] = (u32)(bench_rng(&seed) >> 16);
        qsort_range(keys, 0, (i32)COUNT - 1, 48);
        u64 h = 0;
        for (u32 i = 0; i < COUNT; i += 97) h = bench_mix(h, (u64)keys[i] * (i + 1));
        for (u32 i = 1; i < COUNT; i++)
            if (keys[i - 1] > keys[i]) h ^= 0xdeadULL;  /* unsorted: poison the checksum */
        acc = bench_mix(acc, h);
    }
    return (i64)acc;
}
