// Transparent huge pages for large destinations, and the size from which work is worth handing to
// the pool. Shared by plans and the benchmark copy so that their figures compare fairly.
#ifndef CRYPTOTENSORS_HUGE_PAGES_H_
#define CRYPTOTENSORS_HUGE_PAGES_H_

#include <sys/mman.h>

#include <cstdint>

namespace ct {

// Work smaller than this stays on the calling thread: a hand-off costs more than it saves.
constexpr uint64_t kParallelThreshold = uint64_t{1} << 20;

// Destinations from this size on are asked for transparent huge pages: a fresh 4 KiB page costs a
// fault (~1.5 us) per 4 KiB written, which caps any load at ~3 GB/s; a 2 MiB page costs one.
constexpr uint64_t kHugePageThreshold = uint64_t{4} << 20;
constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

inline void AdviseHugePages(uint8_t* dest, uint64_t length) {
  if (length < kHugePageThreshold) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(dest) + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(dest) + length) & ~(kHugePage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace ct

#endif  // CRYPTOTENSORS_HUGE_PAGES_H_
