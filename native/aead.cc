#include "aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "status.h"

namespace ct {

namespace {

// Below this many bytes a request stays on its worker thread: spawning costs more than it saves.
constexpr uint64_t kParallelThreshold = uint64_t{1} << 20;
// Reads and decrypts alternate in slices of this size so that data is hot in cache when decrypted.
constexpr size_t kSliceBytes = size_t{4} << 20;
constexpr unsigned kMaxThreads = 8;

const EVP_CIPHER* CipherOf(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm: return EVP_aes_128_gcm();
    case AeadAlgorithm::kAes256Gcm: return EVP_aes_256_gcm();
    case AeadAlgorithm::kChaCha20Poly1305: return EVP_chacha20_poly1305();
  }
  return nullptr;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }  // also wipes the key schedule
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// IV of chunk `index` (absolute): baseIv[0..8] || BE32(c0 + index); the caller checked overflow.
void ChunkIv(const uint8_t* baseIv, uint64_t index, uint8_t* iv) {
  std::memcpy(iv, baseIv, kIvLength);
  uint64_t c0 = (uint64_t{baseIv[8]} << 24) | (uint64_t{baseIv[9]} << 16) |
                (uint64_t{baseIv[10]} << 8) | uint64_t{baseIv[11]};
  uint64_t counter = c0 + index;
  iv[8] = static_cast<uint8_t>(counter >> 24);
  iv[9] = static_cast<uint8_t>(counter >> 16);
  iv[10] = static_cast<uint8_t>(counter >> 8);
  iv[11] = static_cast<uint8_t>(counter);
}

// Decrypts chunks [begin, end) of the job with one context. Stops early when another thread failed.
int64_t DecryptChunks(const DecryptJob& job, const RangeReader& read, uint8_t* dest, uint64_t begin,
                      uint64_t end, const std::atomic<bool>& abort) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return kInternal;
  if (EVP_DecryptInit_ex(ctx.get(), CipherOf(job.algorithm), nullptr, job.key, nullptr) != 1) {
    return kInternal;
  }
  const bool whole = job.chunkSize == 0;
  for (uint64_t i = begin; i < end; i++) {
    if (abort.load(std::memory_order_relaxed)) return kOk;
    uint8_t iv[kIvLength];
    if (whole) {
      std::memcpy(iv, job.baseIv, kIvLength);
    } else {
      ChunkIv(job.baseIv, job.firstChunk + i, iv);
    }
    if (EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, iv) != 1) return kInternal;

    uint64_t start = whole ? 0 : i * job.chunkSize;
    uint64_t stop = whole ? job.length : std::min(job.length, start + job.chunkSize);
    for (uint64_t pos = start; pos < stop;) {
      size_t slice = static_cast<size_t>(std::min<uint64_t>(kSliceBytes, stop - pos));
      int64_t status = read(job.fileOffset + pos, dest + pos, slice);
      if (status != kOk) return status;
      int written = 0;
      // In-place decryption (out == in) is supported by EVP for these stream-mode AEADs.
      if (EVP_DecryptUpdate(ctx.get(), dest + pos, &written, dest + pos, static_cast<int>(slice)) != 1 ||
          static_cast<size_t>(written) != slice) {
        return kDecryptFailed;
      }
      pos += slice;
    }
    uint8_t tag[kTagLength];
    std::memcpy(tag, job.tags + i * kTagLength, kTagLength);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLength), tag) != 1) {
      return kInternal;
    }
    int finalLength = 0;
    uint8_t scratch[32];
    if (EVP_DecryptFinal_ex(ctx.get(), scratch, &finalLength) != 1) return kDecryptFailed;
  }
  return kOk;
}

}  // namespace

size_t AeadKeyLength(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kAes128Gcm ? 16 : 32;
}

uint64_t AeadChunkCount(uint64_t length, uint64_t chunkSize) {
  if (chunkSize == 0 || length == 0) return 1;
  return length / chunkSize + (length % chunkSize != 0 ? 1 : 0);
}

unsigned AeadThreadCount() {
  unsigned hw = std::thread::hardware_concurrency();
  if (hw == 0) hw = 1;
  return std::min(hw, kMaxThreads);
}

int64_t AeadDecryptRange(const DecryptJob& job, const RangeReader& read, uint8_t* dest,
                         unsigned threads) {
  const uint64_t chunks = AeadChunkCount(job.length, job.chunkSize);
  if (job.chunkSize != 0) {
    // FORMAT.md §3.4: the counter sum is checked, never wrapped. Operands are below 2^53 (the TS
    // layer and the binding check), so the 64-bit sum cannot overflow.
    uint64_t c0 = (uint64_t{job.baseIv[8]} << 24) | (uint64_t{job.baseIv[9]} << 16) |
                  (uint64_t{job.baseIv[10]} << 8) | uint64_t{job.baseIv[11]};
    if (c0 + job.firstChunk + (chunks - 1) > 0xFFFFFFFFull) return kCounterOverflow;
  }

  std::atomic<bool> abort{false};
  uint64_t parts = 1;
  if (job.chunkSize != 0 && job.length >= kParallelThreshold) {
    parts = std::min<uint64_t>(std::max(threads, 1u), chunks);
  }
  std::vector<int64_t> results(parts, kOk);
  auto runPart = [&](uint64_t part) {
    uint64_t begin = chunks * part / parts;
    uint64_t end = chunks * (part + 1) / parts;
    int64_t status = kInternal;
    try {  // an exception escaping a std::thread would terminate the process
      status = DecryptChunks(job, read, dest, begin, end, abort);
    } catch (...) {
    }
    if (status != kOk) abort.store(true, std::memory_order_relaxed);
    results[part] = status;
  };

  std::vector<std::thread> helpers;
  std::vector<uint64_t> inline_parts;
  for (uint64_t part = 1; part < parts; part++) {
    try {
      helpers.emplace_back(runPart, part);
    } catch (...) {
      inline_parts.push_back(part);  // could not spawn: do that share on this thread
    }
  }
  runPart(0);
  for (uint64_t part : inline_parts) runPart(part);
  for (auto& helper : helpers) helper.join();

  int64_t outcome = kOk;
  for (int64_t status : results) {
    if (status != kOk) {
      outcome = status;
      break;
    }
  }
  if (outcome != kOk && job.length > 0) {
    // Never leave partial plaintext (or ciphertext posing as plaintext) in the caller's buffer.
    OPENSSL_cleanse(dest, static_cast<size_t>(job.length));
  }
  return outcome;
}

}  // namespace ct
