// A process-wide pool of helper threads sized to the machine. Work is handed out as a parallel
// "for" over indices: the calling thread takes part too, so a request never waits for a free
// helper and a one-core machine runs everything inline. No N-API here.
#ifndef CRYPTOTENSORS_THREAD_POOL_H_
#define CRYPTOTENSORS_THREAD_POOL_H_

#include <cstdint>
#include <functional>

namespace ct {

// Lifetime: every N-API environment that loads the addon holds the pool (HoldPool, from its init)
// and lets go of it in its cleanup hook (ReleasePool); when the last one lets go, the helpers are
// stopped and joined, so their thread-local cipher state is wiped and freed before the process
// (or the last worker thread using the addon) ends. A later HoldPool starts them again.
void HoldPool();
void ReleasePool();

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
