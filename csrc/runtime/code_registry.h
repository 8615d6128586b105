// code_registry.h — which address ranges hold JIT code, and what a fault at a pc means.
//
// An immutable snapshot (sorted, non-overlapping ranges) is published through one atomic
// pointer; register/unregister build a new snapshot and swap it in (under a mutex). The fault
// handler reads the current snapshot without locking. A replaced snapshot is retired and freed
// only when no activation is live on any thread (the handler reads the registry only while its
// thread has a live activation, see ActivationCount), so the handler never reads freed memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "jit/jit.h"

namespace nvm::rt {

// Owner of a registered code range: keeps the code and the trap-site table alive for as long as
// any snapshot (live or retired) refers to them.
struct CodeRange {
  uintptr_t start = 0;
  uintptr_t end = 0;                     // exclusive
  const jit::TrapSite* sites = nullptr;  // sorted by pc_offset (relative to start)
  size_t n_sites = 0;
  std::shared_ptr<void> keepalive;       // owns the memory behind start/sites
};

// Publish `range` (non-empty, not overlapping a registered range). Returns a token for unregister.
uint64_t registry_register(const CodeRange& range);
void registry_unregister(uint64_t token);

// Async-signal-safe lookups (no locks, no allocation).
// True if pc lies in registered code; *site is set to its trap site or null if none matches.
bool registry_lookup(uintptr_t pc, const jit::TrapSite** site, uintptr_t* range_start);

// Live activations on all threads (incremented before an activation becomes visible to the
// handler, decremented after it is gone). Retired snapshots are freed only while it is zero.
void activation_count_inc();
void activation_count_dec();

// Free retired snapshots if nothing runs (called by register/unregister and by tests).
void registry_collect();
// Number of registered ranges (tests/diagnostics).
size_t registry_size();

}  // namespace nvm::rt
