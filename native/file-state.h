// An open, read-only file descriptor and its size; no N-API here (used from worker threads).
//
// Reads use pread(2) into the caller's buffer rather than copying out of an mmap(2) view: a
// mapping of a file that another process truncates raises SIGBUS on access, which an addon cannot
// recover from without a process-wide signal handler. pread instead returns a short count, which
// becomes a typed ERR_FILE_TRUNCATED. The copy count is the same (kernel -> caller's buffer).
#ifndef CRYPTOTENSORS_FILE_STATE_H_
#define CRYPTOTENSORS_FILE_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ct {

class FileState {
 public:
  // Opens `path` read-only; returns a status (see status.h) and sets *out on success.
  static int64_t Open(const std::string& path, std::shared_ptr<FileState>* out);

  FileState(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileState();
  FileState(const FileState&) = delete;
  FileState& operator=(const FileState&) = delete;

  // Size at open time.
  uint64_t size() const { return size_; }

  // Reads exactly `length` bytes at `offset` into `dest`: kOk, kTruncated if the file is shorter
  // now, or -errno. Safe to call from several threads at once (pread has no shared offset).
  int64_t ReadExact(uint64_t offset, uint8_t* dest, size_t length) const;

  // Closes the descriptor. Only called once no read is in flight (FileHandle guarantees it).
  void Close();

 private:
  int fd_;
  uint64_t size_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_FILE_STATE_H_
