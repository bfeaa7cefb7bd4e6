// One AEAD engine per thread, reused across chunks and requests: an OpenSSL EVP context, on
// x86-64 builds with Intel's ipsec-mb an IMB_MGR with a 64-byte aligned expanded key, and on
// x86-64 CPUs with VAES and VPCLMULQDQ the addon's own AVX2 GCM (gcm-vaes.h). AES-GCM
// runs on the engine chosen at load time (CPU features, CRYPTOTENSORS_AES_ENGINE) or by
// SetAesEngine; ChaCha20-Poly1305 always runs on OpenSSL. No N-API here.
//
// Every resource is held by an RAII owner (cipher-owners.h): the EVP context, the ipsec-mb
// manager and the aligned key schedule are freed, and the key bytes wiped, when the thread exits.
#ifndef CRYPTOTENSORS_CIPHER_H_
#define CRYPTOTENSORS_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aead.h"
#include "gcm-vaes.h"

namespace ct {

enum class AesEngine : int { kOpenSsl = 0, kIpsecMb = 1, kVaesAvx2 = 2 };

// True when the addon was built with ipsec-mb and this CPU runs its AVX-512/VAES GCM code.
bool IpsecMbUsable();
// True when this CPU runs the addon's own VAES/AVX2 GCM (gcm-vaes.h).
bool VaesAvx2Usable();
// The engine AES-GCM uses now.
AesEngine ActiveAesEngine();
// Forces an engine; false (and no change) when the engine asked for is not usable here.
bool SetAesEngine(AesEngine engine);
const char* AesEngineName(AesEngine engine);
// True when the engine's AES-GCM decryption reads each source byte exactly once (loaded once, then
// both hashed and decrypted from the register): only such an engine may decrypt straight out of a
// file's mapping, where another process could change a byte between two reads of it. The addon's
// own vaes-avx2 code does; OpenSSL's and ipsec-mb's give no such promise.
constexpr bool EngineReadsSourceOnce(AesEngine engine) { return engine == AesEngine::kVaesAvx2; }

// The calling thread's engine. Key(...) expands a key (skipped when it is already loaded);
// Wipe() overwrites the key and every state derived from it (expanded schedules, buffered
// keystream, MAC state), which callers do when a request ends.
class ThreadCipher {
 public:
  static ThreadCipher& Current();

  int64_t Key(AeadAlgorithm algorithm, const uint8_t* key);
  // Decrypts `length` bytes (src may equal dst) and checks `tag`: kOk or kDecryptFailed.
  int64_t Decrypt(const uint8_t* iv, const uint8_t* src, uint8_t* dst, size_t length,
                  const uint8_t* tag);
  // The same in steps, so that a large (v1) message can be fed slice by slice:
  // DecryptBegin(iv), DecryptUpdate(...) any number of times, then DecryptFinish(tag).
  int64_t DecryptBegin(const uint8_t* iv);
  int64_t DecryptUpdate(const uint8_t* src, uint8_t* dst, size_t length);
  int64_t DecryptFinish(const uint8_t* tag);
  // Verify, then decrypt, in two passes over the same bytes (cipher-split.cc), for destinations
  // that must never hold unverified plaintext: AuthBegin(iv), AuthUpdate(ciphertext) any number
  // of times and AuthFinish(tag) check the tag and produce no plaintext (GHASH, resp. Poly1305,
  // alone); StreamBegin(iv) and StreamUpdate(src, dst, n) then apply the keystream alone
  // (AES-CTR from inc32(J0), resp. ChaCha20 from block 1). Every StreamUpdate of a message but
  // its last must cover a multiple of 64 bytes. AuthFinish: kOk or kDecryptFailed.
  int64_t AuthBegin(const uint8_t* iv);
  int64_t AuthUpdate(const uint8_t* ciphertext, size_t length);
  int64_t AuthFinish(const uint8_t* tag);
  int64_t StreamBegin(const uint8_t* iv);
  int64_t StreamUpdate(const uint8_t* src, uint8_t* dst, size_t length);
  // Encrypts `length` bytes (src may equal dst) and writes the 16-byte tag.
  int64_t Encrypt(const uint8_t* iv, const uint8_t* src, uint8_t* dst, size_t length, uint8_t* tag);
  // The same in steps, so that a chunk can be sealed piece by piece as it lands (plan.h, a read
  // and seal of convertFile): EncryptBegin(iv), EncryptUpdate(...) any number of times (every
  // update but the last a multiple of 16 bytes), then EncryptFinish(tag).
  int64_t EncryptBegin(const uint8_t* iv);
  int64_t EncryptUpdate(const uint8_t* src, uint8_t* dst, size_t length);
  int64_t EncryptFinish(uint8_t* tag);
  void Wipe();
  // True when DecryptUpdate reads each source byte exactly once (EngineReadsSourceOnce; ChaCha20
  // always runs on OpenSSL).
  bool ReadsSourceOnce() const {
    return algorithm_ != AeadAlgorithm::kChaCha20Poly1305 && EngineReadsSourceOnce(engine_);
  }

  ThreadCipher(const ThreadCipher&) = delete;
  ThreadCipher& operator=(const ThreadCipher&) = delete;
  ~ThreadCipher();

 private:
  ThreadCipher();
  bool UsesIpsec() const;
  bool UsesVaes() const;
  int64_t EvpKey();
  int64_t SplitReady();

  struct Evp;
  struct Ipsec;
  struct Split;
  std::unique_ptr<Evp> evp_;
  std::unique_ptr<Ipsec> ipsec_;
  std::unique_ptr<Split> split_;
  std::unique_ptr<VaesGcm> vaes_;
  AeadAlgorithm algorithm_ = AeadAlgorithm::kAes256Gcm;
  AesEngine engine_ = AesEngine::kOpenSsl;
  bool keyed_ = false;
  bool evpKeyed_ = false;
  bool ipsecKeyed_ = false;
  bool vaesKeyed_ = false;
  uint8_t key_[32] = {};
};

}  // namespace ct

#endif  // CRYPTOTENSORS_CIPHER_H_
