// regalloc.cpp — RegAlloc is header-only (templates); this unit keeps the file pair of
// docs/design.md "JIT structure" and checks that the header is self-contained.
#include "jit/regalloc.h"
