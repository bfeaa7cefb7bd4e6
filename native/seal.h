// Sealing for the writer: chunked (v2) AEAD encryption of memory over the thread pool. No N-API.
#ifndef CRYPTOTENSORS_SEAL_H_
#define CRYPTOTENSORS_SEAL_H_

#include <cstdint>

#include "aead.h"

namespace ct {

// Encrypts src[0 .. length) into dst as v2 chunks of `chunkSize` (chunk i uses the IV of chunk
// firstChunk + i) over the pool, writing one 16-byte tag per chunk into `tags`. src may equal dst.
int64_t SealChunks(AeadAlgorithm algorithm, const uint8_t* key, const uint8_t* baseIv,
                   uint64_t firstChunk, uint64_t chunkSize, const uint8_t* src, uint8_t* dst,
                   uint64_t length, uint8_t* tags);

}  // namespace ct

#endif  // CRYPTOTENSORS_SEAL_H_
