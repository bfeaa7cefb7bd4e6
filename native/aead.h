// AEAD basics shared by decryption (plan.h) and sealing (seal.h): algorithms, lengths, the chunk
// maths and chunk IVs of FORMAT.md §3.3–§3.4. No N-API, no I/O.
#ifndef CRYPTOTENSORS_AEAD_H_
#define CRYPTOTENSORS_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ct {

enum class AeadAlgorithm : int { kAes128Gcm = 0, kAes256Gcm = 1, kChaCha20Poly1305 = 2 };

constexpr size_t kIvLength = 12;
constexpr size_t kTagLength = 16;

// Key length of `algorithm` in bytes.
inline size_t AeadKeyLength(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kAes128Gcm ? 16 : 32;
}

// Number of chunks a request covers: 1 for whole (chunkSize 0) and for empty chunked ranges
// (an empty v2 tensor is one seal of the empty string), else ceil(length / chunkSize).
inline uint64_t AeadChunkCount(uint64_t length, uint64_t chunkSize) {
  if (chunkSize == 0 || length == 0) return 1;
  return length / chunkSize + (length % chunkSize != 0 ? 1 : 0);
}

// Longest plaintext of one AEAD message: 2^36 - 32 bytes for GCM (NIST SP 800-38D), 2^38 - 64
// for ChaCha20-Poly1305 (RFC 8439). Beyond them the block counter would wrap.
inline uint64_t AeadMaxMessage(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kChaCha20Poly1305 ? (uint64_t{1} << 38) - 64
                                                       : (uint64_t{1} << 36) - 32;
}

// The big-endian 32-bit counter in the last four bytes of a base IV.
inline uint64_t IvCounter(const uint8_t* baseIv) {
  return (uint64_t{baseIv[8]} << 24) | (uint64_t{baseIv[9]} << 16) | (uint64_t{baseIv[10]} << 8) |
         uint64_t{baseIv[11]};
}

// True when chunks [firstChunk, firstChunk + chunks) of `baseIv` stay within the 32-bit counter
// (FORMAT.md §3.4: the sum is checked, never wrapped). Operands are below 2^53 (checked by the
// binding), so the 64-bit sum cannot overflow.
inline bool CounterFits(const uint8_t* baseIv, uint64_t firstChunk, uint64_t chunks) {
  return IvCounter(baseIv) + firstChunk + (chunks - 1) <= 0xFFFFFFFFull;
}

// IV of chunk `index` (absolute): baseIv[0..8] || BE32(c0 + index); the caller checked overflow.
inline void ChunkIv(const uint8_t* baseIv, uint64_t index, uint8_t* iv) {
  std::memcpy(iv, baseIv, kIvLength);
  uint64_t counter = IvCounter(baseIv) + index;
  iv[8] = static_cast<uint8_t>(counter >> 24);
  iv[9] = static_cast<uint8_t>(counter >> 16);
  iv[10] = static_cast<uint8_t>(counter >> 8);
  iv[11] = static_cast<uint8_t>(counter);
}

}  // namespace ct

#endif  // CRYPTOTENSORS_AEAD_H_
