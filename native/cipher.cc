#include "cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "cipher-owners.h"
#include "code-pages.h"
#include "status.h"

namespace ct {

#if CT_HAVE_IPSEC_MB
// One manager for the process, for the direct GCM/GHASH calls of every thread: once initialised
// it holds only function pointers and feature flags, which those calls read and never write
// (their state lives in the caller's gcm_key_data / gcm_context_data). A manager per thread
// cost ~200 KB of resident memory each, on every thread that ever decrypted (issue 13, peak
// RSS). Never freed: threads may use it until the process exits. The job API (AES-CTR in
// cipher-split.cc) keeps a manager of its own per thread: its job queue is state.
IMB_MGR* SharedIpsecManager(IMB_ARCH* arch) {
  struct Shared {
    IMB_MGR* mgr = nullptr;
    IMB_ARCH arch = IMB_ARCH_NONE;
  };
  static const Shared shared = [] {
    Shared result;
    IMB_MGR* mgr = alloc_mb_mgr(0);
    if (mgr == nullptr) return result;
    init_mb_mgr_auto(mgr, &result.arch);
    if (imb_get_errno(mgr) != 0) {
      free_mb_mgr(mgr);
      return result;
    }
    result.mgr = mgr;
    // init_mb_mgr_auto ran ipsec-mb 1.3's known-answer self-tests of every algorithm the library
    // has (DES, ZUC, SNOW3G, SHA, CBC, CTR, CCM, GCM on several architectures): ~2 MiB of its
    // code, run once and never again, that would otherwise stay resident (issue 13, peak RSS).
    ReleaseStartupCodePages();
    return result;
  }();
  if (arch != nullptr) *arch = shared.arch;
  return shared.mgr;
}
#endif

namespace {

#if CT_HAVE_IPSEC_MB
// Probed once: a manager initialised for the best architecture this CPU supports, and whether
// that architecture is AVX-512 with VAES and VPCLMULQDQ (where ipsec-mb beats OpenSSL 3.0's
// 128-bit AES-NI GCM by about 2x). On older CPUs OpenSSL is as fast, so it stays the default.
bool ProbeIpsec() {
  IMB_ARCH arch = IMB_ARCH_NONE;
  IMB_MGR* mgr = SharedIpsecManager(&arch);
  const uint64_t want = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ | IMB_FEATURE_AVX512_SKX;
  return mgr != nullptr && arch == IMB_ARCH_AVX512 && (mgr->features & want) == want;
}
#endif

bool Usable() {
#if CT_HAVE_IPSEC_MB
  static const bool usable = ProbeIpsec();
  return usable;
#else
  return false;
#endif
}

AesEngine InitialEngine() {
  const char* forced = std::getenv("CRYPTOTENSORS_AES_ENGINE");
  if (forced != nullptr && std::strcmp(forced, "openssl") == 0) return AesEngine::kOpenSsl;
  if (forced != nullptr && std::strcmp(forced, "vaes-avx2") == 0 && VaesGcmUsable())
    return AesEngine::kVaesAvx2;
  // "ipsec-mb" or unset: the fastest engine this CPU runs (ipsec-mb's AVX-512 code, else the
  // addon's AVX2 one, else OpenSSL's AES-NI).
  if (Usable()) return AesEngine::kIpsecMb;
  return VaesGcmUsable() ? AesEngine::kVaesAvx2 : AesEngine::kOpenSsl;
}

std::atomic<int>& EngineSetting() {
  static std::atomic<int> engine{static_cast<int>(InitialEngine())};
  return engine;
}

// The engines that compute a decryption's tag without comparing it (ipsec-mb, vaes-avx2): compared
// in constant time, and the computed tag wiped.
int64_t MatchTag(uint8_t* computed, const uint8_t* tag) {
  int mismatch = CRYPTO_memcmp(computed, tag, kTagLength);
  OPENSSL_cleanse(computed, kTagLength);
  return mismatch == 0 ? kOk : kDecryptFailed;
}

const EVP_CIPHER* EvpCipherOf(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm:
      return EVP_aes_128_gcm();
    case AeadAlgorithm::kAes256Gcm:
      return EVP_aes_256_gcm();
    case AeadAlgorithm::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
  }
  return nullptr;
}

}  // namespace

bool IpsecMbUsable() { return Usable(); }

bool VaesAvx2Usable() { return VaesGcmUsable(); }

AesEngine ActiveAesEngine() { return static_cast<AesEngine>(EngineSetting().load()); }

bool SetAesEngine(AesEngine engine) {
  if (engine == AesEngine::kIpsecMb && !Usable()) return false;
  if (engine == AesEngine::kVaesAvx2 && !VaesGcmUsable()) return false;
  EngineSetting().store(static_cast<int>(engine));
  return true;
}

const char* AesEngineName(AesEngine engine) {
  switch (engine) {
    case AesEngine::kIpsecMb:
      return "ipsec-mb";
    case AesEngine::kVaesAvx2:
      return "vaes-avx2";
    case AesEngine::kOpenSsl:
      break;
  }
  return "openssl";
}

ThreadCipher& ThreadCipher::Current() {
  thread_local ThreadCipher cipher;
  return cipher;
}

ThreadCipher::ThreadCipher() = default;

ThreadCipher::~ThreadCipher() { Wipe(); }

bool ThreadCipher::UsesIpsec() const {
  return engine_ == AesEngine::kIpsecMb && algorithm_ != AeadAlgorithm::kChaCha20Poly1305;
}

bool ThreadCipher::UsesVaes() const {
  return engine_ == AesEngine::kVaesAvx2 && algorithm_ != AeadAlgorithm::kChaCha20Poly1305;
}

int64_t ThreadCipher::Key(AeadAlgorithm algorithm, const uint8_t* key) {
  size_t keyLength = AeadKeyLength(algorithm);
  AesEngine engine = ActiveAesEngine();
  if (keyed_ && algorithm == algorithm_ && engine == engine_ &&
      CRYPTO_memcmp(key, key_, keyLength) == 0) {
    return kOk;
  }
  algorithm_ = algorithm;
  engine_ = engine;
  std::memcpy(key_, key, keyLength);
  keyed_ = true;
  evpKeyed_ = false;
  ipsecKeyed_ = false;
  vaesKeyed_ = false;
  if (split_) split_->Wipe();
  if (UsesVaes()) {
    if (!vaes_) {
      vaes_.reset(new (std::nothrow) VaesGcm());
      if (!vaes_) return kInternal;
    }
    if (!vaes_->SetKey(key_, keyLength)) return kInternal;
    vaesKeyed_ = true;
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (!ipsec_) {
      ipsec_.reset(new (std::nothrow) Ipsec());
      if (!ipsec_) return kInternal;
    }
    if (ipsec_->mgr == nullptr) {
      // Keys are expanded by the same (shared) manager that decrypts with them.
      ipsec_->mgr = SharedIpsecManager(nullptr);
      if (ipsec_->mgr == nullptr) return kInternal;
    }
    if (!ipsec_->keyData) {
      void* memory = std::aligned_alloc(64, (sizeof(struct gcm_key_data) + 63) / 64 * 64);
      if (memory == nullptr) return kInternal;
      ipsec_->keyData.reset(static_cast<struct gcm_key_data*>(memory));
    }
    // The direct GCM calls report bad parameters only through ipsec-mb 1.3's process-wide errno,
    // which other threads overwrite: nothing is read back from it. Every parameter is valid by
    // construction (non-null, 12-byte IVs, 16-byte tags, lengths below the GCM limit checked when
    // the plan was built).
    if (algorithm == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_PRE(ipsec_->mgr, key_, ipsec_->keyData.get());
    } else {
      IMB_AES256_GCM_PRE(ipsec_->mgr, key_, ipsec_->keyData.get());
    }
    ipsecKeyed_ = true;
    return kOk;
  }
#endif
  return EvpKey();
}

int64_t ThreadCipher::EvpKey() {
  if (!evp_) {
    evp_.reset(new (std::nothrow) Evp());
    if (!evp_) return kInternal;
  }
  if (!evp_->ctx) {
    evp_->ctx.reset(EVP_CIPHER_CTX_new());
    if (!evp_->ctx) return kInternal;
    evp_->cipher = nullptr;
  }
  const EVP_CIPHER* cipher = EvpCipherOf(algorithm_);
  // Re-keying with a NULL cipher keeps the provider context (no allocation per key change).
  const EVP_CIPHER* pass = evp_->cipher == cipher ? nullptr : cipher;
  if (EVP_CipherInit_ex(evp_->ctx.get(), pass, nullptr, key_, nullptr, 0) != 1) return kInternal;
  evp_->cipher = cipher;
  evpKeyed_ = true;
  return kOk;
}

int64_t ThreadCipher::Decrypt(const uint8_t* iv, const uint8_t* src, uint8_t* dst, size_t length,
                              const uint8_t* tag) {
  int64_t status = DecryptBegin(iv);
  if (status == kOk) status = DecryptUpdate(src, dst, length);
  if (status == kOk) status = DecryptFinish(tag);
  return status;
}

int64_t ThreadCipher::DecryptBegin(const uint8_t* iv) {
  if (!keyed_) return kInternal;
  if (UsesVaes()) {
    if (!vaesKeyed_) return kInternal;
    vaes_->Begin(iv);
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (!ipsecKeyed_) return kInternal;
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
    } else {
      IMB_AES256_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
    }
    return kOk;
  }
#endif
  if (!evpKeyed_ && EvpKey() != kOk) return kInternal;
  return EVP_CipherInit_ex(evp_->ctx.get(), nullptr, nullptr, nullptr, iv, 0) == 1 ? kOk
                                                                                   : kInternal;
}

int64_t ThreadCipher::DecryptUpdate(const uint8_t* src, uint8_t* dst, size_t length) {
  if (!keyed_) return kInternal;
  if (length == 0) return kOk;
  if (UsesVaes()) {
    vaes_->Decrypt(src, dst, length);
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_DEC_UPDATE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, dst, src,
                                length);
    } else {
      IMB_AES256_GCM_DEC_UPDATE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, dst, src,
                                length);
    }
    return kOk;
  }
#endif
  // EVP takes int lengths; longer inputs go through in pieces.
  constexpr size_t kStep = size_t{1} << 30;
  for (size_t pos = 0; pos < length;) {
    size_t step = length - pos < kStep ? length - pos : kStep;
    int written = 0;
    if (EVP_CipherUpdate(evp_->ctx.get(), dst + pos, &written, src + pos, static_cast<int>(step)) !=
            1 ||
        static_cast<size_t>(written) != step) {
      return kDecryptFailed;
    }
    pos += step;
  }
  return kOk;
}

int64_t ThreadCipher::DecryptFinish(const uint8_t* tag) {
  if (!keyed_) return kInternal;
  if (UsesVaes()) {
    uint8_t computed[kTagLength];
    vaes_->Finish(computed);
    return MatchTag(computed, tag);
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    uint8_t computed[kTagLength];
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_DEC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, computed,
                                  kTagLength);
    } else {
      IMB_AES256_GCM_DEC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, computed,
                                  kTagLength);
    }
    return MatchTag(computed, tag);
  }
#endif
  uint8_t expected[kTagLength];
  std::memcpy(expected, tag, kTagLength);
  if (EVP_CIPHER_CTX_ctrl(evp_->ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLength),
                          expected) != 1) {
    return kInternal;
  }
  int finalLength = 0;
  uint8_t scratch[32];
  return EVP_CipherFinal_ex(evp_->ctx.get(), scratch, &finalLength) == 1 ? kOk : kDecryptFailed;
}

int64_t ThreadCipher::Encrypt(const uint8_t* iv, const uint8_t* src, uint8_t* dst, size_t length,
                              uint8_t* tag) {
  int64_t status = EncryptBegin(iv);
  if (status == kOk) status = EncryptUpdate(src, dst, length);
  if (status == kOk) status = EncryptFinish(tag);
  return status;
}

int64_t ThreadCipher::EncryptBegin(const uint8_t* iv) {
  if (!keyed_) return kInternal;
  if (UsesVaes()) {
    if (!vaesKeyed_) return kInternal;
    vaes_->Begin(iv);
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (!ipsecKeyed_) return kInternal;
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
    } else {
      IMB_AES256_GCM_INIT(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, iv, nullptr, 0);
    }
    return kOk;
  }
#endif
  if (!evpKeyed_ && EvpKey() != kOk) return kInternal;
  return EVP_CipherInit_ex(evp_->ctx.get(), nullptr, nullptr, nullptr, iv, 1) == 1 ? kOk
                                                                                   : kInternal;
}

int64_t ThreadCipher::EncryptUpdate(const uint8_t* src, uint8_t* dst, size_t length) {
  if (!keyed_) return kInternal;
  if (length == 0) return kOk;
  if (UsesVaes()) {
    vaes_->Encrypt(src, dst, length);
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_ENC_UPDATE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, dst, src,
                                length);
    } else {
      IMB_AES256_GCM_ENC_UPDATE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, dst, src,
                                length);
    }
    return kOk;
  }
#endif
  // EVP takes int lengths; longer inputs go through in pieces.
  constexpr size_t kStep = size_t{1} << 30;
  for (size_t pos = 0; pos < length;) {
    size_t step = length - pos < kStep ? length - pos : kStep;
    int written = 0;
    if (EVP_CipherUpdate(evp_->ctx.get(), dst + pos, &written, src + pos, static_cast<int>(step)) !=
            1 ||
        static_cast<size_t>(written) != step) {
      return kInternal;
    }
    pos += step;
  }
  return kOk;
}

int64_t ThreadCipher::EncryptFinish(uint8_t* tag) {
  if (!keyed_) return kInternal;
  if (UsesVaes()) {
    vaes_->Finish(tag);
    return kOk;
  }
#if CT_HAVE_IPSEC_MB
  if (UsesIpsec()) {
    if (algorithm_ == AeadAlgorithm::kAes128Gcm) {
      IMB_AES128_GCM_ENC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, tag,
                                  kTagLength);
    } else {
      IMB_AES256_GCM_ENC_FINALIZE(ipsec_->mgr, ipsec_->keyData.get(), &ipsec_->context, tag,
                                  kTagLength);
    }
    return kOk;
  }
#endif
  EVP_CIPHER_CTX* ctx = evp_->ctx.get();
  int finalLength = 0;
  uint8_t scratch[32];
  if (EVP_CipherFinal_ex(ctx, scratch, &finalLength) != 1) return kInternal;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagLength), tag) != 1) {
    return kInternal;
  }
  return kOk;
}

void ThreadCipher::Wipe() {
  if (!keyed_) return;
  OPENSSL_cleanse(key_, sizeof key_);
  keyed_ = false;
  if (vaes_) vaes_->Wipe();
  vaesKeyed_ = false;
#if CT_HAVE_IPSEC_MB
  if (ipsec_ && ipsec_->keyData) {
    OPENSSL_cleanse(ipsec_->keyData.get(), sizeof(struct gcm_key_data));
    OPENSSL_cleanse(&ipsec_->context, sizeof ipsec_->context);
  }
#endif
  if (evp_ && evp_->ctx) {
    // Freeing the context is the only way to clear everything a key leaves in it: OpenSSL's
    // providers clear-free their state (key schedule, GHASH key, ChaCha20's buffered keystream,
    // Poly1305's state) on free, whereas re-keying with zeros left the ChaCha20 keystream
    // buffer behind. The next Key() allocates a new one (once per thread per request).
    evp_->ctx.reset();
    evp_->cipher = nullptr;
  }
  if (split_) split_->Wipe();
  evpKeyed_ = false;
  ipsecKeyed_ = false;
}

}  // namespace ct
