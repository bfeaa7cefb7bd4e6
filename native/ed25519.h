// The Ed25519 public key of a 32-byte seed, for the check that a JWK's "x" belongs to its "d"
// (src/keys/jwk.ts), in one call instead of three node:crypto key objects. No N-API here.
#ifndef CRYPTOTENSORS_ED25519_H_
#define CRYPTOTENSORS_ED25519_H_

#include <cstdint>

namespace ct {

constexpr int kEd25519KeyLength = 32;

// Writes the public key of `seed` to `out` (both 32 bytes); false if OpenSSL fails. OpenSSL's
// key object holding the seed is freed (and its private key wiped) before returning.
bool Ed25519PublicKey(const uint8_t* seed, uint8_t* out);

}  // namespace ct

#endif  // CRYPTOTENSORS_ED25519_H_
