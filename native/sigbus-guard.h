// Reading a mapped file that another process truncates raises SIGBUS on the first access past
// the new end. This guard turns that signal into a status for the code that armed it, on the
// thread that faulted, and leaves every other SIGBUS to the handler that was installed before
// (or to the default action). Only memory copies (with the AEAD step that consumes each copied
// piece in the destination) and the writer's AEAD encryption of mapped plaintext run under it:
// they take no locks and allocate nothing, so abandoning them mid-way leaves no state behind but
// a half-updated cipher context, which the failed read or seal discards.
//
// The handler is async-signal-safe: guards live in a fixed table of slots claimed per call and
// looked up by kernel thread id (no thread-locals, which a dlopen'ed library may allocate lazily).
// A SIGBUS sent by another process (kill -BUS, si_code <= 0) is never taken for a fault: it gets
// the previous disposition, which by default terminates the process. If something else replaces
// the handler later (process.on('SIGBUS') makes libuv install its own), GuardActive() turns false
// and callers read with pread instead of touching the mapping.
#ifndef CRYPTOTENSORS_SIGBUS_GUARD_H_
#define CRYPTOTENSORS_SIGBUS_GUARD_H_

#include <cstddef>
#include <cstdint>

namespace ct {

// Installs the process-wide handler once; false if sigaction failed (then do not map files).
bool InstallSigbusGuard();

// True while our handler is the process's SIGBUS handler (one sigaction query).
bool GuardActive();

enum class Guarded { kOk, kFault, kUnavailable };

// A guard slot held by the calling thread for a series of guarded runs (one slot claim, one
// thread-id lookup and one handler check for all of them).
class GuardScope {
 public:
  // Claims a slot only when `wanted` (no system calls otherwise).
  explicit GuardScope(bool wanted);
  ~GuardScope();
  // A slot is held and the handler was ours when the scope began.
  bool active() const { return slot_ != nullptr; }
  GuardScope(const GuardScope&) = delete;
  GuardScope& operator=(const GuardScope&) = delete;

  // Runs fn(arg) with faults inside [base, base + length) caught: kFault if a SIGBUS there
  // interrupted it (the mapped file shrank), kOk if fn returned normally, kUnavailable (fn not
  // run) when no guard slot was free or the handler was not ours when the scope began.
  Guarded Run(const uint8_t* base, size_t length, void (*fn)(void*), void* arg);

 private:
  void* slot_;
};

// Faults the guard has turned into a status so far (diagnostics and tests).
uint64_t GuardedFaults();

}  // namespace ct

#endif  // CRYPTOTENSORS_SIGBUS_GUARD_H_
