#include "ed25519.h"

#include <openssl/evp.h>

namespace ct {

bool Ed25519PublicKey(const uint8_t* seed, uint8_t* out) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, kEd25519KeyLength);
  if (key == nullptr) return false;
  size_t length = kEd25519KeyLength;
  bool ok = EVP_PKEY_get_raw_public_key(key, out, &length) == 1 && length == kEd25519KeyLength;
  EVP_PKEY_free(key);  // clears the private key it copied
  return ok;
}

}  // namespace ct
