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

bool Ed25519Sign(const uint8_t* seed, const uint8_t* message, size_t length, uint8_t* out) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, kEd25519KeyLength);
  if (key == nullptr) return false;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  size_t written = kEd25519SignatureLength;
  // Ed25519 takes no digest: the message is signed as a whole (one-shot EVP_DigestSign).
  bool ok = context != nullptr &&
            EVP_DigestSignInit(context, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestSign(context, out, &written, message, length) == 1 &&
            written == kEd25519SignatureLength;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace ct
