// Outcome of native work, reported to TypeScript as a plain number (never as a thrown JS value),
// so that the TS layer raises the typed error from its own stack frame.
//   0          success
//   > 0        one of the Status values below
//   < 0        -errno of a failed system call (ERR_IO on the TS side)
#ifndef CRYPTOTENSORS_STATUS_H_
#define CRYPTOTENSORS_STATUS_H_

#include <cstdint>

namespace ct {

enum Status : int64_t {
  kOk = 0,
  kDecryptFailed = 1,    // a tag did not verify (wrong key or tampered data)
  kCounterOverflow = 2,  // base counter + chunk index exceeds 0xFFFFFFFF
  kTruncated = 3,        // the file ended before the requested range
  kClosed = 4,           // the file handle is closed or closing
  kNotRegularFile = 5,   // open() refused a directory, FIFO, device...
  kInternal = 6,         // OpenSSL or allocation failure that is not the data's fault
  kMessageTooLong = 7,   // a v1 tensor or v2 chunk exceeds the AEAD's per-message limit
  kDetached = 8,         // a destination was transferred/detached (or shrank) while in flight
};

}  // namespace ct

#endif  // CRYPTOTENSORS_STATUS_H_
