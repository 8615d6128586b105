// code_registry.cpp — immutable code-range snapshots for the fault handler (see code_registry.h).
#include "runtime/code_registry.h"

#include "runtime/trap_state.h"  // NVM_TLS_MODEL

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

// Signal-handler state: the published snapshot and the hazard slots. Everything else below is
// only touched with the registry mutex held, outside signal context.
std::atomic<const Snapshot*> g_snapshot{nullptr};

// One per thread that ever entered wasm; a push-only list, never freed (a slot is reused by a
// later thread once its owner exited), so the handler and the collector may walk it at any time.
struct HazardSlot {
  std::atomic<const Snapshot*> reading{nullptr};  // the snapshot this thread is looking up in
  std::atomic<bool> in_use{false};
  HazardSlot* next = nullptr;
};
std::atomic<HazardSlot*> g_slots{nullptr};

// The handler reads only this trivially constructible pointer (initial-exec TLS, no allocation).
thread_local HazardSlot* t_slot NVM_TLS_MODEL = nullptr;

// Gives the slot back when its thread exits (touched only by registry_thread_enter, never by the
// handler).
struct SlotReturn {
  ~SlotReturn() {
    if (HazardSlot* s = t_slot) {
      t_slot = nullptr;
      s->reading.store(nullptr, std::memory_order_seq_cst);
      s->in_use.store(false, std::memory_order_release);
    }
  }
};
thread_local SlotReturn t_slot_return;

struct Retired {
  uint64_t token;
  std::shared_ptr<void> owner;
};

struct Registry {
  std::mutex mutex;
  uint64_t next_token = 1;
  std::vector<std::unique_ptr<const Snapshot>> retired;
  std::unique_ptr<const Snapshot> current;
  // Owners (CodeRange::keepalive) of the registered ranges, by token; an unregistered range's
  // owner waits in retired_owners until no retired snapshot shows its range any more.
  std::unordered_map<uint64_t, std::shared_ptr<void>> owners;
  std::vector<Retired> retired_owners;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: the handler may run during exit
  return *r;
}

bool shows(const Snapshot& snap, uint64_t token) {
  for (const Entry& e : snap.entries)
    if (e.token == token) return true;
  return false;
}

void collect_locked(Registry& r) {
  if (r.retired.empty() && r.retired_owners.empty()) return;
  // Hazard-pointer reclamation: a retired snapshot no slot names can no longer be reached (it
  // is not published, and a reader that announced it after it was unpublished re-checks the
  // published pointer and retries), so it is freed. seq_cst pairs with the readers' announce
  // and re-check (registry_lookup).
  std::vector<const Snapshot*> in_use;
  for (HazardSlot* s = g_slots.load(std::memory_order_seq_cst); s; s = s->next)
    if (const Snapshot* p = s->reading.load(std::memory_order_seq_cst)) in_use.push_back(p);
  auto named = [&](const Snapshot* p) { return std::find(in_use.begin(), in_use.end(), p) != in_use.end(); };
  r.retired.erase(std::remove_if(r.retired.begin(), r.retired.end(),
                                 [&](const std::unique_ptr<const Snapshot>& p) { return !named(p.get()); }),
                  r.retired.end());
  // An unloaded range's owner goes once no snapshot still kept shows the range (the current
  // one never does: the range was unregistered).
  r.retired_owners.erase(std::remove_if(r.retired_owners.begin(), r.retired_owners.end(),
                                        [&](const Retired& o) {
                                          for (const auto& snap : r.retired)
                                            if (shows(*snap, o.token)) return false;
                                          return true;
                                        }),
                         r.retired_owners.end());
}

void publish_locked(Registry& r, std::unique_ptr<const Snapshot> next) {
  g_snapshot.store(next.get(), std::memory_order_seq_cst);
  if (r.current) r.retired.push_back(std::move(r.current));
  r.current = std::move(next);
  collect_locked(r);
}

}  // namespace

void registry_thread_enter() {
  if (t_slot != nullptr) return;
  (void)&t_slot_return;  // odr-use: its destructor returns the slot at thread exit
  for (HazardSlot* s = g_slots.load(std::memory_order_acquire); s; s = s->next) {
    bool idle = false;
    if (!s->in_use.load(std::memory_order_relaxed) &&
        s->in_use.compare_exchange_strong(idle, true, std::memory_order_acq_rel)) {
      t_slot = s;
      return;
    }
  }
  auto* s = new HazardSlot();  // never freed (see g_slots)
  s->in_use.store(true, std::memory_order_relaxed);
  HazardSlot* head = g_slots.load(std::memory_order_relaxed);
  do {
    s->next = head;
  } while (!g_slots.compare_exchange_weak(head, s, std::memory_order_acq_rel, std::memory_order_relaxed));
  t_slot = s;
}

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
    r.retired_owners.push_back(Retired{token, std::move(owner->second)});
    r.owners.erase(owner);
  }
  publish_locked(r, std::move(next));
}

bool registry_lookup(uintptr_t pc, jit::TrapSite* site, bool* has_site, uintptr_t* range_start) {
  *has_site = false;
  HazardSlot* slot = t_slot;
  if (slot == nullptr) return false;
  // Announce, then re-check that the announced snapshot is still the published one: once that
  // holds, a collector that unpublishes it later sees the announcement and keeps it. The
  // previous announcement is restored at the end, so a lookup interrupted by the fault handler
  // on the same thread (or the other way round) stays protected.
  const Snapshot* outer = slot->reading.load(std::memory_order_relaxed);
  const Snapshot* snap = g_snapshot.load(std::memory_order_seq_cst);
  for (;;) {
    slot->reading.store(snap, std::memory_order_seq_cst);
    const Snapshot* again = g_snapshot.load(std::memory_order_seq_cst);
    if (again == snap) break;
    snap = again;
  }
  bool found = false;
  if (snap) {
    // Binary search by hand: no allocation, no exceptions.
    size_t lo = 0, hi = snap->entries.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (snap->entries[mid].start <= pc) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && pc < snap->entries[lo - 1].end) {
      const Entry& cr = snap->entries[lo - 1];
      found = true;
      if (range_start) *range_start = cr.start;
      uint32_t off = static_cast<uint32_t>(pc - cr.start);
      size_t a = 0, b = cr.n_sites;
      while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (cr.sites[mid].pc_offset < off) a = mid + 1; else b = mid;
      }
      // Call sites (jit::kCallSiteCode) say where a call returns, not what a fault there means.
      if (a < cr.n_sites && cr.sites[a].pc_offset == off && cr.sites[a].trap_code != jit::kCallSiteCode) {
        *site = cr.sites[a];  // copied while protected
        *has_site = true;
      }
    }
  }
  slot->reading.store(outer, std::memory_order_seq_cst);
  return found;
}

void registry_collect() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  collect_locked(r);
}

size_t registry_retired() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.retired.size() + r.retired_owners.size();
}

size_t registry_size() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.current ? r.current->entries.size() : 0;
}

}  // namespace nvm::rt
