#include "arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "huge-pages.h"
#include "status.h"
#include "thread-pool.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and we touch instead
#endif

namespace ct {

namespace {

// Live arenas by start address. Weak: the registry never keeps an arena alive, and an arena
// whose last reference is going away is no longer found (lock() fails) even before its
// destructor has removed it.
struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, std::weak_ptr<Arena>> byStart;
  uint64_t bytes = 0;
  // Mappings of freed arenas kept for reuse, by length; at most reuseLimit bytes in all.
  std::multimap<uint64_t, uint8_t*> idle;
  uint64_t idleBytes = 0;
  uint64_t reuseLimit = 0;
  uint64_t reuses = 0;
};

Registry& Arenas() {
  // Never destroyed: an arena may be freed by a finalizer during process teardown.
  static Registry* registry = new Registry();
  return *registry;
}

uint64_t RoundUp(uint64_t value, uint64_t step) { return (value + step - 1) / step * step; }

// A kept mapping for `rounded` bytes at `align`: the smallest that is at most a quarter larger
// (a small request must not pin a large mapping), taken out of the idle set. Under the lock.
uint8_t* TakeIdle(Registry& registry, uint64_t rounded, uint64_t align, uint64_t* mapped) {
  for (auto it = registry.idle.lower_bound(rounded);
       it != registry.idle.end() && it->first - rounded <= rounded / 4; ++it) {
    if (reinterpret_cast<uintptr_t>(it->second) % align != 0) continue;
    uint8_t* mapping = it->second;
    *mapped = it->first;
    registry.idleBytes -= it->first;
    registry.idle.erase(it);
    return mapping;
  }
  return nullptr;
}

// Unmaps kept mappings, largest first, until at most `limit` bytes are kept. Under the lock.
void TrimIdle(Registry& registry, uint64_t limit) {
  while (registry.idleBytes > limit && !registry.idle.empty()) {
    auto last = std::prev(registry.idle.end());
    munmap(last->second, last->first);
    registry.idleBytes -= last->first;
    registry.idle.erase(last);
  }
}

// From this size on, a freed arena's mapping is unmapped by a short-lived thread of its own. The
// last reference to an arena is usually dropped by its ArrayBuffer's finalizer, on the JS thread,
// inside V8's weak callbacks: with the next load's allocation, which is what starts that GC in a
// server that keeps what it loads. munmap of a resident 1.19 GB arena takes ~3.5-5 ms (freeing 568
// huge pages), all of it serial before that load could start (issue 13). The registry entry is
// gone before the hand-off, and no new mapping can take these addresses until munmap returns.
constexpr uint64_t kUnmapAsideFrom = uint64_t{64} << 20;

void Unmap(uint8_t* mapping, uint64_t length) {
  if (length >= kUnmapAsideFrom) {
    try {
      std::thread([mapping, length] { munmap(mapping, length); }).detach();
      return;
    } catch (...) {
      // No thread to be had: unmap here.
    }
  }
  munmap(mapping, length);
}

}  // namespace

int64_t Arena::Create(uint64_t length, std::shared_ptr<Arena>* out, bool* recycled) {
  *recycled = false;
  if (length == 0 || length > (uint64_t{1} << 47)) return kInternal;
  // From 2 MiB on, at a huge-page boundary (over-map by one huge page and trim both ends): a huge
  // page costs one fault where 4 KiB pages cost 512. The mapping ends at the 4 KiB page that holds
  // the last byte, not at the next huge-page boundary: a partial last 2 MiB is then not wholly
  // inside the mapping, so the kernel backs it with 4 KiB pages and only those the arena uses
  // become resident (a huge page there pinned up to 2 MiB more than the arena's bytes: issue 13,
  // peak RSS, 1.1 MiB for the Qwen3 model).
  const bool huge = length >= kHugePage;
  const uint64_t align = huge ? kHugePage : 4096;
  const uint64_t rounded = RoundUp(length, 4096);
  Registry& registry = Arenas();
  uint8_t* data = nullptr;
  uint64_t mappingLength = rounded;
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    data = TakeIdle(registry, rounded, align, &mappingLength);
  }
  if (data != nullptr) {
    *recycled = true;
  } else {
    const uint64_t mapped = huge ? rounded + kHugePage : rounded;
    void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return errno == ENOMEM ? kInternal : -static_cast<int64_t>(errno);
    auto* base = static_cast<uint8_t*>(raw);
    auto start = (reinterpret_cast<uintptr_t>(base) + align - 1) & ~(align - 1);
    data = reinterpret_cast<uint8_t*>(start);
    const uint64_t head = static_cast<uint64_t>(data - base);
    if (head > 0) munmap(base, head);
    const uint64_t tail = mapped - head - rounded;
    if (tail > 0) munmap(data + rounded, tail);
    if (huge) (void)madvise(data, rounded, MADV_HUGEPAGE);
  }
  std::shared_ptr<Arena> arena;
  try {
    arena.reset(new Arena(data, mappingLength, data, length));
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.byStart[reinterpret_cast<uintptr_t>(data)] = arena;
    registry.bytes += mappingLength;
    if (*recycled) registry.reuses++;
  } catch (...) {
    if (!arena) munmap(data, mappingLength);
    return kInternal;
  }
  *out = std::move(arena);
  return kOk;
}

Arena::~Arena() {
  Registry& registry = Arenas();
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.byStart.erase(reinterpret_cast<uintptr_t>(data_));
    registry.bytes -= mappingLength_;
    // Kept for reuse while the limit allows (its bytes stay as they are: Create tells the next
    // owner), else unmapped once the entry is gone (no new mapping, so no new arena, can take
    // this address before munmap returns).
    if (registry.idleBytes + mappingLength_ <= registry.reuseLimit) {
      try {
        registry.idle.emplace(mappingLength_, mapping_);
        registry.idleBytes += mappingLength_;
        return;
      } catch (...) {
      }
    }
  }
  Unmap(mapping_, mappingLength_);
}

void Arena::SetReuseLimit(uint64_t bytes) {
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.reuseLimit = bytes;
  TrimIdle(registry, bytes);
}

uint64_t Arena::IdleBytes() {
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.idleBytes;
}

uint64_t Arena::ReuseCount() {
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.reuses;
}

std::shared_ptr<Arena> Arena::Find(const uint8_t* data, uint64_t length) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  if (data == nullptr || length > UINTPTR_MAX - begin) return nullptr;
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto after = registry.byStart.upper_bound(begin);
  if (after == registry.byStart.begin()) return nullptr;
  --after;
  std::shared_ptr<Arena> arena = after->second.lock();
  if (!arena) return nullptr;
  const auto arenaStart = reinterpret_cast<uintptr_t>(arena->data());
  if (begin < arenaStart || begin + length > arenaStart + arena->length()) return nullptr;
  return arena;
}

uint64_t Arena::LiveCount() {
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  uint64_t count = 0;
  for (const auto& entry : registry.byStart)
    if (!entry.second.expired()) count++;
  return count;
}

uint64_t Arena::LiveBytes() {
  Registry& registry = Arenas();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.bytes;
}

bool PopulateWholePages(uint8_t* data, uint64_t length) {
  static std::atomic<bool> works{true};
  const uintptr_t from = (reinterpret_cast<uintptr_t>(data) + 4095) & ~uintptr_t{4095};
  const uintptr_t to = (reinterpret_cast<uintptr_t>(data) + length) & ~uintptr_t{4095};
  if (to <= from || !works.load(std::memory_order_relaxed)) return false;
  if (madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE) == 0) return true;
  // Only this call's own failure says the kernel lacks it (errno is stale when madvise was not
  // called: a range inside one page would otherwise switch it off for the process).
  if (errno == EINVAL) works.store(false, std::memory_order_relaxed);
  return false;
}

bool PopulateHugePagesBegunIn(uint8_t* data, uint64_t length) {
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t from = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (from - start >= length) return false;
  return PopulateWholePages(reinterpret_cast<uint8_t*>(from), length - (from - start));
}

void PopulateForWrite(uint8_t* data, uint64_t length) {
  if (length == 0) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(kHugePage - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data) + length;
  const uint64_t steps = (end - begin + kHugePage - 1) / kHugePage;
  auto step = [&](uint64_t i) {
    // Clipped to [data, data + length): the pages around it may hold another plan's bytes.
    uintptr_t from = std::max<uintptr_t>(begin + i * kHugePage, reinterpret_cast<uintptr_t>(data));
    uintptr_t to = std::min<uintptr_t>(begin + (i + 1) * kHugePage, end);
    if (PopulateWholePages(reinterpret_cast<uint8_t*>(from), to - from)) return;
    // An atomic add of zero is a write access that changes nothing: it faults the page in for
    // writing (a read would map the shared zero page and fault again on the write) and keeps
    // bytes a remote source already received there (staged-file.ts, in-place chunks).
    for (uintptr_t page = from; page < to; page = (page & ~uintptr_t{4095}) + 4096) {
      __atomic_fetch_add(reinterpret_cast<uint8_t*>(page), uint8_t{0}, __ATOMIC_RELAXED);
    }
  };
  auto leave = [] {};
  unsigned helpers = length >= kParallelThreshold ? PoolWidth() - 1 : 0;
  ParallelFor(steps, helpers, step, leave);
}

void ZeroInParallel(uint8_t* data, uint64_t length) {
  const uint64_t steps = (length + kHugePage - 1) / kHugePage;
  auto step = [&](uint64_t i) {
    const uint64_t from = i * kHugePage;
    std::memset(data + from, 0, static_cast<size_t>(std::min(kHugePage, length - from)));
  };
  auto leave = [] {};
  unsigned helpers = length >= kParallelThreshold ? PoolWidth() - 1 : 0;
  ParallelFor(steps, helpers, step, leave);
}

}  // namespace ct
