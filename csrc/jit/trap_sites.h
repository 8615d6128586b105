// trap_sites.h — the pc -> trap code table handed to the runtime (jit.h TrapSite).
#pragma once

#include <algorithm>
#include <vector>

#include "jit/jit.h"

namespace nvm::jit {

// By pc; at an equal pc a trap site precedes a call site (a call's return address can also be
// the next op's memory access), so a lower-bound lookup by pc finds the trap site.
inline void sort_trap_sites(std::vector<TrapSite>* sites) {
  std::stable_sort(sites->begin(), sites->end(), [](const TrapSite& a, const TrapSite& b) {
    bool ca = a.trap_code == kCallSiteCode, cb = b.trap_code == kCallSiteCode;
    return a.pc_offset < b.pc_offset || (a.pc_offset == b.pc_offset && !ca && cb);
  });
}

}  // namespace nvm::jit
