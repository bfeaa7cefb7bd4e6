// The state behind ThreadCipher (cipher.h), shared by its fused (cipher.cc) and split
// (cipher-split.cc) halves: RAII owners with the libraries' own free functions for every OpenSSL
// and ipsec-mb object, and the secret bytes of a split verify-then-decrypt. Internal to those two
// files; no N-API here.
#ifndef CRYPTOTENSORS_CIPHER_OWNERS_H_
#define CRYPTOTENSORS_CIPHER_OWNERS_H_

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "cipher.h"

#if CT_HAVE_IPSEC_MB
// Without LINUX the header declares gcm_key_data without its 64-byte alignment, and the VAES
// kernels use aligned loads on it.
#ifndef LINUX
#define LINUX 1
#endif
#include <intel-ipsec-mb.h>
#endif

namespace ct {

struct EvpCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using EvpCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCtxFree>;

struct EvpMacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
using EvpMacPtr = std::unique_ptr<EVP_MAC, EvpMacFree>;

struct EvpMacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxFree>;

#if CT_HAVE_IPSEC_MB
struct MbMgrFree {
  void operator()(IMB_MGR* mgr) const { free_mb_mgr(mgr); }
};
using MbMgrPtr = std::unique_ptr<IMB_MGR, MbMgrFree>;

// The expanded key schedule: wiped, then freed.
struct GcmKeyFree {
  void operator()(struct gcm_key_data* keyData) const {
    OPENSSL_cleanse(keyData, sizeof(struct gcm_key_data));
    std::free(keyData);
  }
};
using GcmKeyPtr = std::unique_ptr<struct gcm_key_data, GcmKeyFree>;
#endif

struct ThreadCipher::Evp {
  EvpCtxPtr ctx;
  const EVP_CIPHER* cipher = nullptr;  // the cipher ctx was last initialised with
};

#if CT_HAVE_IPSEC_MB
// The process-wide manager of the direct GCM/GHASH calls (cipher.cc); null when ipsec-mb cannot
// be initialised. `arch`, when not null, receives the architecture it was initialised for.
IMB_MGR* SharedIpsecManager(IMB_ARCH* arch);

struct ThreadCipher::Ipsec {
  IMB_MGR* mgr = nullptr;  // SharedIpsecManager(): not owned, never freed
  MbMgrPtr jobMgr;         // this thread's own, for the job API (AES-CTR, cipher-split.cc)
  GcmKeyPtr keyData;       // 64-byte aligned, from aligned_alloc
  gcm_context_data context;
  ~Ipsec() { OPENSSL_cleanse(&context, sizeof context); }
};
#else
struct ThreadCipher::Ipsec {};
#endif

// A split verify-then-decrypt (cipher-split.cc). Every byte array here derives from the key and
// is wiped by Wipe(); the OpenSSL contexts are freed there (their providers clear-free state).
struct ThreadCipher::Split {
  // Authentication: the running GHASH (ipsec-mb) and a partial block not hashed yet, or the
  // Poly1305 MAC context; the message length so far.
  uint8_t hashState[16] = {};
  uint8_t partial[16] = {};
  size_t partialLength = 0;
  uint64_t authLength = 0;
  uint8_t tagMask[16] = {};  // E_K(J0) (ipsec-mb GCM)
  uint8_t hashKey[16] = {};  // H = E_K(0^128) (OpenSSL GCM), set by SplitKey
  bool hashKeyReady = false;
  EvpMacPtr poly1305;
  EvpMacCtxPtr mac;
  // Decryption: AES-CTR or ChaCha20 (OpenSSL) keyed by SplitKey, or the next CTR block (ipsec-mb).
  EvpCtxPtr stream;
  bool streamKeyed = false;
  uint8_t counterBlock[16] = {};
  void Wipe() {
    OPENSSL_cleanse(hashState, sizeof hashState);
    OPENSSL_cleanse(partial, sizeof partial);
    OPENSSL_cleanse(tagMask, sizeof tagMask);
    OPENSSL_cleanse(hashKey, sizeof hashKey);
    OPENSSL_cleanse(counterBlock, sizeof counterBlock);
    partialLength = 0;
    authLength = 0;
    hashKeyReady = false;
    mac.reset();
    stream.reset();
    streamKeyed = false;
  }
  ~Split() { Wipe(); }
};

}  // namespace ct

#endif  // CRYPTOTENSORS_CIPHER_OWNERS_H_
