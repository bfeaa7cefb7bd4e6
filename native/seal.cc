#include "seal.h"

#include <algorithm>
#include <atomic>

#include "cipher.h"
#include "huge-pages.h"
#include "status.h"
#include "thread-pool.h"

namespace ct {

int64_t SealChunks(AeadAlgorithm algorithm, const uint8_t* key, const uint8_t* baseIv,
                   uint64_t firstChunk, uint64_t chunkSize, const uint8_t* src, uint8_t* dst,
                   uint64_t length, uint8_t* tags) {
  if (chunkSize == 0) return kInternal;
  const uint64_t chunks = AeadChunkCount(length, chunkSize);
  if (!CounterFits(baseIv, firstChunk, chunks)) return kCounterOverflow;
  std::atomic<int64_t> failed{kOk};
  auto sealOne = [&](uint64_t i) {
    if (failed.load(std::memory_order_relaxed) != kOk) return;
    ThreadCipher& cipher = ThreadCipher::Current();
    uint64_t start = i * chunkSize;
    size_t size = static_cast<size_t>(std::min(chunkSize, length - std::min(length, start)));
    uint8_t iv[kIvLength];
    ChunkIv(baseIv, firstChunk + i, iv);
    int64_t status = cipher.Key(algorithm, key);
    if (status == kOk)
      status = cipher.Encrypt(iv, src + start, dst + start, size, tags + i * kTagLength);
    if (status != kOk) failed.store(status);
  };
  auto leave = [] { ThreadCipher::Current().Wipe(); };
  ParallelFor(chunks, length >= kParallelThreshold ? PoolWidth() - 1 : 0, sealOne, leave);
  return failed.load();
}

}  // namespace ct
