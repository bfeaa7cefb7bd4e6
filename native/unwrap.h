// Batch unwrapping of data keys for an encrypted open: every wrapped key of a file under one
// master key in one synchronous call on the calling (JS) thread, so an open of a few hundred
// tensors pays one key schedule and no per-key JS <-> OpenSSL round trip. No N-API here.
#ifndef CRYPTOTENSORS_UNWRAP_H_
#define CRYPTOTENSORS_UNWRAP_H_

#include <cstddef>
#include <cstdint>

#include "aead.h"

namespace ct {

// Opens `count` wrapped keys of AeadKeyLength(algorithm) bytes each under `masterKey`: entry i
// is wrapped[i*k .. (i+1)*k) with IV ivs[i*12 ..] and tag tags[i*16 ..], its key lands in
// out[i*k ..]. Returns -1 when every tag verifies, else the index of the first entry whose tag
// does not (then all of `out` is wiped: nothing unauthenticated, and no key of a failed batch,
// is left). A failure of the cipher itself returns -2 (out wiped too). The calling thread's
// cipher state is wiped before returning, on every path.
int64_t UnwrapKeys(AeadAlgorithm algorithm, const uint8_t* masterKey, size_t count,
                   const uint8_t* wrapped, const uint8_t* ivs, const uint8_t* tags, uint8_t* out);

}  // namespace ct

#endif  // CRYPTOTENSORS_UNWRAP_H_
