#include "sigbus-guard.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace ct {

namespace {

// More than the threads that can read at once (pool helpers + libuv's threads, per process).
constexpr size_t kSlots = 128;

struct Slot {
  std::atomic<pid_t> owner{0};  // kernel thread id of the thread using it, 0 when free
  const uint8_t* base = nullptr;
  size_t length = 0;
  sigjmp_buf env;
  volatile sig_atomic_t armed = 0;
};

Slot g_slots[kSlots];
std::atomic<uint64_t> g_faults{0};
struct sigaction g_previous;
bool g_installed = false;

pid_t ThreadId() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

void OnSigbus(int signo, siginfo_t* info, void* context) {
  // si_code > 0: raised by the kernel for an access of this thread. A SIGBUS another process sent
  // (kill, sigqueue: si_code <= 0) is never taken for one of our faults.
  if (info != nullptr && info->si_code > 0) {
    const pid_t self = ThreadId();
    const uint8_t* addr = static_cast<const uint8_t*>(info->si_addr);
    for (Slot& slot : g_slots) {
      if (slot.owner.load(std::memory_order_relaxed) == self && slot.armed && addr >= slot.base &&
          addr < slot.base + slot.length) {
        slot.armed = 0;
        siglongjmp(slot.env, 1);
      }
    }
  }
  // Not ours: behave as if we were never installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(signo, info, context);
      return;
    }
  } else if (g_previous.sa_handler == SIG_IGN) {
    // Ignored before us: a sent signal stays ignored (a fault cannot be ignored; the kernel
    // delivers it again with the default action when the access re-executes).
    if (info == nullptr || info->si_code <= 0) return;
  } else if (g_previous.sa_handler != SIG_DFL) {
    g_previous.sa_handler(signo);
    return;
  }
  // Default action: restore it. A fault re-executes its access and kills the process with the
  // SIGBUS it deserves (core dump included); a sent signal is raised again, to the same effect.
  struct sigaction fallback;
  std::memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(SIGBUS, &fallback, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(SIGBUS);
}

Slot* Claim(pid_t self) {
  for (Slot& slot : g_slots) {
    pid_t expected = 0;
    if (slot.owner.compare_exchange_strong(expected, self, std::memory_order_acquire)) return &slot;
  }
  return nullptr;
}

}  // namespace

bool InstallSigbusGuard() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = OnSigbus;
    sigemptyset(&action.sa_mask);
    // SA_NODEFER: siglongjmp without restoring the mask must not leave SIGBUS blocked.
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    g_installed = sigaction(SIGBUS, &action, &g_previous) == 0;
  });
  return g_installed;
}

bool GuardActive() {
  if (!g_installed) return false;
  struct sigaction current;
  if (sigaction(SIGBUS, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == OnSigbus;
}

GuardScope::GuardScope(bool wanted) : slot_(nullptr) {
  if (wanted && GuardActive()) slot_ = Claim(ThreadId());
}

GuardScope::~GuardScope() {
  if (slot_ != nullptr) static_cast<Slot*>(slot_)->owner.store(0, std::memory_order_release);
}

Guarded GuardScope::Run(const uint8_t* base, size_t length, void (*fn)(void*), void* arg) {
  auto* slot = static_cast<Slot*>(slot_);
  if (slot == nullptr) return Guarded::kUnavailable;
  slot->base = base;
  slot->length = length;
  if (sigsetjmp(slot->env, 0) != 0) {
    g_faults.fetch_add(1, std::memory_order_relaxed);
    return Guarded::kFault;
  }
  slot->armed = 1;
  fn(arg);
  slot->armed = 0;
  return Guarded::kOk;
}

uint64_t GuardedFaults() { return g_faults.load(std::memory_order_relaxed); }

}  // namespace ct
