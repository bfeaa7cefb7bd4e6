#include "thread-pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace ct {

namespace {

constexpr unsigned kMaxWidth = 16;

struct Task {
  const std::function<void(uint64_t)>* fn;
  const std::function<void()>* leave;
  uint64_t count;
  std::atomic<uint64_t> next{0};
  unsigned helpersWanted;
  unsigned helpersJoined = 0;  // guarded by Pool::mutex
  unsigned active = 0;         // guarded by Pool::mutex
};

void Drain(Task* task) {
  for (;;) {
    uint64_t index = task->next.fetch_add(1, std::memory_order_relaxed);
    if (index >= task->count) return;
    (*task->fn)(index);
  }
}

void Take(Task* task) {
  Drain(task);
  (*task->leave)();
}

// Never destroyed (a static pointer): a late ParallelFor during process exit must still find
// it. Its helpers are joined by the last environment's cleanup hook (Stop).
class Pool {
 public:
  static Pool& Shared() {
    static Pool* pool = new Pool();
    return *pool;
  }

  unsigned width() const { return width_; }

  void Hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    holders_++;
  }

  void Release() {
    std::vector<std::thread> helpers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (holders_ == 0 || --holders_ > 0) return;
      stopping_ = true;
      helpers.swap(helpers_);
    }
    work_.notify_all();
    for (auto& helper : helpers) helper.join();
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }

  void Run(Task* task) {
    if (task->helpersWanted > 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_ || holders_ == 0) {
        task->helpersWanted = 0;  // shutting down (or no environment): run on the caller only
      } else {
        StartHelpers();
        queue_.push_back(task);
      }
    }
    if (task->helpersWanted > 0) work_.notify_all();
    Take(task);
    if (task->helpersWanted == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    Remove(task);
    done_.wait(lock, [task] { return task->active == 0; });
  }

 private:
  Pool() {
    unsigned hw = std::thread::hardware_concurrency();
    width_ = std::clamp(hw, 1u, kMaxWidth);
  }

  // Called with mutex_ held.
  void StartHelpers() {
    if (!helpers_.empty()) return;
    for (unsigned i = 1; i < width_; i++) {
      try {
        helpers_.emplace_back(&Pool::Loop, this);
      } catch (...) {
        // Fewer helpers only means less parallelism: the caller always does the work too.
      }
    }
  }

  void Remove(Task* task) {
    auto it = std::find(queue_.begin(), queue_.end(), task);
    if (it != queue_.end()) queue_.erase(it);
  }

  void Loop() {
    for (;;) {
      Task* task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left to help with
        task = queue_.front();
        task->active++;
        // Once enough helpers joined, nobody else should pick this task up.
        if (++task->helpersJoined >= task->helpersWanted) Remove(task);
      }
      Take(task);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        Remove(task);  // indices exhausted: no point joining it any more
        if (--task->active == 0) done_.notify_all();
      }
    }
  }

  unsigned width_;
  unsigned holders_ = 0;              // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
  std::vector<std::thread> helpers_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::deque<Task*> queue_;
};

}  // namespace

unsigned PoolWidth() { return Pool::Shared().width(); }

void HoldPool() { Pool::Shared().Hold(); }

void ReleasePool() { Pool::Shared().Release(); }

void ParallelFor(uint64_t count, unsigned maxHelpers, const std::function<void(uint64_t)>& fn,
                 const std::function<void()>& leave) {
  if (count == 0) return;
  Pool& pool = Pool::Shared();
  Task task;
  task.fn = &fn;
  task.leave = &leave;
  task.count = count;
  uint64_t useful = count - 1;  // the caller takes at least one index
  task.helpersWanted =
      static_cast<unsigned>(std::min<uint64_t>({maxHelpers, pool.width() - 1, useful}));
  pool.Run(&task);
}

}  // namespace ct
