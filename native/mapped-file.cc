#include "mapped-file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "huge-pages.h"
#include "sigbus-guard.h"
#include "status.h"

namespace ct {

namespace {
// Linux transfers at most 0x7ffff000 bytes per read call; stay well below it.
constexpr size_t kMaxReadPerCall = size_t{1} << 30;
constexpr uintptr_t kPage = 4096;

// Drops the page-table entries of a mapped range once it has been consumed. The pages stay in the
// page cache (a later access refaults them cheaply), but they no longer count in the process's
// resident set: without this a full load would show the model twice in RSS (the caller's copy and
// the mapped file), though only once in memory.
void ReleaseMapped(const uint8_t* mapped, uint64_t length) {
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
  uintptr_t begin = reinterpret_cast<uintptr_t>(mapped) & ~(kPage - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(mapped) + length;
  if (length > 0) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)mapped;
  (void)length;
#endif
}

struct GuardedTransform {
  MappedFile::Transform transform;
  void* arg;
  const uint8_t* src;
  uint8_t* dest;
  size_t length;
  int64_t status;
};

void TransformThunk(void* arg) {
  auto* job = static_cast<GuardedTransform*>(arg);
  job->status = job->transform(job->arg, job->src, job->dest, job->length);
}

// CopyOut as a transform: the copy (none when the piece was read into place), then the consumer.
struct CopyThenConsume {
  uint8_t* dest;
  MappedFile::Consumer consume;
  void* arg;
};

int64_t CopyPiece(void* arg, const uint8_t* src, uint8_t* dest, size_t n) {
  auto* job = static_cast<CopyThenConsume*>(arg);
  if (src != dest) std::memcpy(dest, src, n);
  if (job->consume == nullptr) return kOk;
  return job->consume(job->arg, static_cast<size_t>(dest - job->dest), n);
}
}  // namespace

int64_t MappedFile::Open(const std::string& path, std::shared_ptr<MappedFile>* out) {
  // O_NONBLOCK so that opening a FIFO cannot park a thread-pool thread forever; it has no effect
  // on regular files, which are all we accept.
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;

  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return kNotRegularFile;
  }
  // Tensor reads are large and mostly sequential; a hint only, failures are irrelevant.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint8_t* map = nullptr;
  // pread by default: it lands bytes faster than a mapping here (no page-table entries to
  // populate and drop per unit, no TLB shootdowns) and maps no file page into the resident set.
  const char* mapEnv = std::getenv("CRYPTOTENSORS_MMAP");
  bool wantMap = size > 0 && size <= SIZE_MAX && mapEnv != nullptr && std::strcmp(mapEnv, "1") == 0;
  if (wantMap && InstallSigbusGuard()) {
    void* address = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (address != MAP_FAILED) {
      map = static_cast<const uint8_t*>(address);
    }
  }
  try {
    *out = std::make_shared<MappedFile>(fd, size, map);
  } catch (...) {
    if (map != nullptr) ::munmap(const_cast<uint8_t*>(map), static_cast<size_t>(size));
    ::close(fd);
    return kInternal;
  }
  return kOk;
}

int64_t MappedFile::OpenMemory(uint64_t size, std::shared_ptr<MappedFile>* out, uint8_t** memory) {
  *memory = nullptr;
  if (size > SIZE_MAX - kPage) return kInternal;
  uint8_t* base = nullptr;
  size_t length = 0;
  if (size > 0) {
    length = (static_cast<size_t>(size) + kPage - 1) & ~static_cast<size_t>(kPage - 1);
    // Only the pages written are ever backed: a 1% slice of a large file touches 1% of it.
    void* address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (address == MAP_FAILED) return -errno;
    base = static_cast<uint8_t*>(address);
    // Received bytes are written by the JS thread as they arrive: one fault per 2 MiB, not 512.
    AdviseHugePages(base, length);
  }
  try {
    auto file = std::make_shared<MappedFile>(-1, size, base);
    file->memory_ = true;
    file->mappedLength_ = length;
    *out = std::move(file);
  } catch (...) {
    if (base != nullptr) ::munmap(base, length);
    return kInternal;
  }
  *memory = base;
  return kOk;
}

int64_t MappedFile::OpenBorrowed(uint8_t* base, uint64_t size, std::shared_ptr<void> owner,
                                 std::shared_ptr<MappedFile>* out) {
  if (size > 0 && (base == nullptr || !owner)) return kInternal;
  try {
    auto file = std::make_shared<MappedFile>(-1, size, size > 0 ? base : nullptr);
    file->memory_ = true;
    file->owner_ = std::move(owner);
    *out = std::move(file);
  } catch (...) {
    return kInternal;
  }
  return kOk;
}

MappedFile::~MappedFile() {
  Close();
  if (memory_ && !owner_ && map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), mappedLength_);
}

int64_t MappedFile::ReadExact(uint64_t offset, uint8_t* dest, size_t length) const {
  if (memory_) {
    if (closed_) return kClosed;
    if (offset > size_ || length > size_ - offset) return kTruncated;
    if (length > 0) std::memcpy(dest, map_ + offset, length);
    return kOk;
  }
  if (fd_ < 0) return kClosed;
  size_t done = 0;
  while (done < length) {
    size_t want = length - done;
    if (want > kMaxReadPerCall) want = kMaxReadPerCall;
    uint64_t pos = offset + done;
    if (pos > static_cast<uint64_t>(LLONG_MAX)) return kTruncated;
    ssize_t got = ::pread(fd_, dest + done, want, static_cast<off_t>(pos));
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (got == 0) return kTruncated;
    done += static_cast<size_t>(got);
  }
  return kOk;
}

int64_t MappedFile::CopyOut(uint64_t offset, uint8_t* dest, size_t length, size_t piece,
                            Consumer consume, void* arg) const {
  CopyThenConsume job{dest, consume, arg};
  return TransformPieces(map_, offset, dest, length, piece, CopyPiece, &job);
}

int64_t MappedFile::TransformOut(uint64_t offset, uint8_t* dest, size_t length, size_t piece,
                                 Transform transform, void* arg) const {
  return TransformPieces(TransformMapping(), offset, dest, length, piece, transform, arg);
}

int64_t MappedFile::TransformPieces(const uint8_t* base, uint64_t offset, uint8_t* dest,
                                    size_t length, size_t piece, Transform transform,
                                    void* arg) const {
  if (piece == 0) piece = length;
  if (memory_ && closed_) return kClosed;
  const uint8_t* mapped =
      base != nullptr && offset <= size_ && length <= size_ - offset ? base + offset : nullptr;
  if (memory_) {
    if (mapped == nullptr && length > 0) return kTruncated;
    for (size_t pos = 0; pos < length; pos += piece) {
      const size_t n = length - pos < piece ? length - pos : piece;
      int64_t status = transform(arg, mapped + pos, dest + pos, n);
      if (status != kOk) return status;
    }
    // A staged range is read once: give its whole pages back now (not at close) so that a full
    // load holds only the ranges in flight, not a second copy of the model.
    if (length > 0 && !owner_) ReleaseMapped(mapped, length);
    return kOk;
  }
  // The mapping is used only while our SIGBUS handler is installed: if something replaced it,
  // a truncation fault would hang or kill the process, so read with pread instead.
  GuardScope guard(mapped != nullptr && length > 0);
  if (!guard.active()) mapped = nullptr;
  const uint64_t end = offset + length;
  if (mapped != nullptr && length > 0) {
    if (!StillCovers(end)) return kTruncated;
    PopulateMapped(mapped, length);
  }
  for (size_t pos = 0; pos < length; pos += piece) {
    const size_t n = length - pos < piece ? length - pos : piece;
    int64_t status = kOk;
    bool read = mapped == nullptr;
    if (!read) {
      GuardedTransform job{transform, arg, mapped + pos, dest + pos, n, kOk};
      Guarded guarded = guard.Run(mapped + pos, n, TransformThunk, &job);
      if (guarded == Guarded::kFault) return kTruncated;
      read = guarded == Guarded::kUnavailable;
      status = job.status;
    }
    if (read) {
      status = ReadExact(offset + pos, dest + pos, n);
      if (status == kOk) status = transform(arg, dest + pos, dest + pos, n);
    }
    if (status != kOk) return status;
  }
  if (mapped != nullptr && length > 0) {
    ReleaseMapped(mapped, length);
    if (!StillCovers(end)) return kTruncated;
  }
  return kOk;
}

const uint8_t* MappedFile::TransformMapping() const {
  if (map_ != nullptr || memory_) return map_;
  const uint8_t* lazy = lazyMap_.load(std::memory_order_acquire);
  if (lazy != nullptr) return lazy;
  std::lock_guard<std::mutex> lock(lazyMutex_);
  if (!lazyTried_) {
    lazyTried_ = true;
    // No page is mapped until it is read; the guard must be ours before the mapping is touched.
    if (fd_ >= 0 && size_ > 0 && size_ <= SIZE_MAX && InstallSigbusGuard()) {
      void* address = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_SHARED, fd_, 0);
      if (address != MAP_FAILED) lazyMap_.store(static_cast<const uint8_t*>(address));
    }
  }
  return lazyMap_.load(std::memory_order_acquire);
}

bool MappedFile::CurrentSize(uint64_t* size) const {
  if (memory_) {
    *size = size_;
    return !closed_;
  }
  if (fd_ < 0) return false;
  struct stat st;
  if (::fstat(fd_, &st) != 0) return false;
  *size = static_cast<uint64_t>(st.st_size);
  return true;
}

void MappedFile::Close() {
  if (memory_) {
    // The memory stays mapped for any JS view still holding it (writes then land in fresh zero
    // pages); its contents are dropped now, and it is unmapped when the last owner lets go.
    if (!closed_ && map_ != nullptr && !owner_)
      (void)madvise(const_cast<uint8_t*>(map_), mappedLength_, MADV_DONTNEED);
    closed_ = true;
    return;
  }
  if (map_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(map_), static_cast<size_t>(size_));
    map_ = nullptr;
  }
  if (const uint8_t* lazy = lazyMap_.exchange(nullptr)) {
    ::munmap(const_cast<uint8_t*>(lazy), static_cast<size_t>(size_));
  }
  if (fd_ >= 0) {
    // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace ct
