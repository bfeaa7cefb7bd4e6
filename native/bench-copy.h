// The benchmarks' bandwidth baseline: a memcpy over the pool's threads (binding copy()). Not used
// by reading or writing models. No N-API.
#ifndef CRYPTOTENSORS_BENCH_COPY_H_
#define CRYPTOTENSORS_BENCH_COPY_H_

#include <cstdint>

namespace ct {

// memcpy over `threads` threads of the pool.
int64_t ParallelCopy(uint8_t* dst, const uint8_t* src, uint64_t length, unsigned threads);

}  // namespace ct

#endif  // CRYPTOTENSORS_BENCH_COPY_H_
