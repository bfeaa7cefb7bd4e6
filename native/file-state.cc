#include "file-state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

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
  try {
    *out = std::make_shared<FileState>(fd, static_cast<uint64_t>(st.st_size));
  } catch (...) {
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

void FileState::Close() {
  if (fd_ >= 0) {
    // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace ct
