// value_stack.cpp — ValueStack is header-only; this unit checks the header is self-contained.
#include "jit/value_stack.h"
