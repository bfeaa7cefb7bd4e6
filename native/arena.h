// Memory the addon owns and lends to JS (issue 11 finding 3, issue 13): native worker threads
// write only into arenas. An arena is one anonymous mapping (from 2 MiB on: 2 MiB aligned and
// advised for transparent huge pages), refcounted: the JS ArrayBuffer over it holds one reference
// (dropped by its finalizer, which Node runs once the backing store is freed, after a transfer to
// another thread too) and every plan writing into it holds another for its whole run, so neither a
// transfer nor the garbage collector can unmap it under the threads. No N-API here.
#ifndef CRYPTOTENSORS_ARENA_H_
#define CRYPTOTENSORS_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ct {

class Arena {
 public:
  // Maps `length` (> 0) bytes; returns kOk and sets *out, or a status (status.h) when the
  // mapping fails. The arena is registered (Find sees it) until its last reference is gone.
  // A fresh mapping reads as zeros. With reuse on (SetReuseLimit), the mapping of a freed arena
  // may be handed out again instead: *recycled is then true and the bytes are whatever that
  // arena held (the caller zeroes them or overwrites all of them).
  static int64_t Create(uint64_t length, std::shared_ptr<Arena>* out, bool* recycled);

  // Keep the mappings of freed arenas, up to `bytes` in all, for Create to hand out again: a
  // server reloading models then skips the kernel's zeroing of fresh pages (on a VM, the bulk of
  // a fresh load). 0 (the default) turns reuse off and unmaps every kept mapping now.
  static void SetReuseLimit(uint64_t bytes);

  // Bytes kept for reuse now, and how many arenas were handed out again so far.
  static uint64_t IdleBytes();
  static uint64_t ReuseCount();

  // The live arena holding all of [data, data + length), or nullptr when that memory is not an
  // arena's (caller memory). Thread-safe.
  static std::shared_ptr<Arena> Find(const uint8_t* data, uint64_t length);

  // Arenas alive now and their mapped bytes (diagnostics and lifetime tests).
  static uint64_t LiveCount();
  static uint64_t LiveBytes();

  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t length() const { return length_; }

 private:
  Arena(uint8_t* mapping, uint64_t mappingLength, uint8_t* data, uint64_t length)
      : mapping_(mapping), mappingLength_(mappingLength), data_(data), length_(length) {}

  uint8_t* mapping_;
  uint64_t mappingLength_;
  uint8_t* data_;
  uint64_t length_;
};

// Takes the page faults of [data, data + length) now, in 2 MiB steps spread over the pool, so
// that the decryption that follows writes into present pages: MADV_POPULATE_WRITE where the
// kernel has it (Linux 5.14), else one atomic add of zero per page. Contents are unchanged, so
// memory that already holds bytes (received ciphertext) may be populated too.
void PopulateForWrite(uint8_t* data, uint64_t length);

// The same on the calling thread, for the whole 4 KiB pages inside [data, data + length) only
// (the partial pages at the ends may hold bytes another thread is writing): one
// MADV_POPULATE_WRITE. False when nothing was populated (the kernel lacks it, which switches it
// off for the process, or no whole page lies inside); the caller's own writes then fault.
bool PopulateWholePages(uint8_t* data, uint64_t length);
// PopulateWholePages for the part of [data, data + length) from the first 2 MiB boundary at or
// after data: the huge pages that begin inside the range. The units of a plan meet inside huge
// pages (tensors are 64-byte aligned, not 2 MiB); when both units around a boundary populated
// its huge page, the kernel allocated and zeroed a 2 MiB folio for each and freed one (a 1.19 GB
// load allocated 449k 4 KiB pages instead of 292k, ~100 ms more page zeroing CPU per load). The
// unit before a boundary only writes into the huge page after it; the unit it begins in
// populates it.
bool PopulateHugePagesBegunIn(uint8_t* data, uint64_t length);

// Zeroes [data, data + length) on the pool's threads (a recycled arena handed to a caller who
// was promised zero-filled memory).
void ZeroInParallel(uint8_t* data, uint64_t length);

}  // namespace ct

#endif  // CRYPTOTENSORS_ARENA_H_
