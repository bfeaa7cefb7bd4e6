#include "seal.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "cipher.h"
#include "huge-pages.h"
#include "status.h"
#include "thread-pool.h"

namespace ct {

int64_t SealSegments(AeadAlgorithm algorithm, uint64_t chunkSize, const SealSegment* segments,
                     size_t count) {
  if (chunkSize == 0) return kInternal;
  // ends[s]: chunks of segments 0..s together; the pool hands out chunk indices over all of them.
  std::vector<uint64_t> ends(count);
  uint64_t chunks = 0, bytes = 0;
  for (size_t s = 0; s < count; s++) {
    const SealSegment& segment = segments[s];
    uint64_t own = AeadChunkCount(segment.length, chunkSize);
    if (!CounterFits(segment.baseIv, segment.firstChunk, own)) return kCounterOverflow;
    chunks += own;
    bytes += segment.length;
    ends[s] = chunks;
  }
  std::atomic<int64_t> failed{kOk};
  auto sealOne = [&](uint64_t i) {
    if (failed.load(std::memory_order_relaxed) != kOk) return;
    size_t s = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), i) - ends.begin());
    const SealSegment& segment = segments[s];
    uint64_t local = i - (s == 0 ? 0 : ends[s - 1]);
    uint64_t start = local * chunkSize;
    size_t size =
        static_cast<size_t>(std::min(chunkSize, segment.length - std::min(segment.length, start)));
    uint8_t iv[kIvLength];
    ChunkIv(segment.baseIv, segment.firstChunk + local, iv);
    // The key schedule is kept while consecutive chunks share a key (cipher.h).
    ThreadCipher& cipher = ThreadCipher::Current();
    int64_t status = cipher.Key(algorithm, segment.key);
    if (status == kOk)
      status = cipher.Encrypt(iv, segment.src + start, segment.dst + start, size,
                              segment.tags + local * kTagLength);
    if (status != kOk) failed.store(status);
  };
  auto leave = [] { ThreadCipher::Current().Wipe(); };
  ParallelFor(chunks, bytes >= kParallelThreshold ? PoolWidth() - 1 : 0, sealOne, leave);
  return failed.load();
}

int64_t SealChunks(AeadAlgorithm algorithm, const uint8_t* key, const uint8_t* baseIv,
                   uint64_t firstChunk, uint64_t chunkSize, const uint8_t* src, uint8_t* dst,
                   uint64_t length, uint8_t* tags) {
  SealSegment one{key, baseIv, firstChunk, src, dst, length, tags};
  return SealSegments(algorithm, chunkSize, &one, 1);
}

}  // namespace ct
