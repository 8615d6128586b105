// unit_check.h — the check harness of the C++ unit-test programs (tests/*/cpp/unit_*.cpp, built
// with `-Itests/cpp` and run by tests/jit/test_jit_units.py and tests/runtime/test_platform_units.py).
// CHECK(cond) reports a false condition with its file and line and counts it, so one run shows
// every failure rather than the first; unit_check_result() ends main: after any failure the count
// on stderr and exit status 1, otherwise "ok" on stdout (what the drivers require, so a program
// that stops early without reaching it fails).
#pragma once

#include <cstdio>

namespace unit_check {
inline int failures = 0;
}  // namespace unit_check

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++unit_check::failures;                                                        \
    }                                                                                \
  } while (0)

inline int unit_check_result() {
  if (unit_check::failures) {
    std::fprintf(stderr, "%d check(s) failed\n", unit_check::failures);
    return 1;
  }
  std::puts("ok");
  return 0;
}
