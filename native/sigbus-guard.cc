#include "sigbus-guard.h"

#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace ct {

namespace {

struct Guard {
  sigjmp_buf env;
  const uint8_t* base = nullptr;
  size_t length = 0;
  volatile sig_atomic_t armed = 0;
};

thread_local Guard t_guard;
std::atomic<uint64_t> g_faults{0};
struct sigaction g_previous;
bool g_installed = false;

void OnSigbus(int signo, siginfo_t* info, void* context) {
  // t_guard was touched by RunGuarded before arming, so this TLS access allocates nothing.
  Guard& guard = t_guard;
  const uint8_t* addr = static_cast<const uint8_t*>(info->si_addr);
  if (guard.armed && addr >= guard.base && addr < guard.base + guard.length) {
    guard.armed = 0;
    siglongjmp(guard.env, 1);
  }
  // Not ours: behave as if we were never installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(signo, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(signo);
    return;
  }
  // Default action: restore it and return; the faulting access re-executes and kills the process
  // with the SIGBUS it deserves (core dump included).
  struct sigaction fallback;
  std::memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(SIGBUS, &fallback, nullptr);
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

bool RunGuarded(const uint8_t* base, size_t length, void (*fn)(void*), void* arg) {
  Guard& guard = t_guard;
  guard.base = base;
  guard.length = length;
  if (sigsetjmp(guard.env, 0) != 0) {
    g_faults.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  guard.armed = 1;
  fn(arg);
  guard.armed = 0;
  return true;
}

uint64_t GuardedFaults() { return g_faults.load(std::memory_order_relaxed); }

}  // namespace ct
