// trap_state.cpp — the thread-local trap state read by the fault handler (see trap_state.h).
#include "runtime/trap_state.h"

namespace nvm::rt {
namespace {
// Trivially constructible and destructible: accessing it never allocates or registers a
// destructor, so the signal handler may read it on any thread.
thread_local ThreadTrapState t_state NVM_TLS_MODEL = {nullptr, 0};
}  // namespace

ThreadTrapState* thread_trap_state() { return &t_state; }

}  // namespace nvm::rt
