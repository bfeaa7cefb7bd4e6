// Batch wrapping and unwrapping of data keys: every data key of a file under one master key in
// one synchronous call on the calling (JS) thread, so a save or an open of a few hundred tensors
// pays one key schedule and no per-key JS <-> OpenSSL round trip. No N-API here.
#ifndef CRYPTOTENSORS_DATA_KEYS_H_
#define CRYPTOTENSORS_DATA_KEYS_H_

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

// Seals `count` data keys of AeadKeyLength(algorithm) bytes each under `masterKey`, the inverse
// of UnwrapKeys: key i (keys[i*k ..]) with IV ivs[i*12 ..] lands in wrapped[i*k ..], its tag in
// tags[i*16 ..]. The caller draws the IVs (fresh random ones: an IV must never repeat under one
// master key). Returns false if the cipher fails (then wrapped and tags are wiped). The calling
// thread's cipher state is wiped before returning.
bool WrapKeys(AeadAlgorithm algorithm, const uint8_t* masterKey, size_t count, const uint8_t* keys,
              const uint8_t* ivs, uint8_t* wrapped, uint8_t* tags);

}  // namespace ct

#endif  // CRYPTOTENSORS_DATA_KEYS_H_
