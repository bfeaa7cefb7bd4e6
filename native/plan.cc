#include "plan.h"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <vector>

#include "cipher.h"
#include "huge-pages.h"
#include "mapped-file.h"
#include "sigbus-guard.h"
#include "status.h"
#include "thread-pool.h"

namespace ct {

namespace {

// Plain ranges are cut into pieces of this size so that both threads copy.
constexpr uint64_t kReadPiece = uint64_t{2} << 20;

uint64_t UnitsOf(const PlanEntry& entry) {
  if (entry.decrypt) return AeadChunkCount(entry.length, entry.chunkSize);
  return (entry.length + kReadPiece - 1) / kReadPiece;
}

// The unit [start, start + length) of an entry: where its bytes go and what to do with them.
struct Unit {
  const PlanEntry* entry;
  uint64_t start;
  uint64_t length;
  const uint8_t* iv;   // decrypt only
  const uint8_t* tag;  // decrypt only
};

// One slice of a decryption, run under the SIGBUS guard.
struct GuardedUpdate {
  ThreadCipher* cipher;
  const uint8_t* src;
  uint8_t* dst;
  size_t length;
  int64_t status;
};

void UpdateThunk(void* arg) {
  auto* job = static_cast<GuardedUpdate*>(arg);
  job->status = job->cipher->DecryptUpdate(job->src, job->dst, job->length);
}

struct GuardedCopy {
  const uint8_t* src;
  uint8_t* dest;
  size_t length;
};

void CopyThunk(void* arg) {
  auto* job = static_cast<GuardedCopy*>(arg);
  std::memcpy(job->dest, job->src, job->length);
}

// Drops the page-table entries of a mapped range once it has been consumed. The pages stay in the
// page cache (a later access refaults them cheaply), but they no longer count in the process's
// resident set: without this a full load would show the model twice in RSS (the caller's copy and
// the mapped file), though only once in memory.
void ReleaseMapped(const uint8_t* mapped, uint64_t length) {
  constexpr uintptr_t kPage = 4096;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(mapped) + kPage - 1) & ~(kPage - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(mapped) + length) & ~(kPage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// Maps the page-table entries of a range about to be read in one call (MADV_POPULATE_READ,
// Linux 5.14+): cheaper than the ~32 fault-around faults a 2 MiB unit would otherwise take, which
// matters because ReleaseMapped drops them again after every unit. Errors (older kernels, or a
// range past a truncated end) are ignored: the access itself is guarded.
void PopulateMapped(const uint8_t* mapped, uint64_t length) {
#ifdef MADV_POPULATE_READ
  constexpr uintptr_t kPage = 4096;
  uintptr_t begin = reinterpret_cast<uintptr_t>(mapped) & ~(kPage - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(mapped) + length;
  if (length > 0) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)mapped;
  (void)length;
#endif
}

// A file shorter now than `end` was truncated under us (zero-filled tail pages of a mapping do
// not fault, so this is checked after the access as well as before it).
bool StillCovers(const MappedFile& file, uint64_t end) {
  uint64_t now = 0;
  return file.CurrentSize(&now) && now >= end;
}

int64_t RunUnit(const MappedFile& file, const Unit& unit) {
  const PlanEntry& entry = *unit.entry;
  const uint64_t fileStart = entry.fileOffset + unit.start;
  const uint64_t fileEnd = fileStart + unit.length;
  uint8_t* dest = entry.dest + unit.start;
  const uint8_t* mapped = file.Mapped(fileStart, unit.length);

  if (!entry.decrypt) {
    if (mapped == nullptr) return file.ReadExact(fileStart, dest, static_cast<size_t>(unit.length));
    if (!StillCovers(file, fileEnd)) return kTruncated;
    PopulateMapped(mapped, unit.length);
    GuardedCopy copy{mapped, dest, static_cast<size_t>(unit.length)};
    if (!RunGuarded(mapped, unit.length, CopyThunk, &copy)) return kTruncated;
    ReleaseMapped(mapped, unit.length);
    return StillCovers(file, fileEnd) ? kOk : kTruncated;
  }

  ThreadCipher& cipher = ThreadCipher::Current();
  if (cipher.Key(entry.algorithm, entry.key) != kOk) return kInternal;
  if (mapped == nullptr) {
    // pread into the destination, then decrypt in place.
    int64_t status = file.ReadExact(fileStart, dest, static_cast<size_t>(unit.length));
    if (status != kOk) return status;
    return cipher.Decrypt(unit.iv, dest, dest, static_cast<size_t>(unit.length), unit.tag);
  }
  if (unit.length > 0 && !StillCovers(file, fileEnd)) return kTruncated;
  // Slices of at most kReadPiece: a whole v1 tensor (one AEAD, possibly hundreds of MiB) then
  // never has more than one slice of the mapping resident at a time.
  int64_t status = cipher.DecryptBegin(unit.iv);
  for (uint64_t pos = 0; status == kOk && pos < unit.length; pos += kReadPiece) {
    size_t slice = static_cast<size_t>(std::min(kReadPiece, unit.length - pos));
    PopulateMapped(mapped + pos, slice);
    GuardedUpdate job{&cipher, mapped + pos, dest + pos, slice, kInternal};
    if (!RunGuarded(mapped + pos, slice, UpdateThunk, &job)) return kTruncated;
    ReleaseMapped(mapped + pos, slice);
    status = job.status;
  }
  if (status == kOk) status = cipher.DecryptFinish(unit.tag);
  if (status == kDecryptFailed && !StillCovers(file, fileEnd)) return kTruncated;
  return status;
}

}  // namespace

unsigned PlanThreadCount() { return PoolWidth(); }

PlanResult RunPlan(const MappedFile& file, const PlanEntry* entries, size_t count) {
  // unitEnd[i]: units of entries [0, i]; a unit index finds its entry by binary search.
  std::vector<uint64_t> unitEnd;
  uint64_t units = 0;
  uint64_t bytes = 0;
  try {
    unitEnd.reserve(count);
    for (size_t i = 0; i < count; i++) {
      const PlanEntry& entry = entries[i];
      if (entry.decrypt && entry.chunkSize != 0) {
        uint64_t chunks = AeadChunkCount(entry.length, entry.chunkSize);
        if (!CounterFits(entry.baseIv, entry.firstChunk, chunks)) {
          return PlanResult{kCounterOverflow, static_cast<int64_t>(i)};
        }
      }
      units += UnitsOf(entry);
      bytes += entry.length;
      unitEnd.push_back(units);
      AdviseHugePages(entry.dest, entry.length);
    }
  } catch (...) {
    return PlanResult{kInternal, -1};
  }

  std::atomic<bool> abort{false};
  std::atomic<int64_t> failedEntry{-1};
  std::atomic<int64_t> failedStatus{kOk};
  auto runUnit = [&](uint64_t index) {
    if (abort.load(std::memory_order_relaxed)) return;
    size_t e = static_cast<size_t>(std::upper_bound(unitEnd.begin(), unitEnd.end(), index) -
                                   unitEnd.begin());
    const PlanEntry& entry = entries[e];
    uint64_t local = index - (e == 0 ? 0 : unitEnd[e - 1]);
    Unit unit{&entry, 0, entry.length, nullptr, nullptr};
    uint8_t iv[kIvLength];
    if (!entry.decrypt) {
      unit.start = local * kReadPiece;
      unit.length = std::min(kReadPiece, entry.length - unit.start);
    } else if (entry.chunkSize == 0) {
      unit.iv = entry.baseIv;
      unit.tag = entry.tags;
    } else {
      unit.start = local * entry.chunkSize;
      unit.length = std::min(entry.chunkSize, entry.length - unit.start);
      ChunkIv(entry.baseIv, entry.firstChunk + local, iv);
      unit.iv = iv;
      unit.tag = entry.tags + local * kTagLength;
    }
    int64_t status = kInternal;
    try {
      status = RunUnit(file, unit);
    } catch (...) {
    }
    if (status != kOk) {
      abort.store(true, std::memory_order_relaxed);
      int64_t expected = -1;
      if (failedEntry.compare_exchange_strong(expected, static_cast<int64_t>(e))) {
        failedStatus.store(status);
      }
    }
  };
  auto leave = [] { ThreadCipher::Current().Wipe(); };
  unsigned helpers = bytes >= kParallelThreshold ? PoolWidth() - 1 : 0;
  ParallelFor(units, helpers, runUnit, leave);

  int64_t status = failedStatus.load();
  if (status != kOk) {
    // Never leave partial plaintext (or ciphertext posing as plaintext) in a caller's buffer.
    for (size_t i = 0; i < count; i++) {
      if (entries[i].decrypt && entries[i].length > 0) {
        OPENSSL_cleanse(entries[i].dest, static_cast<size_t>(entries[i].length));
      }
    }
    return PlanResult{status, failedEntry.load()};
  }
  return PlanResult{kOk, -1};
}

}  // namespace ct
