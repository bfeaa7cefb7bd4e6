// An open, read-only file descriptor, its size and its read-only mapping; no N-API here (used
// from worker threads).
//
// Bytes land with pread(2) by default: in one process, alternating with the mapped reads, a
// 1.19 GB model lands ~20% faster with less CPU (retained plain loadFile 121 -> 98 ms, warm
// readAll 77 -> 62 ms, 2,700 -> 830 faults per load; 2026-12-01), because a mapped read must map
// and unmap the page-table entries of every unit (and shoot down TLBs) and counts the file's
// pages in the resident set while they are mapped. A short pread becomes kTruncated. With
// CRYPTOTENSORS_MMAP=1 the file is also mapped read-only and read through the mapping, every
// access under sigbus-guard.h (a file another process truncates raises SIGBUS; the guard turns
// it into kTruncated, and the size is re-checked around each access because a partial last page
// reads as zeros instead of faulting). Work that reads the bytes once itself, with no copy first
// (convertFile's sealing, and the decryption of an engine that reads each byte once: plan.cc
// DecryptUnitInto), goes through TransformOut, which maps the file on first use.
//
// Memory mode (OpenMemory): no descriptor; the "file" is anonymous memory the addon owns, into
// which a remote source receives the ciphertext it fetched (issue 16). RunPlan and every kernel
// then work on it unchanged. It cannot shrink, so no guard is needed; each range copied out is
// dropped from memory (MADV_DONTNEED on its whole pages) because a staged range is consumed once.
#ifndef CRYPTOTENSORS_MAPPED_FILE_H_
#define CRYPTOTENSORS_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace ct {

class MappedFile {
 public:
  // Opens `path` read-only; returns a status (see status.h) and sets *out on success.
  static int64_t Open(const std::string& path, std::shared_ptr<MappedFile>* out);

  // Makes a memory-mode file of `size` zero bytes; *memory receives its writable base (nullptr
  // for size 0). The memory lives until the MappedFile is destroyed (whoever writes into it must
  // hold a reference); Close() only drops its pages.
  static int64_t OpenMemory(uint64_t size, std::shared_ptr<MappedFile>* out, uint8_t** memory);

  // A memory-mode file over `size` bytes at `base` that someone else owns (an arena, kept alive
  // by `owner` for as long as this file lives): a remote source receives a chunk's ciphertext
  // straight into its destination and the plan decrypts it there in place. Nothing is copied when
  // a plan's destination is the very range it reads, and no page is ever dropped (they hold the
  // plaintext): the memory belongs to the destination, not to a staging area.
  static int64_t OpenBorrowed(uint8_t* base, uint64_t size, std::shared_ptr<void> owner,
                              std::shared_ptr<MappedFile>* out);

  MappedFile(int fd, uint64_t size, const uint8_t* map) : fd_(fd), size_(size), map_(map) {}
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Size at open time.
  uint64_t size() const { return size_; }

  // Reads exactly `length` bytes at `offset` into `dest`: kOk, kTruncated if the file is shorter
  // now, or -errno. Safe to call from several threads at once (pread has no shared offset).
  int64_t ReadExact(uint64_t offset, uint8_t* dest, size_t length) const;

  // The mapped bytes [offset, offset + length), or nullptr when that range is not mapped.
  const uint8_t* Mapped(uint64_t offset, uint64_t length) const {
    if (map_ == nullptr || offset > size_ || length > size_ - offset) return nullptr;
    return map_ + offset;
  }

  // The file's size now (fstat); false if it cannot be read (closed).
  bool CurrentSize(uint64_t* size) const;

  // True while the file still holds `end` bytes (a file shorter now was truncated under us:
  // zero-filled tail pages of a mapping do not fault, so callers check after an access too).
  bool StillCovers(uint64_t end) const {
    uint64_t now = 0;
    return CurrentSize(&now) && now >= end;
  }

  // Copies [offset, offset + length) of the file into `dest` (memory the caller owns): from the
  // mapping under the SIGBUS guard when there is one (populating the page-table entries first
  // and dropping them after), else with pread. kOk, kTruncated, kClosed or -errno.
  int64_t CopyOut(uint64_t offset, uint8_t* dest, size_t length) const {
    return CopyOut(offset, dest, length, length, nullptr, nullptr);
  }

  // The same in pieces of at most `piece` bytes, calling consume(arg, pos, n) as soon as
  // dest[pos, pos + n) has landed, while those bytes are still in the CPU's cache (the decrypt
  // of a piece then reads it from L2, not from memory). A non-kOk return of consume stops the
  // copy and is returned.
  using Consumer = int64_t (*)(void* arg, size_t pos, size_t n);
  int64_t CopyOut(uint64_t offset, uint8_t* dest, size_t length, size_t piece, Consumer consume,
                  void* arg) const;

  // Produces [offset, offset + length) of the file into `dest` through `transform`, in pieces of
  // at most `piece` bytes, in order: transform(arg, src, dest + pos, n) reads the piece straight
  // from a mapping of the file (its only read of the file, under the SIGBUS guard as a copy is:
  // a truncation returns kTruncated), else from dest + pos, where the piece was read with pread
  // first (src == dest). A file opened without a mapping (pread is the reader's default) is
  // mapped for this on first use: the transform then does the copy's work itself. A transform must
  // take no locks and allocate nothing (a fault abandons it mid-way); a non-kOk return of it stops
  // the work and is returned.
  using Transform = int64_t (*)(void* arg, const uint8_t* src, uint8_t* dest, size_t n);
  int64_t TransformOut(uint64_t offset, uint8_t* dest, size_t length, size_t piece,
                       Transform transform, void* arg) const;

  // Unmaps and closes the descriptor (memory mode: drops the pages, the mapping stays until
  // destruction). Only called once no read is in flight (FileHandle guarantees it).
  void Close();

 private:
  // CopyOut and TransformOut over the mapping at `base` (nullptr: pread). Memory mode: straight
  // from the memory, whose whole pages are then dropped (unless it is borrowed).
  int64_t TransformPieces(const uint8_t* base, uint64_t offset, uint8_t* dest, size_t length,
                          size_t piece, Transform transform, void* arg) const;

  // The mapping TransformOut reads: map_, else one made on first use (nullptr if that failed).
  const uint8_t* TransformMapping() const;

  int fd_;
  uint64_t size_;
  const uint8_t* map_;
  // TransformOut's own mapping of a file opened without one, made once (unmapped by Close).
  mutable std::atomic<const uint8_t*> lazyMap_{nullptr};
  mutable std::mutex lazyMutex_;
  mutable bool lazyTried_ = false;  // guarded by lazyMutex_
  // Memory mode: map_ is our anonymous memory of mappedLength_ bytes; closed_ after Close().
  bool memory_ = false;
  bool closed_ = false;
  size_t mappedLength_ = 0;
  // OpenBorrowed: the memory is owner_'s (never dropped nor unmapped here).
  std::shared_ptr<void> owner_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_MAPPED_FILE_H_
