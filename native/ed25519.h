// Ed25519 from a 32-byte seed in one OpenSSL call each, instead of node:crypto key objects: the
// public key (the check that a JWK's "x" belongs to its "d", src/keys/jwk.ts) and a signature
// (a save's header; building a KeyObject from the seed cost ~1.3 ms per save). No N-API here.
#ifndef CRYPTOTENSORS_ED25519_H_
#define CRYPTOTENSORS_ED25519_H_

#include <cstddef>
#include <cstdint>

namespace ct {

constexpr int kEd25519KeyLength = 32;

// Writes the public key of `seed` to `out` (both 32 bytes); false if OpenSSL fails. OpenSSL's
// key object holding the seed is freed (and its private key wiped) before returning.
bool Ed25519PublicKey(const uint8_t* seed, uint8_t* out);

constexpr int kEd25519SignatureLength = 64;

// Writes the Ed25519 signature of message[0, length) under `seed` to `out` (64 bytes); false if
// OpenSSL fails. As above, OpenSSL's copy of the private key is freed before returning.
bool Ed25519Sign(const uint8_t* seed, const uint8_t* message, size_t length, uint8_t* out);

}  // namespace ct

#endif  // CRYPTOTENSORS_ED25519_H_
