/* f64 matrix multiply: C = A * B for 96x96 matrices, n times, with A perturbed by the previous
 * result so the work cannot be hoisted. The checksum is the bit pattern of a sum over C: no FMA
 * or reassociation is allowed on any target, so the bits agree. */
#include "bench.h"

#define N 96
static double A[N][N], B[N][N], C[N][N];

EXPORT("run") i64 run(i32 n) {
    u64 seed = 0x13198a2e03707344ULL;
    for (u32 i = 0; i < N; i++)
        for (u32 j = 0; j < N; j++) {
            A[i][j] = (double)(bench_rng(&seed) & 0xffff) / 65536.0 - 0.5;
            B[i][j] = (double)(bench_rng(&seed) & 0xffff) / 65536.0 - 0.5;
        }
    double total = 0.0;
    for (i32 r = 0; r < n; r++) {
        for (u32 i = 0; i < N; i++) {
            for (u32 j = 0; j < N; j++) C[i][j] = 0.0;
            for (u32 k = 0; k < N; k++) {
                double a = A[i][k];
                for (u32 j = 0; j < N; j++) C[i][j] += a * B[k][j];
            }
        }
        double s = 0.0;
        for (u32 i = 0; i < N; i++)
            for (u32 j = 0; j < N; j++) s += C[i][j];
        total += s;
        A[r % N][(r * 7) % N] += s * 1e-3;
    }
    return (i64)f64_bits(total);
}
