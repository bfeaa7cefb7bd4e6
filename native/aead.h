// Plans of reads and AEAD decryptions of file ranges into caller buffers (FORMAT.md §3.3–§3.4;
// the DecryptRequest semantics of src/native/backend.ts), run over the shared thread pool.
// No N-API here.
#ifndef CRYPTOTENSORS_AEAD_H_
#define CRYPTOTENSORS_AEAD_H_

#include <cstddef>
#include <cstdint>

namespace ct {

class FileState;

enum class AeadAlgorithm : int { kAes128Gcm = 0, kAes256Gcm = 1, kChaCha20Poly1305 = 2 };

constexpr size_t kIvLength = 12;
constexpr size_t kTagLength = 16;

// Key length of `algorithm` in bytes.
size_t AeadKeyLength(AeadAlgorithm algorithm);

// Number of chunks a request covers: 1 for whole (chunkSize 0) and for empty chunked ranges
// (an empty v2 tensor is one seal of the empty string), else ceil(length / chunkSize).
uint64_t AeadChunkCount(uint64_t length, uint64_t chunkSize);

// One entry of a plan: a plain copy of a file range, or a decryption (v1 whole or v2 chunks).
struct PlanEntry {
  bool decrypt = false;
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  const uint8_t* key = nullptr;  // AeadKeyLength(algorithm) bytes
  uint64_t fileOffset = 0;
  uint64_t length = 0;
  uint64_t chunkSize = 0;  // 0: one AEAD over the whole range
  uint64_t firstChunk = 0;
  const uint8_t* baseIv = nullptr;  // kIvLength bytes
  const uint8_t* tags = nullptr;    // kTagLength * AeadChunkCount(length, chunkSize) bytes
  uint8_t* dest = nullptr;          // `length` bytes
};

struct PlanResult {
  int64_t status;       // status.h
  int64_t failedEntry;  // index of the entry that failed, -1 on success
};

// Runs every entry: v2 chunks, v1 tensors and 2 MiB pieces of plain ranges are spread over the
// pool in entry order (give entries in file-offset order for sequential I/O). Ciphertext is read
// from the file's mapping when it has one (guarded against truncation), else with pread into the
// destination and decrypted in place. On a failure every decrypt destination is wiped.
PlanResult RunPlan(const FileState& file, const PlanEntry* entries, size_t count);

// Encrypts src[0 .. length) into dst as v2 chunks of `chunkSize` (chunk i uses the IV of chunk
// firstChunk + i) over the pool, writing one 16-byte tag per chunk into `tags`. src may equal dst.
int64_t SealChunks(AeadAlgorithm algorithm, const uint8_t* key, const uint8_t* baseIv,
                   uint64_t firstChunk, uint64_t chunkSize, const uint8_t* src, uint8_t* dst,
                   uint64_t length, uint8_t* tags);

// memcpy over `threads` threads of the pool (the bandwidth baseline of the benchmarks).
int64_t ParallelCopy(uint8_t* dst, const uint8_t* src, uint64_t length, unsigned threads);

// Threads a plan may use (the pool's width).
unsigned AeadThreadCount();

}  // namespace ct

#endif  // CRYPTOTENSORS_AEAD_H_
