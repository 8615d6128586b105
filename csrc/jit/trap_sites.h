// trap_sites.h — the pc -> trap code table handed to the runtime (jit.h TrapSite).
#pragma once

#include <algorithm>
#include <vector>

#include "jit/jit.h"

namespace nvm::jit {

inline void sort_trap_sites(std::vector<TrapSite>* sites) {
  std::stable_sort(sites->begin(), sites->end(),
                   [](const TrapSite& a, const TrapSite& b) { return a.pc_offset < b.pc_offset; });
}

}  // namespace nvm::jit
