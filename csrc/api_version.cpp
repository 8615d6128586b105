// Library identity: version and host ISA (the rest of the C ABI lives beside its layer).
#include "nearvm.h"

#ifndef NEARVM_VERSION
#error "NEARVM_VERSION must be defined by the build (python/nearvm/_build/ffibuilder.py)"
#endif

extern "C" const char* nvm_version(void) { return NEARVM_VERSION; }

extern "C" const char* nvm_host_isa(void) {
#if defined(__x86_64__) || defined(_M_X64)
  return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "aarch64";
#else
#error "nearvm supports x86_64 and aarch64 hosts only"
#endif
}
