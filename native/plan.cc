#include "plan.h"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "arena.h"
#include "cipher.h"
#include "huge-pages.h"
#include "mapped-file.h"
#include "status.h"
#include "thread-pool.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ct {

namespace {

// Plain ranges are cut into pieces of this size so that both threads copy.
constexpr uint64_t kReadPiece = uint64_t{2} << 20;

uint64_t UnitsOf(const PlanEntry& entry) {
  if (entry.decrypt || entry.seal) return AeadChunkCount(entry.length, entry.chunkSize);
  return (entry.length + kReadPiece - 1) / kReadPiece;
}

// The unit [start, start + length) of an entry: where its bytes go and what to do with them.
struct Unit {
  const PlanEntry* entry;
  uint64_t start;
  uint64_t length;
  const uint8_t* iv;   // decrypt and seal only
  const uint8_t* tag;  // decrypt only
  uint8_t* tagOut;     // seal only
};

// Decryption units up to this size are brought into the thread's private scratch buffer, verified
// there and only then copied to the destination. Larger ones (v1 tensors, unusually large chunks)
// land in the destination as ciphertext and are decrypted there once their tag has verified.
constexpr uint64_t kScratchMax = uint64_t{8} << 20;

// Memory only this thread touches while it runs a plan: ciphertext lands here once, and plaintext
// stays here until its tag has verified. Borrowed from a process-wide free list when the thread
// first needs it in a plan and given back (its used bytes wiped: they hold plaintext) when the
// thread leaves the plan, so that only the threads running plans at that moment hold one. Kept per
// thread instead, a buffer stayed resident on every libuv worker that ever ran a plan as well as
// on the pool's helpers (issue 13: 5 x 2 MiB on a full load with 2 pool threads, though at most 2
// are in use at once). Grown on demand up to kScratchMax; the free list keeps at most PoolWidth()
// buffers and frees the rest.
class Scratch {
 public:
  static Scratch& Current() {
    thread_local Scratch scratch;
    return scratch;
  }

  // A buffer of at least `length` (<= kScratchMax) bytes, or nullptr if it cannot be allocated.
  uint8_t* Get(size_t length) {
    if (length == 0) return empty_;
    if (data_ == nullptr) Borrow();
    if (length > capacity_) {
      Free();
      // Its own mapping, not malloc's: munmap gives the pages back at once (freed malloc memory
      // may stay resident in a thread's heap), which Release relies on.
      size_t capacity = (length + kReadPiece - 1) / kReadPiece * kReadPiece;
      void* memory =
          mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (memory == MAP_FAILED) return nullptr;
      data_ = static_cast<uint8_t*>(memory);
      capacity_ = capacity;
    }
    if (length > used_) used_ = length;
    return data_;
  }

  // Wipes the bytes used and gives the buffer back to the free list (the thread leaves a plan).
  void Wipe() {
    if (used_ > 0) OPENSSL_cleanse(data_, used_);
    used_ = 0;
    if (data_ == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(FreeList().mutex);
      if (FreeList().buffers.size() < PoolWidth()) {
        try {
          FreeList().buffers.push_back({data_, capacity_});
          data_ = nullptr;
          capacity_ = 0;
          return;
        } catch (...) {
        }
      }
    }
    Free();
  }

  // Wipes the bytes used and unmaps the buffer: for the last units of a load into fresh memory
  // (see TailOfFreshLoad), so that the scratch pages are gone before the destination's last pages
  // become resident.
  void Release() { Free(); }

  ~Scratch() { Wipe(); }

 private:
  struct Buffer {
    uint8_t* data;
    size_t capacity;
  };
  struct Buffers {
    std::mutex mutex;
    std::vector<Buffer> buffers;  // wiped, not in use
  };
  static Buffers& FreeList() {
    // Never destroyed: a thread may give its buffer back during process exit.
    static Buffers* buffers = new Buffers();
    return *buffers;
  }

  // Takes the largest free buffer (if any); Get() replaces it if it is still too small.
  void Borrow() {
    std::lock_guard<std::mutex> lock(FreeList().mutex);
    auto& buffers = FreeList().buffers;
    if (buffers.empty()) return;
    auto best =
        std::max_element(buffers.begin(), buffers.end(),
                         [](const Buffer& a, const Buffer& b) { return a.capacity < b.capacity; });
    data_ = best->data;
    capacity_ = best->capacity;
    buffers.erase(best);
  }

  void Free() {
    if (used_ > 0) OPENSSL_cleanse(data_, used_);
    used_ = 0;
    if (data_ != nullptr) munmap(data_, capacity_);
    data_ = nullptr;
    capacity_ = 0;
  }

  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint8_t empty_[1] = {0};  // for empty messages (their tag is still checked)
};

// Pieces in which ciphertext lands and is consumed at once, while it is in the L2 cache (1 MiB
// per core here). 256 KiB rather than 128: a landing by pread is one system call per piece, and
// halving their number (~4,500 instead of ~9,100 per 1.19 GB) lowered the median CPU time of the
// engine (one sealed stream into fresh memory) in each of three interleaved runs on a busy
// machine; 512 KiB was no better than 256 (issue 13).
constexpr size_t kLandPiece = size_t{256} << 10;

// The AEAD of a landed piece runs in steps of this many bytes, and after each step the same
// number of bytes of the next piece's source are prefetched: the memory system fetches them
// while the cipher computes, so that the next piece's copy reads them from the cache instead of
// stalling on DRAM (issue 13: the AEAD added its whole time to the memory time). ipsec-mb's direct
// calls cost little per call; OpenSSL's EVP calls cost more, so it gets longer steps.
constexpr size_t kPrefetchStepIpsec = size_t{4} << 10;
constexpr size_t kPrefetchStepEvp = size_t{32} << 10;
constexpr size_t kCacheLine = 64;

struct Feed {
  ThreadCipher* cipher;
  uint8_t* landed;  // where the current slice lands
  // The mapped bytes of the current slice (prefetched ahead of the copy), or nullptr (pread).
  const uint8_t* source = nullptr;
  size_t sourceLength = 0;
  size_t step = kLandPiece;  // see kPrefetchStepIpsec
};

// A prefetch is a hint: it never faults (the mapping may have shrunk meanwhile), loads no byte
// into our buffers, and the single fetch of every byte remains the guarded copy that follows.
void PrefetchRange(const uint8_t* from, size_t length) {
  for (size_t offset = 0; offset < length; offset += kCacheLine) __builtin_prefetch(from + offset);
}

// Consumers of landed pieces: the fused AEAD in place (prefetching the next piece's source as it
// goes), or the tag's hash alone.
int64_t DecryptPieceInPlace(void* arg, size_t pos, size_t n) {
  auto* feed = static_cast<Feed*>(arg);
  uint8_t* piece = feed->landed + pos;
  if (feed->source == nullptr) return feed->cipher->DecryptUpdate(piece, piece, n);
  const size_t next = pos + kLandPiece;
  for (size_t offset = 0; offset < n; offset += feed->step) {
    const size_t length = std::min(feed->step, n - offset);
    int64_t status = feed->cipher->DecryptUpdate(piece + offset, piece + offset, length);
    if (status != kOk) return status;
    const size_t ahead = next + offset;
    if (ahead < feed->sourceLength) {
      PrefetchRange(feed->source + ahead, std::min(feed->step, feed->sourceLength - ahead));
    }
  }
  return kOk;
}

int64_t AuthPiece(void* arg, size_t pos, size_t n) {
  auto* feed = static_cast<Feed*>(arg);
  return feed->cipher->AuthUpdate(feed->landed + pos, n);
}

// Lands [fileStart, fileStart + length) in `landed` (the only read of the file) in slices of
// kReadPiece, handing each kLandPiece piece to `consume` while it is still in the L2 cache.
int64_t Land(const MappedFile& file, uint64_t fileStart, uint64_t length, uint8_t* landed,
             MappedFile::Consumer consume, Feed* feed) {
  int64_t status = kOk;
  for (uint64_t pos = 0; status == kOk && pos < length; pos += kReadPiece) {
    size_t slice = static_cast<size_t>(std::min(kReadPiece, length - pos));
    feed->landed = landed + pos;
    feed->source = file.Mapped(fileStart + pos, slice);
    feed->sourceLength = slice;
    status = file.CopyOut(fileStart + pos, landed + pos, slice, kLandPiece, consume, feed);
  }
  return status;
}

// Produces [fileStart, fileStart + length) of the file into `out` through `transform` (the cipher
// reading straight from the file's mapping: MappedFile::TransformOut), in slices of kReadPiece.
int64_t TransformRange(const MappedFile& file, uint64_t fileStart, uint64_t length, uint8_t* out,
                       MappedFile::Transform transform, ThreadCipher* cipher) {
  int64_t status = kOk;
  for (uint64_t pos = 0; status == kOk && pos < length; pos += kReadPiece) {
    size_t slice = static_cast<size_t>(std::min(kReadPiece, length - pos));
    status = file.TransformOut(fileStart + pos, out + pos, slice, kLandPiece, transform, cipher);
  }
  return status;
}

size_t PrefetchStep(AeadAlgorithm algorithm) {
  const bool ipsec =
      ActiveAesEngine() == AesEngine::kIpsecMb && algorithm != AeadAlgorithm::kChaCha20Poly1305;
  return ipsec ? kPrefetchStepIpsec : kPrefetchStepEvp;
}

// Decrypting straight out of the file's mapping (issue 13): where the engine reads each
// ciphertext byte once (ThreadCipher::ReadsSourceOnce), the AEAD reads the unit's bytes from a
// mapping of the file and writes the plaintext to where the unit is being decrypted, in one pass
// over memory: no landing copy by the kernel first (a third of a warm load's CPU time went to that
// copy: a warm 1.19 GB readAll 241 -> 186 ms, a retained loadFile 388 -> 282 ms best, interleaved
// on the Zen 3 machine, 2026-12-02). The tag then covers exactly the bytes decrypted, whatever
// another process writes to the file meanwhile. Other engines, which may read a byte twice, land
// the ciphertext first. setMappedDecrypt(false) turns it off (the benchmarks compare both).
std::atomic<bool> mappedDecrypt{true};
std::atomic<uint64_t> mappedDecryptUnits{0};

int64_t DecryptPiece(void* arg, const uint8_t* src, uint8_t* dest, size_t n) {
  return static_cast<ThreadCipher*>(arg)->DecryptUpdate(src, dest, n);
}

// Decrypts the unit's ciphertext [fileStart, fileStart + length) into `out` (between the caller's
// DecryptBegin and DecryptFinish): out of the mapping where allowed (above), else landed in `out`
// and decrypted there piece by piece while each is in the L2 cache.
int64_t DecryptUnitInto(const MappedFile& file, ThreadCipher& cipher, const Unit& unit,
                        uint64_t fileStart, uint8_t* out) {
  const uint64_t length = unit.length;
  if (cipher.ReadsSourceOnce() && mappedDecrypt.load(std::memory_order_relaxed)) {
    mappedDecryptUnits.fetch_add(1, std::memory_order_relaxed);
    return TransformRange(file, fileStart, length, out, DecryptPiece, &cipher);
  }
  Feed feed{&cipher, out};
  feed.step = PrefetchStep(unit.entry->algorithm);
  return Land(file, fileStart, length, out, DecryptPieceInPlace, &feed);
}

// Copies verified plaintext from the scratch buffer (in the cache) to a caller's destination
// with non-temporal stores where the CPU has them: the destination's lines are written without
// being read from memory first (a plain copy reads every line before overwriting it), which is
// one pass over the destination's bytes fewer on the memory bus.
void CopyToCallerMemory(uint8_t* dest, const uint8_t* src, size_t length) {
  if (length == 0) return;  // an empty tensor's destination may be null
#if defined(__SSE2__)
  constexpr size_t kVector = 16;
  size_t head = (kVector - (reinterpret_cast<uintptr_t>(dest) & (kVector - 1))) & (kVector - 1);
  head = std::min(head, length);
  if (head > 0) std::memcpy(dest, src, head);
  size_t pos = head;
  for (; pos + 4 * kVector <= length; pos += 4 * kVector) {
    const auto* in = reinterpret_cast<const __m128i*>(src + pos);
    auto* out = reinterpret_cast<__m128i*>(dest + pos);
    __m128i a = _mm_loadu_si128(in);
    __m128i b = _mm_loadu_si128(in + 1);
    __m128i c = _mm_loadu_si128(in + 2);
    __m128i d = _mm_loadu_si128(in + 3);
    _mm_stream_si128(out, a);
    _mm_stream_si128(out + 1, b);
    _mm_stream_si128(out + 2, c);
    _mm_stream_si128(out + 3, d);
  }
  if (pos < length) std::memcpy(dest + pos, src + pos, length - pos);
  // Non-temporal stores are weakly ordered: make them visible before the unit reports done.
  _mm_sfence();
#else
  std::memcpy(dest, src, length);
#endif
}

// The pages of a private destination's unit are faulted in (arena.h PopulateHugePagesBegunIn) just
// before the unit writes them, rather than the whole destination before the plan (issue 13): the
// kernel's zeroing of a fresh page is then still in the cache when the copy overwrites it (one
// trip to memory instead of two), and no serial phase precedes the work. Where that fails, the
// unit's own writes fault the pages in.

// A destination nobody can observe before the plan completes (PlanEntry::destPrivate): the
// fused AEAD decrypts straight out of the mapping into it, or the ciphertext lands there and each
// piece is decrypted in place while it is hot (DecryptUnitInto). Plaintext of a message whose tag
// then fails never escapes: the failed plan wipes every destination before it reports.
int64_t DecryptInPrivateDestination(const MappedFile& file, ThreadCipher& cipher,
                                    uint64_t fileStart, const Unit& unit, uint8_t* dest) {
  int64_t status = cipher.DecryptBegin(unit.iv);
  if (status == kOk) status = DecryptUnitInto(file, cipher, unit, fileStart, dest);
  if (status == kOk) status = cipher.DecryptFinish(unit.tag);
  return status;
}

// A destination the caller can observe, unit small enough for the scratch buffer (a v2 chunk):
// the fused AEAD decrypts into scratch, out of the mapping or from ciphertext landed there (the
// only read of the file either way: DecryptUnitInto), piece by piece; only once the tag has
// verified is the plaintext copied to the destination. The destination receives nothing but
// verified plaintext, whatever another process writes to the file meanwhile, and the AEAD runs
// once, stitched (a separate hash pass and keystream pass cost ~1.4x as much compute).
int64_t DecryptInScratchThenCopy(const MappedFile& file, ThreadCipher& cipher, uint64_t fileStart,
                                 const Unit& unit, uint8_t* dest) {
  const size_t length = static_cast<size_t>(unit.length);
  uint8_t* scratch = Scratch::Current().Get(length);
  if (scratch == nullptr) return kInternal;
  int64_t status = cipher.DecryptBegin(unit.iv);
  if (status == kOk) status = DecryptUnitInto(file, cipher, unit, fileStart, scratch);
  if (status == kOk) status = cipher.DecryptFinish(unit.tag);
  if (status == kOk) CopyToCallerMemory(dest, scratch, length);
  return status;
}

// A destination the caller can observe, unit larger than the scratch buffer (a v1 tensor of
// hundreds of MiB is one AEAD message): the ciphertext lands in the destination (the only read
// of the file) and the tag is checked over each piece as it lands (hash alone); the keystream
// is then applied in place. The destination holds ciphertext, never unverified plaintext. (Only
// the caller, writing into its own destination while the read is in flight, could change bytes
// between the passes; it then gets the keystream applied to what it wrote, nothing from the
// file that failed authentication.)
// Lands the unit's ciphertext in `dest` and checks its tag over the landed bytes (hash alone,
// piece by piece while in the cache): the first pass of both verify-in-destination paths.
int64_t LandAndVerify(const MappedFile& file, ThreadCipher& cipher, uint64_t fileStart,
                      const Unit& unit, uint8_t* dest) {
  int64_t status = cipher.AuthBegin(unit.iv);
  Feed feed{&cipher, dest};
  if (status == kOk) status = Land(file, fileStart, unit.length, dest, AuthPiece, &feed);
  if (status == kOk) status = cipher.AuthFinish(unit.tag);
  return status;
}

int64_t VerifyInDestinationThenDecrypt(const MappedFile& file, ThreadCipher& cipher,
                                       uint64_t fileStart, const Unit& unit, uint8_t* dest) {
  int64_t status = LandAndVerify(file, cipher, fileStart, unit, dest);
  if (status == kOk) status = cipher.StreamBegin(unit.iv);
  if (status == kOk) status = cipher.StreamUpdate(dest, dest, static_cast<size_t>(unit.length));
  return status;
}

// A unit that would go through the scratch buffer, among the last ones of a load into fresh
// memory (TailOfFreshLoad): the thread's scratch buffer is unmapped first, and the ciphertext
// lands in the destination, its tag is verified over the landed bytes (hash alone, piece by piece
// while in the cache), and only then is it decrypted in place by the fused AEAD (its own tag
// computed again and ignored: a GCM context gives the keystream without an ipsec-mb job manager,
// which would cost a few hundred KiB per thread). The destination never holds unverified
// plaintext, as in VerifyInDestinationThenDecrypt; it costs about one hash pass more than the
// scratch path, on a few MiB per load.
std::atomic<uint64_t> scratchlessTailUnits{0};

int64_t VerifyInDestinationThenDecryptFused(const MappedFile& file, ThreadCipher& cipher,
                                            uint64_t fileStart, const Unit& unit, uint8_t* dest) {
  Scratch::Current().Release();
  scratchlessTailUnits.fetch_add(1, std::memory_order_relaxed);
  int64_t status = LandAndVerify(file, cipher, fileStart, unit, dest);
  if (status == kOk) status = cipher.DecryptBegin(unit.iv);
  if (status == kOk) status = cipher.DecryptUpdate(dest, dest, static_cast<size_t>(unit.length));
  return status;
}

// The first unit index of a plan's tail in which scratch-path units release the scratch buffer
// (VerifyInDestinationThenDecryptFused), or `units` for none. Only a plan that writes the end of
// its arena (the last batch of a load) while the arena's last page is not resident yet (fresh
// memory, not a warm arena being reloaded) has such a tail: the scratch buffers (2 MiB per
// thread) are then gone before the last MiBs of the destination become resident, so that a load
// into fresh memory never holds both (issue 13, peak RSS = model + what the load adds). The tail
// covers, from the end, the scratch of every thread and a huge page more; the rest of the plan,
// and every reload of a warm arena, keeps the scratch path (one fused AEAD pass).
uint64_t TailOfFreshLoad(const PlanEntry* entries, size_t count, uint64_t units) {
  if (count == 0 || units == 0) return units;
  const PlanEntry& last = entries[count - 1];
  if (last.length == 0 || last.dest == nullptr) return units;
  std::shared_ptr<Arena> arena = Arena::Find(last.dest, last.length);
  if (!arena) return units;
  const uint8_t* end = last.dest + last.length;
  if (arena->data() + arena->length() - end >= static_cast<std::ptrdiff_t>(kHugePage)) {
    return units;
  }
  const uintptr_t page = (reinterpret_cast<uintptr_t>(end) - 1) & ~uintptr_t{4095};
  unsigned char resident = 0;
  if (mincore(reinterpret_cast<void*>(page), 4096, &resident) != 0 || (resident & 1) != 0) {
    return units;
  }
  // The largest scratch buffer a unit of this plan takes (0: no unit goes through scratch).
  uint64_t scratch = 0;
  for (size_t i = 0; i < count; i++) {
    const PlanEntry& entry = entries[i];
    if (!entry.decrypt || entry.destPrivate) continue;
    const uint64_t message =
        entry.chunkSize == 0 ? entry.length : std::min(entry.chunkSize, entry.length);
    if (message <= kScratchMax) {
      scratch = std::max(scratch, (message + kReadPiece - 1) / kReadPiece * kReadPiece);
    }
  }
  if (scratch == 0) return units;
  uint64_t need = PoolWidth() * scratch + kHugePage;
  uint64_t tail = 0;
  for (size_t i = count; i-- > 0 && need > 0;) {
    const PlanEntry& entry = entries[i];
    const uint64_t entryUnits = UnitsOf(entry);
    if (entry.length <= need) {
      tail += entryUnits;
      need -= entry.length;
      continue;
    }
    const uint64_t unitBytes = entry.decrypt || entry.seal
                                   ? (entry.chunkSize == 0 ? entry.length : entry.chunkSize)
                                   : kReadPiece;
    tail += std::min(entryUnits, (need + unitBytes - 1) / unitBytes);
    need = 0;
  }
  return tail >= units ? 0 : units - tail;
}

int64_t EncryptPiece(void* arg, const uint8_t* src, uint8_t* dest, size_t n) {
  return static_cast<ThreadCipher*>(arg)->EncryptUpdate(src, dest, n);
}

// A chunk of a seal entry: encrypted straight from the file's mapping into the destination, piece
// by piece (the cipher's read is the only read of the file). The plaintext is never copied first:
// a copy then an in-place seal cost a memcpy's CPU on top of the cipher's (1.19 GB of copying
// per converted Qwen3-shaped model, issue 13), beside writes that slow when the CPU is busy. Where
// the file is not mapped, each piece is read into the destination and sealed there in place.
int64_t SealUnit(const MappedFile& file, ThreadCipher& cipher, uint64_t fileStart, const Unit& unit,
                 uint8_t* dest) {
  int64_t status = cipher.EncryptBegin(unit.iv);
  if (status == kOk)
    status = TransformRange(file, fileStart, unit.length, dest, EncryptPiece, &cipher);
  if (status == kOk) status = cipher.EncryptFinish(unit.tagOut);
  return status;
}

int64_t RunUnit(const MappedFile& file, const Unit& unit, bool tail) {
  const PlanEntry& entry = *unit.entry;
  const uint64_t fileStart = entry.fileOffset + unit.start;
  uint8_t* dest = entry.dest + unit.start;
  if (entry.destPrivate) (void)PopulateHugePagesBegunIn(dest, unit.length);
  if (entry.seal) {
    ThreadCipher& cipher = ThreadCipher::Current();
    if (cipher.Key(entry.algorithm, entry.key) != kOk) return kInternal;
    return SealUnit(file, cipher, fileStart, unit, dest);
  }
  if (!entry.decrypt) return file.CopyOut(fileStart, dest, static_cast<size_t>(unit.length));

  ThreadCipher& cipher = ThreadCipher::Current();
  if (cipher.Key(entry.algorithm, entry.key) != kOk) return kInternal;
  int64_t status;
  if (entry.destPrivate) {
    status = DecryptInPrivateDestination(file, cipher, fileStart, unit, dest);
  } else if (unit.length <= kScratchMax && tail) {
    status = VerifyInDestinationThenDecryptFused(file, cipher, fileStart, unit, dest);
  } else if (unit.length <= kScratchMax) {
    status = DecryptInScratchThenCopy(file, cipher, fileStart, unit, dest);
  } else {
    status = VerifyInDestinationThenDecrypt(file, cipher, fileStart, unit, dest);
  }
  // A tag that fails on a file that shrank meanwhile is reported as the truncation it is.
  if (status == kDecryptFailed && !file.StillCovers(fileStart + unit.length)) return kTruncated;
  return status;
}

}  // namespace

unsigned PlanThreadCount() { return PoolWidth(); }

uint64_t ScratchlessTailUnits() { return scratchlessTailUnits.load(std::memory_order_relaxed); }

void SetMappedDecrypt(bool on) { mappedDecrypt.store(on, std::memory_order_relaxed); }

bool MappedDecryptEnabled() { return mappedDecrypt.load(std::memory_order_relaxed); }

uint64_t MappedDecryptUnits() { return mappedDecryptUnits.load(std::memory_order_relaxed); }

PlanResult RunPlan(const MappedFile& file, const PlanEntry* entries, size_t count) {
  // unitEnd[i]: units of entries [0, i]; a unit index finds its entry by binary search.
  std::vector<uint64_t> unitEnd;
  uint64_t units = 0;
  uint64_t bytes = 0;
  try {
    unitEnd.reserve(count);
    for (size_t i = 0; i < count; i++) {
      const PlanEntry& entry = entries[i];
      if (entry.seal && entry.chunkSize == 0) return PlanResult{kInternal, static_cast<int64_t>(i)};
      if (entry.decrypt || entry.seal) {
        // One message: the whole range for v1, a chunk for v2. Enforced here too (the reader
        // refuses such files at open) so that both AES engines behave the same on any input.
        uint64_t message =
            entry.chunkSize == 0 ? entry.length : std::min(entry.chunkSize, entry.length);
        if (message > AeadMaxMessage(entry.algorithm)) {
          return PlanResult{kMessageTooLong, static_cast<int64_t>(i)};
        }
      }
      if ((entry.decrypt || entry.seal) && entry.chunkSize != 0) {
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

  const uint64_t tailFrom = TailOfFreshLoad(entries, count, units);

  std::atomic<bool> abort{false};
  std::atomic<int64_t> failedEntry{-1};
  std::atomic<int64_t> failedStatus{kOk};
  auto runUnit = [&](uint64_t index) {
    if (abort.load(std::memory_order_relaxed)) return;
    size_t e = static_cast<size_t>(std::upper_bound(unitEnd.begin(), unitEnd.end(), index) -
                                   unitEnd.begin());
    const PlanEntry& entry = entries[e];
    uint64_t local = index - (e == 0 ? 0 : unitEnd[e - 1]);
    Unit unit{&entry, 0, entry.length, nullptr, nullptr, nullptr};
    uint8_t iv[kIvLength];
    if (!entry.decrypt && !entry.seal) {
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
      if (entry.seal) {
        unit.tagOut = entry.tagsOut + local * kTagLength;
      } else {
        unit.tag = entry.tags + local * kTagLength;
      }
    }
    int64_t status = kInternal;
    try {
      status = RunUnit(file, unit, index >= tailFrom);
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
  // After a load into fresh memory, a thread that ran no unit of the tail (the others took them
  // all) unmaps its scratch buffer too rather than keeping it for the next plan: it leaves while
  // the tail's last units are still landing, so the buffer is gone before the load's peak.
  const bool freshTail = tailFrom < units;
  auto leave = [freshTail] {
    ThreadCipher::Current().Wipe();
    if (freshTail) {
      Scratch::Current().Release();
    } else {
      Scratch::Current().Wipe();
    }
  };
  unsigned helpers = bytes >= kParallelThreshold ? PoolWidth() - 1 : 0;
  ParallelFor(units, helpers, runUnit, leave);

  int64_t status = failedStatus.load();
  if (status != kOk) {
    // Never leave partial plaintext (or ciphertext posing as plaintext) in a caller's buffer.
    for (size_t i = 0; i < count; i++) {
      if ((entries[i].decrypt || entries[i].seal) && entries[i].length > 0) {
        OPENSSL_cleanse(entries[i].dest, static_cast<size_t>(entries[i].length));
      }
    }
    return PlanResult{status, failedEntry.load()};
  }
  return PlanResult{kOk, -1};
}

}  // namespace ct
