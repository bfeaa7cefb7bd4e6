// AES-GCM on 256-bit vector AES (VAES) and carry-less multiplication (VPCLMULQDQ) with AVX2: the
// fast engine of CPUs that have them without AVX-512 (AMD Zen 3, Intel Alder Lake and later
// client cores), where OpenSSL 3.0 runs 128-bit AES-NI and ipsec-mb 1.3 is no faster (1.7-2x
// less throughput here, issue 13). Sixteen blocks per step: counters encrypted two per
// instruction, then GHASH of the sixteen ciphertext blocks with one reduction. Each input byte is
// read once, so the GHASH of a decryption covers exactly the bytes it decrypts. No N-API here.
#ifndef CRYPTOTENSORS_GCM_VAES_H_
#define CRYPTOTENSORS_GCM_VAES_H_

#include <cstddef>
#include <cstdint>

namespace ct {

// True when this build has the engine and the CPU (and OS) run it.
bool VaesGcmUsable();

// One AES-GCM key and one message in progress. Every state derived from the key lives here, and
// Wipe() clears all of it. Callers keep it in 32-byte aligned storage (it is never copied).
class VaesGcm {
 public:
  // keyLength 16 or 32. Returns false on another length or where the engine is not usable.
  bool SetKey(const uint8_t* key, size_t keyLength);
  // Starts a message under a 12-byte IV (no additional data: CryptoTensors uses none).
  void Begin(const uint8_t* iv);
  // Encrypts (resp. decrypts) any number of bytes; src may equal dst. Lengths need not be whole
  // blocks: a partial block is carried into the next call.
  void Encrypt(const uint8_t* src, uint8_t* dst, size_t length);
  void Decrypt(const uint8_t* src, uint8_t* dst, size_t length);
  // The 16-byte tag of the message so far (ends it).
  void Finish(uint8_t* tag);
  void Wipe();

 private:
  void Crypt(const uint8_t* src, uint8_t* dst, size_t length, bool encrypt);

  // Only plain data derived from the key or the message, so that Wipe() clears the whole object.
  // Round keys (15 for AES-256, 11 for AES-128), then H^16 .. H^1 (times x, GHASH's form).
  alignas(32) uint8_t roundKeys_[15][16] = {};
  alignas(32) uint8_t powers_[16][16] = {};
  alignas(16) uint8_t hash_[16] = {};       // running GHASH state, byte-reflected
  alignas(16) uint8_t counter_[16] = {};    // next counter block, byte-reflected
  alignas(16) uint8_t tagMask_[16] = {};    // E_K(J0)
  alignas(16) uint8_t keystream_[16] = {};  // keystream of the partial block
  alignas(16) uint8_t partial_[16] = {};    // ciphertext of the partial block
  uint64_t length_ = 0;                     // bytes of the message so far
  int rounds_ = 0;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_GCM_VAES_H_
