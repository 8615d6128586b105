// regalloc.cpp — RegAlloc is header-only (templates); this unit keeps the file pair of
// models.md §9 and checks that the header is self-contained.
#include "jit/regalloc.h"
