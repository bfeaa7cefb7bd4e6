#include "file-state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "sigbus-guard.h"
#include "status.h"

namespace ct {

namespace {
// Linux transfers at most 0x7ffff000 bytes per read call; stay well below it.
constexpr size_t kMaxReadPerCall = size_t{1} << 30;
}  // namespace

int64_t FileState::Open(const std::string& path, std::shared_ptr<FileState>* out) {
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
  const char* noMap = std::getenv("CRYPTOTENSORS_NO_MMAP");
  bool wantMap =
      size > 0 && size <= SIZE_MAX && !(noMap != nullptr && std::strcmp(noMap, "1") == 0);
  if (wantMap && InstallSigbusGuard()) {
    void* address = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (address != MAP_FAILED) {
      map = static_cast<const uint8_t*>(address);
    }
  }
  try {
    *out = std::make_shared<FileState>(fd, size, map);
  } catch (...) {
    if (map != nullptr) ::munmap(const_cast<uint8_t*>(map), static_cast<size_t>(size));
    ::close(fd);
    return kInternal;
  }
  return kOk;
}

FileState::~FileState() { Close(); }

int64_t FileState::ReadExact(uint64_t offset, uint8_t* dest, size_t length) const {
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

bool FileState::CurrentSize(uint64_t* size) const {
  if (fd_ < 0) return false;
  struct stat st;
  if (::fstat(fd_, &st) != 0) return false;
  *size = static_cast<uint64_t>(st.st_size);
  return true;
}

void FileState::Close() {
  if (map_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(map_), static_cast<size_t>(size_));
    map_ = nullptr;
  }
  if (fd_ >= 0) {
    // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace ct
