// ThreadCipher's split primitives (cipher.h): the tag of an AEAD message checked alone over its
// ciphertext, then the keystream applied alone. Together they cost about one fused AEAD pass, and
// nothing is decrypted before the tag has verified.
//
// AES-GCM (NIST SP 800-38D): T = E_K(J0) xor GHASH_H(C || pad || len(A)=0 || len(C)), and the
// plaintext is C xor AES-CTR from inc32(J0), J0 = IV || 0^31 || 1.
//  - ipsec-mb: GHASH over each piece with IMB_GHASH (running state in Split::hashState, blocks
//    buffered across calls), E_K(J0) as the tag of the empty message; CTR through a CNTR job
//    whose 16-byte counter block starts at IV || BE32(2).
//  - OpenSSL: EVP GCM with the ciphertext fed as AAD gives T' = E_K(J0) xor GHASH(C || pad ||
//    len(A)=|C| || len(C)=0). GHASH is linear, so T = T' xor ((L xor L') . H) with the length
//    blocks L, L' and H = E_K(0^128); CTR with EVP_aes_*_ctr from IV || BE32(2). Below the
//    enforced 2^36 - 32 byte limit the 32-bit counter never wraps, so a full 128-bit increment
//    (OpenSSL's and ipsec-mb's) gives the same blocks as GCM's inc32.
// ChaCha20-Poly1305 (RFC 8439 §2.8): the Poly1305 key is the first 32 bytes of ChaCha20 block 0;
// the MAC covers C || pad16(C) || LE64(len(A)=0) || LE64(len(C)); plaintext is C xor ChaCha20
// from block 1.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <new>

#include "cipher-owners.h"
#include "cipher.h"
#include "status.h"

namespace ct {

namespace {

// EVP takes int lengths; longer inputs go through in steps.
constexpr size_t kEvpStep = size_t{1} << 30;

void PutBe64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

void PutLe64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetBe64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | in[i];
  return v;
}

// x . y in GF(2^128) with GCM's bit order (SP 800-38D, Algorithm 1), without branches on the
// (secret) operands. Once per message, so the bitwise loop costs nothing measurable.
void GfMul(const uint8_t* x, const uint8_t* y, uint8_t* out) {
  uint64_t zh = 0, zl = 0;
  uint64_t vh = GetBe64(y), vl = GetBe64(y + 8);
  const uint64_t xh = GetBe64(x), xl = GetBe64(x + 8);
  for (int i = 0; i < 128; i++) {
    uint64_t bit = i < 64 ? (xh >> (63 - i)) & 1 : (xl >> (127 - i)) & 1;
    uint64_t mask = 0 - bit;
    zh ^= vh & mask;
    zl ^= vl & mask;
    uint64_t carry = 0 - (vl & 1);
    vl = (vl >> 1) | (vh << 63);
    vh = (vh >> 1) ^ (carry & 0xE100000000000000ull);
  }
  PutBe64(out, zh);
  PutBe64(out + 8, zl);
}

const EVP_CIPHER* StreamCipherOf(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm:
      return EVP_aes_128_ctr();
    case AeadAlgorithm::kAes256Gcm:
      return EVP_aes_256_ctr();
    case AeadAlgorithm::kChaCha20Poly1305:
      return EVP_chacha20();
  }
  return nullptr;
}

int64_t EvpStream(EVP_CIPHER_CTX* ctx, const uint8_t* src, uint8_t* dst, size_t length) {
  for (size_t pos = 0; pos < length;) {
    size_t step = length - pos < kEvpStep ? length - pos : kEvpStep;
    int written = 0;
    if (EVP_CipherUpdate(ctx, dst + pos, &written, src + pos, static_cast<int>(step)) != 1 ||
        static_cast<size_t>(written) != step) {
      return kInternal;
    }
    pos += step;
  }
  return kOk;
}

// ChaCha20's 16-byte EVP IV: the 32-bit block counter (little endian), then the 12-byte nonce.
void ChaChaIv(const uint8_t* iv, uint32_t block, uint8_t* out) {
  for (int i = 0; i < 4; i++) out[i] = static_cast<uint8_t>(block >> (8 * i));
  std::memcpy(out + 4, iv, kIvLength);
}

// GCM's first keystream block: IV || BE32(2) = inc32(J0).
void GcmCounterBlock(const uint8_t* iv, uint8_t* out) {
  std::memcpy(out, iv, kIvLength);
  out[12] = 0;
  out[13] = 0;
  out[14] = 0;
  out[15] = 2;
}

}  // namespace

// Allocates the split state and keys what the split primitives need beyond the fused engine's
// key: the stream cipher context (OpenSSL AES-CTR or ChaCha20) and H for OpenSSL GCM.
int64_t ThreadCipher::SplitReady() {
  if (!keyed_) return kInternal;
  if (!split_) {
    split_.reset(new (std::nothrow) Split());
    if (!split_) return kInternal;
  }
  if (UsesIpsec()) return ipsecKeyed_ ? kOk : kInternal;
  if (!evpKeyed_ && EvpKey() != kOk) return kInternal;
  Split& s = *split_;
  if (!s.stream) {
    s.stream.reset(EVP_CIPHER_CTX_new());
    if (!s.stream) return kInternal;
    s.streamKeyed = false;
  }
  if (!s.streamKeyed) {
    if (EVP_CipherInit_ex(s.stream.get(), StreamCipherOf(algorithm_), nullptr, key_, nullptr, 1) !=
        1) {
      return kInternal;
    }
    s.streamKeyed = true;
  }
  if (algorithm_ != AeadAlgorithm::kChaCha20Poly1305 && !s.hashKeyReady) {
    // H = E_K(0^128): the CTR context run over one zero block from a zero counter block.
    static const uint8_t kZero[16] = {};
    if (EVP_CipherInit_ex(s.stream.get(), nullptr, nullptr, nullptr, kZero, 1) != 1 ||
        EvpStream(s.stream.get(), kZero, s.hashKey, sizeof s.hashKey) != kOk) {
      return kInternal;
    }
    s.hashKeyReady = true;
  }
  if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305 && !s.poly1305) {
    s.poly1305.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_POLY1305, nullptr));
    if (!s.poly1305) return kInternal;
  }
  return kOk;
}

int64_t ThreadCipher::AuthBegin(const uint8_t* iv) {
  if (SplitReady() != kOk) return kInternal;
  Split& s = *split_;
  OPENSSL_cleanse(s.hashState, sizeof s.hashState);
  s.partialLength = 0;
  s.authLength = 0;
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    // The tag of the empty message is E_K(J0) (GHASH of the all-zero length block is 0).
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
      IMB_AES128_GCM_ENC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, s.tagMask,
                                  kTagLength);
    } else {
      IMB_AES256_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
      IMB_AES256_GCM_ENC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, s.tagMask,
                                  kTagLength);
    }
    return kOk;
  }
#endif
  if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
    uint8_t counterIv[16];
    ChaChaIv(iv, 0, counterIv);
    uint8_t polyKey[32] = {};
    int64_t status = kInternal;
    if (EVP_CipherInit_ex(s.stream.get(), nullptr, nullptr, nullptr, counterIv, 1) == 1 &&
        EvpStream(s.stream.get(), polyKey, polyKey, sizeof polyKey) == kOk) {
      if (!s.mac) s.mac.reset(EVP_MAC_CTX_new(s.poly1305.get()));
      if (s.mac && EVP_MAC_init(s.mac.get(), polyKey, sizeof polyKey, nullptr) == 1) status = kOk;
    }
    OPENSSL_cleanse(polyKey, sizeof polyKey);
    return status;
  }
  return EVP_CipherInit_ex(evp_->ctx.get(), nullptr, nullptr, nullptr, iv, 1) == 1 ? kOk
                                                                                   : kInternal;
}

int64_t ThreadCipher::AuthUpdate(const uint8_t* ciphertext, size_t length) {
  if (!split_ || !keyed_) return kInternal;
  Split& s = *split_;
  s.authLength += length;
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    IMB_MGR* mgr = ipsec_->mgr;
    const struct gcm_key_data* keyData = ipsec_->keyData.get();
    if (s.partialLength > 0) {
      size_t take = kTagLength - s.partialLength < length ? kTagLength - s.partialLength : length;
      std::memcpy(s.partial + s.partialLength, ciphertext, take);
      s.partialLength += take;
      ciphertext += take;
      length -= take;
      if (s.partialLength < kTagLength) return kOk;
      IMB_GHASH(mgr, keyData, s.partial, kTagLength, s.hashState, kTagLength);
      s.partialLength = 0;
    }
    size_t whole = length / kTagLength * kTagLength;
    if (whole > 0) IMB_GHASH(mgr, keyData, ciphertext, whole, s.hashState, kTagLength);
    s.partialLength = length - whole;
    if (s.partialLength > 0) std::memcpy(s.partial, ciphertext + whole, s.partialLength);
    return kOk;
  }
#endif
  if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
    return length == 0 || EVP_MAC_update(s.mac.get(), ciphertext, length) == 1 ? kOk : kInternal;
  }
  for (size_t pos = 0; pos < length;) {
    size_t step = length - pos < kEvpStep ? length - pos : kEvpStep;
    int written = 0;
    if (EVP_CipherUpdate(evp_->ctx.get(), nullptr, &written, ciphertext + pos,
                         static_cast<int>(step)) != 1) {
      return kInternal;
    }
    pos += step;
  }
  return kOk;
}

int64_t ThreadCipher::AuthFinish(const uint8_t* tag) {
  if (!split_ || !keyed_) return kInternal;
  Split& s = *split_;
  uint8_t computed[kTagLength];
  const uint64_t bits = s.authLength * 8;
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    IMB_MGR* mgr = ipsec_->mgr;
    const struct gcm_key_data* keyData = ipsec_->keyData.get();
    if (s.partialLength > 0) {
      std::memset(s.partial + s.partialLength, 0, kTagLength - s.partialLength);
      IMB_GHASH(mgr, keyData, s.partial, kTagLength, s.hashState, kTagLength);
      s.partialLength = 0;
    }
    uint8_t lengths[16] = {};
    PutBe64(lengths + 8, bits);
    IMB_GHASH(mgr, keyData, lengths, sizeof lengths, s.hashState, kTagLength);
    for (size_t i = 0; i < kTagLength; i++) computed[i] = s.hashState[i] ^ s.tagMask[i];
  } else
#endif
      if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
    static const uint8_t kZero[16] = {};
    uint8_t lengths[16];
    PutLe64(lengths, 0);
    PutLe64(lengths + 8, s.authLength);
    size_t pad = (16 - s.authLength % 16) % 16;
    size_t written = 0;
    if ((pad > 0 && EVP_MAC_update(s.mac.get(), kZero, pad) != 1) ||
        EVP_MAC_update(s.mac.get(), lengths, sizeof lengths) != 1 ||
        EVP_MAC_final(s.mac.get(), computed, &written, sizeof computed) != 1 ||
        written != kTagLength) {
      return kInternal;
    }
  } else {
    int finalLength = 0;
    uint8_t unused[32];
    if (EVP_CipherFinal_ex(evp_->ctx.get(), unused, &finalLength) != 1 ||
        EVP_CIPHER_CTX_ctrl(evp_->ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagLength),
                            computed) != 1) {
      return kInternal;
    }
    // The ciphertext went in as AAD: swap the length block's halves back (see the top).
    uint8_t lengthDelta[16];
    PutBe64(lengthDelta, bits);
    PutBe64(lengthDelta + 8, bits);
    uint8_t correction[16];
    GfMul(lengthDelta, s.hashKey, correction);
    for (size_t i = 0; i < kTagLength; i++) computed[i] ^= correction[i];
    OPENSSL_cleanse(correction, sizeof correction);
  }
  int mismatch = CRYPTO_memcmp(computed, tag, kTagLength);
  OPENSSL_cleanse(computed, sizeof computed);
  OPENSSL_cleanse(s.hashState, sizeof s.hashState);
  return mismatch == 0 ? kOk : kDecryptFailed;
}

int64_t ThreadCipher::StreamBegin(const uint8_t* iv) {
  if (SplitReady() != kOk) return kInternal;
  Split& s = *split_;
  uint8_t counterIv[16];
  if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
    ChaChaIv(iv, 1, counterIv);
  } else {
    GcmCounterBlock(iv, counterIv);
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    std::memcpy(s.counterBlock, counterIv, sizeof counterIv);
    return kOk;
  }
#endif
  return EVP_CipherInit_ex(s.stream.get(), nullptr, nullptr, nullptr, counterIv, 1) == 1
             ? kOk
             : kInternal;
}

int64_t ThreadCipher::StreamUpdate(const uint8_t* src, uint8_t* dst, size_t length) {
  if (!split_ || !keyed_) return kInternal;
  if (length == 0) return kOk;
  Split& s = *split_;
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (!ipsec_->jobMgr) {
      // The job API queues state in its manager: this thread's own, unlike the shared one of the
      // direct calls; same architecture, as init_mb_mgr_auto picks it the same way. Its errno
      // slot is per manager, hence reliable here.
      ipsec_->jobMgr.reset(alloc_mb_mgr(0));
      if (!ipsec_->jobMgr) return kInternal;
      init_mb_mgr_auto(ipsec_->jobMgr.get(), nullptr);
      if (imb_get_errno(ipsec_->jobMgr.get()) != 0) return kInternal;
    }
    IMB_MGR* mgr = ipsec_->jobMgr.get();
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->hash_alg = IMB_AUTH_NULL;
    job->key_len_in_bytes = algorithm_ == AeadAlgorithm::kAes128Gcm ? 16 : 32;
    job->enc_keys = ipsec_->keyData->expanded_keys;
    job->dec_keys = ipsec_->keyData->expanded_keys;
    job->src = src;
    job->dst = dst;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = length;
    job->iv = s.counterBlock;
    job->iv_len_in_bytes = sizeof s.counterBlock;
    job = IMB_SUBMIT_JOB(mgr);
    if (job == nullptr) job = IMB_FLUSH_JOB(mgr);
    // The job's own status (not the racy process-wide errno of the direct API).
    if (job == nullptr || job->status != IMB_STATUS_COMPLETED) return kInternal;
    // The next call continues at block (length / 16): callers pass multiples of 64 but the last.
    uint32_t counter = (uint32_t{s.counterBlock[12]} << 24) | (uint32_t{s.counterBlock[13]} << 16) |
                       (uint32_t{s.counterBlock[14]} << 8) | uint32_t{s.counterBlock[15]};
    counter += static_cast<uint32_t>(length / 16);
    for (int i = 0; i < 4; i++) s.counterBlock[15 - i] = static_cast<uint8_t>(counter >> (8 * i));
    return kOk;
  }
#endif
  return EvpStream(s.stream.get(), src, dst, length);
}

}  // namespace ct
