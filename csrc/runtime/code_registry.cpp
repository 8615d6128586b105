// code_registry.cpp — immutable code-range snapshots for the fault handler (see code_registry.h).
#include "runtime/code_registry.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace nvm::rt {
namespace {

// What the handler reads: plain data, so building the next snapshot is a copy of PODs (no
// reference counting per entry: loading a module costs O(n) bytes copied, n modules loaded).
struct Entry {
  uintptr_t start;
  uintptr_t end;                  // exclusive
  const jit::TrapSite* sites;     // sorted by pc_offset (relative to start)
  size_t n_sites;
  uint64_t token;
};

struct Snapshot {
  std::vector<Entry> entries;  // sorted by start
};

// Signal-handler state: the published snapshot. Everything else below is only touched with
// g_mutex held, outside signal context.
std::atomic<const Snapshot*> g_snapshot{nullptr};
std::atomic<long> g_live_activations{0};

struct Registry {
  std::mutex mutex;
  uint64_t next_token = 1;
  std::vector<std::unique_ptr<const Snapshot>> retired;
  std::unique_ptr<const Snapshot> current;
  // Owners (CodeRange::keepalive) of the registered ranges, by token; an unregistered range's
  // owner waits in retired_owners until the retired snapshots that may still show it are freed.
  std::unordered_map<uint64_t, std::shared_ptr<void>> owners;
  std::vector<std::shared_ptr<void>> retired_owners;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: the handler may run during exit
  return *r;
}

void collect_locked(Registry& r) {
  if (g_live_activations.load(std::memory_order_seq_cst) == 0) {
    r.retired.clear();
    r.retired_owners.clear();  // after the snapshots: nothing shows their ranges any more
  }
}

void publish_locked(Registry& r, std::unique_ptr<const Snapshot> next) {
  g_snapshot.store(next.get(), std::memory_order_seq_cst);
  if (r.current) r.retired.push_back(std::move(r.current));
  r.current = std::move(next);
  collect_locked(r);
}

}  // namespace

uint64_t registry_register(const CodeRange& range) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto next = std::make_unique<Snapshot>();
  uint64_t token = r.next_token++;
  // Copy the current snapshot with the new entry inserted at its sorted place: O(n), no sort
  // (loading a module must not cost O(n log n) in the number of modules already loaded).
  const std::vector<Entry>* cur = r.current ? &r.current->entries : nullptr;
  size_t n = cur ? cur->size() : 0;
  size_t at = cur ? static_cast<size_t>(std::upper_bound(cur->begin(), cur->end(), range.start,
                                                         [](uintptr_t start, const Entry& e) {
                                                           return start < e.start;
                                                         }) - cur->begin())
                  : 0;
  next->entries.reserve(n + 1);
  if (cur) next->entries.insert(next->entries.end(), cur->begin(), cur->begin() + at);
  next->entries.push_back(Entry{range.start, range.end, range.sites, range.n_sites, token});
  if (cur) next->entries.insert(next->entries.end(), cur->begin() + at, cur->end());
  r.owners.emplace(token, range.keepalive);
  publish_locked(r, std::move(next));
  return token;
}

void registry_unregister(uint64_t token) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.current) return;
  auto next = std::make_unique<Snapshot>();
  next->entries.reserve(r.current->entries.size());
  for (const Entry& e : r.current->entries)
    if (e.token != token) next->entries.push_back(e);
  auto owner = r.owners.find(token);
  if (owner != r.owners.end()) {
    r.retired_owners.push_back(std::move(owner->second));
    r.owners.erase(owner);
  }
  publish_locked(r, std::move(next));
}

bool registry_lookup(uintptr_t pc, const jit::TrapSite** site, uintptr_t* range_start) {
  const Snapshot* snap = g_snapshot.load(std::memory_order_acquire);
  *site = nullptr;
  if (!snap) return false;
  // Binary search by hand: no allocation, no exceptions.
  size_t lo = 0, hi = snap->entries.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (snap->entries[mid].start <= pc) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return false;
  const Entry& cr = snap->entries[lo - 1];
  if (pc >= cr.end) return false;
  if (range_start) *range_start = cr.start;
  uint32_t off = static_cast<uint32_t>(pc - cr.start);
  size_t a = 0, b = cr.n_sites;
  while (a < b) {
    size_t mid = a + (b - a) / 2;
    if (cr.sites[mid].pc_offset < off) a = mid + 1; else b = mid;
  }
  // Call sites (jit::kCallSiteCode) say where a call returns, not what a fault there means.
  if (a < cr.n_sites && cr.sites[a].pc_offset == off && cr.sites[a].trap_code != jit::kCallSiteCode)
    *site = &cr.sites[a];
  return true;
}

void activation_count_inc() { g_live_activations.fetch_add(1, std::memory_order_seq_cst); }
void activation_count_dec() { g_live_activations.fetch_sub(1, std::memory_order_seq_cst); }

void registry_collect() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  collect_locked(r);
}

size_t registry_size() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.current ? r.current->entries.size() : 0;
}

}  // namespace nvm::rt
