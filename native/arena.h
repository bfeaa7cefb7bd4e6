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
  static int64_t Create(uint64_t length, std::shared_ptr<Arena>* out);

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

}  // namespace ct

#endif  // CRYPTOTENSORS_ARENA_H_
