// code_registry.h — which address ranges hold JIT code, and what a fault at a pc means.
//
// An immutable snapshot (sorted, non-overlapping ranges) is published through one atomic
// pointer; register/unregister build a new snapshot and swap it in (under a mutex). The fault
// handler reads the current snapshot without locking, protected by a per-thread hazard pointer:
// it announces the snapshot it is about to read in its thread's slot and re-checks that it is
// still the published one. A replaced snapshot is retired and freed at the next register or
// unregister at which no thread's slot names it, and an unloaded range's owner (its code and
// trap sites) as soon as no remaining snapshot shows it. So memory is reclaimed while other
// threads run wasm continuously: no global quiescent moment is needed, only that no thread is
// inside a lookup (a few dozen instructions) of that very snapshot.
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

// Async-signal-safe lookup (no locks, no allocation) on a thread that called
// registry_thread_enter(); false on any other thread. True if pc lies in registered code;
// *has_site says whether a trap site matches it exactly, copied into *site.
bool registry_lookup(uintptr_t pc, jit::TrapSite* site, bool* has_site, uintptr_t* range_start);

// Gives this thread its hazard slot (allocated once per thread, reused after the thread exits).
// Called before a thread's first activation becomes visible to the fault handler; cheap after.
void registry_thread_enter();

// Free retired snapshots and owners nobody can read any more (register/unregister do it).
void registry_collect();
// Retired snapshots and owners not freed yet (tests/diagnostics).
size_t registry_retired();
// Number of registered ranges (tests/diagnostics).
size_t registry_size();

}  // namespace nvm::rt
