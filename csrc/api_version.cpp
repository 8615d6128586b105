// Library identity: version and target (the rest of the C ABI lives beside its layer).
#include "nearvm.h"

#include "jit/target.h"

#ifndef NEARVM_VERSION
#error "NEARVM_VERSION must be defined by the build (python/nearvm/_build/ffibuilder.py)"
#endif

extern "C" const char* nvm_version(void) { return NEARVM_VERSION; }

// The target this library compiles for and runs (jit/target.h host_target(): the one place it
// is decided); Python's artifact header and loader checks read these.
extern "C" const char* nvm_host_isa(void) { return nvm::jit::isa_name(nvm::jit::host_target().isa); }
extern "C" const char* nvm_host_os_abi(void) { return nvm::jit::os_abi_name(nvm::jit::host_target().abi); }
