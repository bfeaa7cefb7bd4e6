// Reading a mapped file that another process truncates raises SIGBUS on the first access past
// the new end. This guard turns that signal into a status for the code that armed it, on the
// thread that faulted, and leaves every other SIGBUS to the handler that was installed before
// (or to the default action). Only memory copies and AEAD passes run under it: they take no locks
// and allocate nothing, so abandoning them mid-way leaves no state behind.
#ifndef CRYPTOTENSORS_SIGBUS_GUARD_H_
#define CRYPTOTENSORS_SIGBUS_GUARD_H_

#include <cstddef>
#include <cstdint>

namespace ct {

// Installs the process-wide handler once; false if sigaction failed (then do not map files).
bool InstallSigbusGuard();

// Runs fn(arg) with faults inside [base, base + length) caught: returns false if a SIGBUS there
// interrupted it (the mapped file shrank), true if fn returned normally.
bool RunGuarded(const uint8_t* base, size_t length, void (*fn)(void*), void* arg);

// Faults the guard has turned into a status so far (diagnostics and tests).
uint64_t GuardedFaults();

}  // namespace ct

#endif  // CRYPTOTENSORS_SIGBUS_GUARD_H_
