#include "data-keys.h"

#include <openssl/crypto.h>

#include "cipher.h"
#include "status.h"

namespace ct {

int64_t UnwrapKeys(AeadAlgorithm algorithm, const uint8_t* masterKey, size_t count,
                   const uint8_t* wrapped, const uint8_t* ivs, const uint8_t* tags, uint8_t* out) {
  const size_t keyLength = AeadKeyLength(algorithm);
  ThreadCipher& cipher = ThreadCipher::Current();
  // The master key is expanded once for the whole batch; each entry only sets its IV.
  int64_t result = cipher.Key(algorithm, masterKey) == kOk ? -1 : -2;
  for (size_t i = 0; result == -1 && i < count; i++) {
    int64_t status = cipher.Decrypt(ivs + i * kIvLength, wrapped + i * keyLength,
                                    out + i * keyLength, keyLength, tags + i * kTagLength);
    if (status == kDecryptFailed) {
      result = static_cast<int64_t>(i);
    } else if (status != kOk) {
      result = -2;
    }
  }
  if (result != -1 && count > 0) OPENSSL_cleanse(out, count * keyLength);
  cipher.Wipe();
  return result;
}

bool WrapKeys(AeadAlgorithm algorithm, const uint8_t* masterKey, size_t count, const uint8_t* keys,
              const uint8_t* ivs, uint8_t* wrapped, uint8_t* tags) {
  const size_t keyLength = AeadKeyLength(algorithm);
  ThreadCipher& cipher = ThreadCipher::Current();
  bool ok = cipher.Key(algorithm, masterKey) == kOk;
  for (size_t i = 0; ok && i < count; i++) {
    ok = cipher.Encrypt(ivs + i * kIvLength, keys + i * keyLength, wrapped + i * keyLength,
                        keyLength, tags + i * kTagLength) == kOk;
  }
  if (!ok && count > 0) {
    OPENSSL_cleanse(wrapped, count * keyLength);
    OPENSSL_cleanse(tags, count * kTagLength);
  }
  cipher.Wipe();
  return ok;
}

}  // namespace ct
