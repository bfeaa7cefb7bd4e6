// The benchmarks' floors (binding copy(), aeadInCache(), populate()): a memcpy over the pool's
// threads, the AEAD alone on cache-resident buffers, and the fault-in of fresh memory. Not used by
// reading or writing models. No N-API.
#ifndef CRYPTOTENSORS_BENCH_COPY_H_
#define CRYPTOTENSORS_BENCH_COPY_H_

#include <cstdint>

#include "aead.h"

namespace ct {

// memcpy over `threads` threads of the pool.
int64_t ParallelCopy(uint8_t* dst, const uint8_t* src, uint64_t length, unsigned threads);

// The AEAD compute floor: decrypts (tag checked) `total` bytes, rounded up to whole messages of
// `message` bytes, with the active engine over `threads` threads of the pool; each thread decrypts
// its own ciphertext of one message into its own plaintext buffer again and again, both small
// enough to stay in its L2 cache, so that no byte comes from or goes to memory: what the cipher
// alone costs a load. kOk, kDecryptFailed (an engine bug) or kInternal (no memory, bad sizes).
int64_t AeadInCache(AeadAlgorithm algorithm, const uint8_t* key, uint64_t total, uint64_t message,
                    unsigned threads);

}  // namespace ct

#endif  // CRYPTOTENSORS_BENCH_COPY_H_
