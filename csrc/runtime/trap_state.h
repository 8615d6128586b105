// trap_state.h — what the fault handler may read: the thread-local current Activation.
//
// The handler (platform_*.cpp) reads only `current_activation()` and the code registry
// (code_registry.h). Both are written outside signal context: the activation by invoke
// (runtime.cpp), the registry by module load/unload.
#pragma once

#include "runtime/vmctx.h"

namespace nvm::rt {

#if defined(__ELF__)
// initial-exec: TLS access in a dlopen'd library then never calls __tls_get_addr (which may
// allocate), so reading it from a signal handler is async-signal-safe.
#define NVM_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define NVM_TLS_MODEL
#endif

struct ThreadTrapState {
  Activation* activation;  // innermost live activation on this thread (null: no wasm running)
  int in_chain;            // the handler is currently calling a previous (chained) handler
};

ThreadTrapState* thread_trap_state();

inline Activation* current_activation() { return thread_trap_state()->activation; }

}  // namespace nvm::rt
