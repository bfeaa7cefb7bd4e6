#include "bench-copy.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cipher.h"
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

namespace {

// One thread's cache-resident message for AeadInCache: sealed on the thread's first message of
// a run (so its lines sit in that core's cache), freed when the thread leaves the run.
struct InCache {
  uint64_t run = 0;
  uint8_t* plain = nullptr;
  uint8_t* sealed = nullptr;
  uint8_t tag[kTagLength] = {};

  void Free() {
    std::free(plain);
    std::free(sealed);
    plain = sealed = nullptr;
    run = 0;
  }
  static InCache& Current() {
    static thread_local InCache buffers;
    return buffers;
  }
};

}  // namespace

int64_t AeadInCache(AeadAlgorithm algorithm, const uint8_t* key, uint64_t total, uint64_t message,
                    unsigned threads) {
  if (message == 0 || message > (uint64_t{16} << 20) || message % 64 != 0) return kInternal;
  static std::atomic<uint64_t> runs{0};
  const uint64_t run = runs.fetch_add(1) + 1;
  const uint64_t messages = std::max<uint64_t>(1, (total + message - 1) / message);
  const uint64_t parts = std::max<uint64_t>(1, std::min<uint64_t>(threads, PoolWidth()));
  const size_t size = static_cast<size_t>(message);
  const uint8_t iv[kIvLength] = {0xc7, 0x0f, 0x10, 0x02, 0x5e, 0xa1, 0x33, 0x9d, 0, 0, 0, 1};
  std::atomic<int64_t> failed{kOk};
  auto decryptOne = [&](uint64_t) {
    if (failed.load(std::memory_order_relaxed) != kOk) return;
    ThreadCipher& cipher = ThreadCipher::Current();
    InCache& own = InCache::Current();
    int64_t status = cipher.Key(algorithm, key);
    if (status == kOk && own.run != run) {
      own.Free();
      own.plain = static_cast<uint8_t*>(std::aligned_alloc(64, size));
      own.sealed = static_cast<uint8_t*>(std::aligned_alloc(64, size));
      if (own.plain == nullptr || own.sealed == nullptr) {
        status = kInternal;
      } else {
        for (size_t i = 0; i < size; i++) own.plain[i] = static_cast<uint8_t>(i * 131 + 7);
        status = cipher.Encrypt(iv, own.plain, own.sealed, size, own.tag);
        own.run = run;
      }
    }
    if (status == kOk) status = cipher.Decrypt(iv, own.sealed, own.plain, size, own.tag);
    if (status != kOk) failed.store(status);
  };
  auto leave = [] {
    ThreadCipher::Current().Wipe();
    InCache::Current().Free();
  };
  ParallelFor(messages, static_cast<unsigned>(parts - 1), decryptOne, leave);
  return failed.load();
}

}  // namespace ct
