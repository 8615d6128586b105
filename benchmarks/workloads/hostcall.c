/* Host-call overhead: a loop that calls the imported env.host_inc n times (the host returns its
 * argument + 1, wrapped to i32). Not part of the execution table; see the host-call metric. */
#include "bench.h"

#ifdef __wasm__
IMPORT("env", "host_inc") i32 host_inc(i32 x);
#else
static i32 host_inc(i32 x) { return (i32)((u32)x + 1u); }
#endif

EXPORT("run") i64 run(i32 n) {
    u32 acc = 0;
    for (i32 i = 0; i < n; i++) acc = (u32)host_inc((i32)(acc ^ ((u32)i & 1u)));
    return (i64)acc;
}
