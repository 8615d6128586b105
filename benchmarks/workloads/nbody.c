/* n-body: a small made-up planetary system (one heavy body, six light ones) integrated with a
 * symplectic Euler step, n steps. f64 add/mul/div/sqrt and struct-of-arrays memory traffic. The
 * checksum combines the bit patterns of the final energy and positions. */
#include "bench.h"

#define BODIES 7
static double px[BODIES], py[BODIES], pz[BODIES];
static double vx[BODIES], vy[BODIES], vz[BODIES];
static double mass[BODIES];

static void init(void) {
    mass[0] = 1000.0;
    px[0] = py[0] = pz[0] = 0.0;
    vx[0] = vy[0] = vz[0] = 0.0;
    for (u32 i = 1; i < BODIES; i++) {
        double r = 3.0 + 2.5 * (double)i;
        double speed = __builtin_sqrt(mass[0] / r);
        mass[i] = 0.05 * (double)(i * i);
        /* place bodies on a tilted ring, velocities roughly circular */
        double c = (i & 1) ? 0.6 : -0.8, s = (i & 1) ? 0.8 : 0.6;
        px[i] = r * c;
        py[i] = r * s;
        pz[i] = 0.1 * (double)i;
        vx[i] = -speed * s;
        vy[i] = speed * c;
        vz[i] = 0.01 * (double)(BODIES - i);
    }
}

static double energy(void) {
    double e = 0.0;
    for (u32 i = 0; i < BODIES; i++) {
        e += 0.5 * mass[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
        for (u32 j = i + 1; j < BODIES; j++) {
            double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
            e -= mass[i] * mass[j] / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void step(double dt) {
    for (u32 i = 0; i < BODIES; i++) {
        for (u32 j = i + 1; j < BODIES; j++) {
            double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * __builtin_sqrt(d2));
            double mi = mass[i] * mag, mj = mass[j] * mag;
            vx[i] -= dx * mj;
            vy[i] -= dy * mj;
            vz[i] -= dz * mj;
            vx[j] += dx * mi;
            vy[j] += dy * mi;
            vz[j] += dz * mi;
        }
    }
    for (u32 i = 0; i < BODIES; i++) {
        px[i] += dt * vx[i];
        py[i] += dt * vy[i];
        pz[i] += dt * vz[i];
    }
}

EXPORT("run") i64 run(i32 n) {
    init();
    double e0 = energy();
    for (i32 s = 0; s < n; s++) step(0.001);
    u64 h = f64_bits(e0);
    h = bench_mix(h, f64_bits(energy()));
    for (u32 i = 0; i < BODIES; i++) h = bench_mix(h, f64_bits(px[i] + py[i] + pz[i]));
    return (i64)h;
}
