// A process-wide pool of helper threads sized to the machine. Work is handed out as a parallel
// "for" over indices: the calling thread takes part too, so a request never waits for a free
// helper and a one-core machine runs everything inline. No N-API here.
#ifndef CRYPTOTENSORS_THREAD_POOL_H_
#define CRYPTOTENSORS_THREAD_POOL_H_

#include <cstdint>
#include <functional>

namespace ct {

// Threads that may run one ParallelFor at once: the helpers plus the caller.
unsigned PoolWidth();

// Calls fn(i) for every i in [0, count), on the calling thread and on up to `maxHelpers` pool
// helpers, handing indices out in increasing order (so that file offsets are visited roughly
// sequentially). Every thread that took part then calls leave() once (e.g. to wipe per-thread
// key schedules). Returns once every call has returned. fn and leave must not throw.
void ParallelFor(uint64_t count, unsigned maxHelpers, const std::function<void(uint64_t)>& fn,
                 const std::function<void()>& leave);

}  // namespace ct

#endif  // CRYPTOTENSORS_THREAD_POOL_H_
