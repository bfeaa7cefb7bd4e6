#include "bench-copy.h"

#include <algorithm>
#include <cstring>

#include "huge-pages.h"
#include "status.h"
#include "thread-pool.h"

namespace ct {

int64_t ParallelCopy(uint8_t* dst, const uint8_t* src, uint64_t length, unsigned threads) {
  AdviseHugePages(dst, length);  // as RunPlan does, so that fresh-buffer baselines compare fairly
  // One contiguous share per thread: a single large memcpy lets glibc switch to non-temporal
  // stores, the fastest copy this machine can do, which is what a bandwidth baseline must be.
  const uint64_t parts = std::max<uint64_t>(1, std::min<uint64_t>(threads, PoolWidth()));
  auto copyOne = [&](uint64_t i) {
    uint64_t start = length * i / parts;
    uint64_t end = length * (i + 1) / parts;
    std::memcpy(dst + start, src + start, static_cast<size_t>(end - start));
  };
  ParallelFor(parts, static_cast<unsigned>(parts - 1), copyOne, [] {});
  return kOk;
}

}  // namespace ct
