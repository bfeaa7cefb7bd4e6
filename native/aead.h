// AEAD decryption of a file range into a caller's buffer, over OpenSSL EVP only (no N-API).
// Implements the DecryptRequest semantics of src/native/backend.ts (FORMAT.md §3.3–§3.4).
#ifndef CRYPTOTENSORS_AEAD_H_
#define CRYPTOTENSORS_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ct {

enum class AeadAlgorithm : int { kAes128Gcm = 0, kAes256Gcm = 1, kChaCha20Poly1305 = 2 };

constexpr size_t kIvLength = 12;
constexpr size_t kTagLength = 16;

// Key length of `algorithm` in bytes.
size_t AeadKeyLength(AeadAlgorithm algorithm);

// Number of chunks a request covers: 1 for whole (chunkSize 0) and for empty chunked ranges
// (an empty v2 tensor is one seal of the empty string), else ceil(length / chunkSize).
uint64_t AeadChunkCount(uint64_t length, uint64_t chunkSize);

struct DecryptJob {
  AeadAlgorithm algorithm;
  const uint8_t* key;       // AeadKeyLength(algorithm) bytes
  uint64_t fileOffset;
  uint64_t length;
  uint64_t chunkSize;       // 0: one AEAD over the whole range
  uint64_t firstChunk;
  const uint8_t* baseIv;    // kIvLength bytes
  const uint8_t* tags;      // kTagLength * AeadChunkCount(length, chunkSize) bytes
};

// Reads `length` bytes at `offset` into `dest`; returns a status (status.h).
using RangeReader = std::function<int64_t(uint64_t offset, uint8_t* dest, size_t length)>;

// Decrypts job into dest[0 .. length). Chunks are spread over up to `threads` threads, each with
// its own EVP_CIPHER_CTX reused across its chunks. On any failure dest[0 .. length) is wiped.
int64_t AeadDecryptRange(const DecryptJob& job, const RangeReader& read, uint8_t* dest,
                         unsigned threads);

// Threads a large request is split over (hardware concurrency, capped).
unsigned AeadThreadCount();

}  // namespace ct

#endif  // CRYPTOTENSORS_AEAD_H_
