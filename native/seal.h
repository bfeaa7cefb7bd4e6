// Sealing for the writer: chunked (v2) AEAD encryption of memory over the thread pool. No N-API.
#ifndef CRYPTOTENSORS_SEAL_H_
#define CRYPTOTENSORS_SEAL_H_

#include <cstddef>
#include <cstdint>

#include "aead.h"

namespace ct {

// Encrypts src[0 .. length) into dst as v2 chunks of `chunkSize` (chunk i uses the IV of chunk
// firstChunk + i) over the pool, writing one 16-byte tag per chunk into `tags`. src may equal dst.
int64_t SealChunks(AeadAlgorithm algorithm, const uint8_t* key, const uint8_t* baseIv,
                   uint64_t firstChunk, uint64_t chunkSize, const uint8_t* src, uint8_t* dst,
                   uint64_t length, uint8_t* tags);

// One piece of a writer batch: what SealChunks takes, for one tensor's key and base IV.
struct SealSegment {
  const uint8_t* key;
  const uint8_t* baseIv;
  uint64_t firstChunk;
  const uint8_t* src;
  uint8_t* dst;
  uint64_t length;
  uint8_t* tags;
};

// Seals every segment as SealChunks would, as one pool job: the chunks of all segments are handed
// out together, so a batch of many small pieces wakes the pool once, not once per piece. The
// segments' destinations must not overlap one another (each may equal its own source).
int64_t SealSegments(AeadAlgorithm algorithm, uint64_t chunkSize, const SealSegment* segments,
                     size_t count);

}  // namespace ct

#endif  // CRYPTOTENSORS_SEAL_H_
