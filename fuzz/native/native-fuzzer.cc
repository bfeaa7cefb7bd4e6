// libFuzzer harness for the native entry points, called directly (no N-API): MappedFile::Open /
// ReadExact (range reads) and AeadDecryptRange (v1 and chunked v2 decrypt) over a memfd file.
// Built with ASan + UBSan by scripts/fuzz-native.sh. The input is a small job description
// followed by the file's bytes:
//
//   byte 0      mode: bit 0 seal the range first (so tags verify and plaintext is compared),
//               bit 1 truncate the file after open, bits 2+7 grow the range past 1 MiB (threads),
//               bits 3-4 algorithm, bits 5-6 thread count of the single-request API (plan API:
//               bit 5 marks the destination private, PlanEntry::destPrivate)
//   bytes 1-8   file offset (LE; any value, also far beyond the file)
//   bytes 9-12  length (LE, capped)        bytes 13-16 chunk size (LE; 0 = whole)
//   bytes 17-20 first chunk (LE)           bytes 21-52 key   bytes 53-64 base IV
//   rest        file contents; the tags are taken from its tail when not sealing
//
// Invariants checked: no memory error (ASan), no UB (UBSan), ReadExact never reports success for
// bytes the file does not have, decrypt of sealed data gives the plaintext back, every failed
// decrypt leaves the destination zeroed (or untouched, when refused up front). Where the CPU runs
// it, the addon's own AES-GCM (gcm-vaes.h) is also checked against OpenSSL on every input: the
// file's bytes sealed and opened in pieces cut where the input says, in place or not, give
// OpenSSL's ciphertext and tag (a self-consistent bug would pass the round trips above).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "aead.h"
#if __has_include("gcm-vaes.h")
#include "gcm-vaes.h"
#endif
#include "mapped-file.h"
#if __has_include("plan.h")
#include "plan.h"
#include "thread-pool.h"
#endif
#include "status.h"

namespace {

// The job the harness builds; handed to whichever decrypt entry point native/ has.
struct Job {
  ct::AeadAlgorithm algorithm;
  const uint8_t* key;
  uint64_t fileOffset;
  uint64_t length;
  uint64_t chunkSize;
  uint64_t firstChunk;
  const uint8_t* baseIv;
  const uint8_t* tags;
};

#if __has_include("plan.h")
// Plan API (native fast path): entries run over the shared pool, ciphertext read from the mapping.
int64_t Decrypt(const Job& job, const ct::MappedFile& file, uint8_t* dest, unsigned threads) {
  ct::PlanEntry entry;
  // Both read paths: decrypt in place in a private destination, or verify, then decrypt.
  entry.destPrivate = ((threads - 1) & 1) != 0;
  entry.decrypt = true;
  entry.algorithm = job.algorithm;
  entry.key = job.key;
  entry.fileOffset = job.fileOffset;
  entry.length = job.length;
  entry.chunkSize = job.chunkSize;
  entry.firstChunk = job.firstChunk;
  entry.baseIv = job.baseIv;
  entry.tags = job.tags;
  entry.dest = dest;
  return ct::RunPlan(file, &entry, 1).status;
}
#else
// Single-request API: AeadDecryptRange over a pread range reader.
int64_t Decrypt(const Job& job, const ct::MappedFile& file, uint8_t* dest, unsigned threads) {
  ct::DecryptJob request{job.algorithm, job.key,        job.fileOffset, job.length,
                         job.chunkSize, job.firstChunk, job.baseIv,     job.tags};
  ct::RangeReader read = [&file](uint64_t offset, uint8_t* out, size_t n) {
    return file.ReadExact(offset, out, n);
  };
  return ct::AeadDecryptRange(request, read, dest, threads);
}
#endif

constexpr size_t kHeaderBytes = 65;
constexpr uint64_t kMaxLength = 64 * 1024;
constexpr uint64_t kThreadedLength = (uint64_t{1} << 20) + 4096;

uint64_t Le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

const EVP_CIPHER* Cipher(ct::AeadAlgorithm algorithm) {
  switch (algorithm) {
    case ct::AeadAlgorithm::kAes128Gcm:
      return EVP_aes_128_gcm();
    case ct::AeadAlgorithm::kAes256Gcm:
      return EVP_aes_256_gcm();
    default:
      return EVP_chacha20_poly1305();
  }
}

// Independent encryptor (FORMAT.md §3.3-§3.4): IV of absolute chunk k = base[0..8] || BE32(c0 + k).
bool Seal(const Job& job, std::vector<uint8_t>* data, std::vector<uint8_t>* tags) {
  uint64_t chunks = ct::AeadChunkCount(job.length, job.chunkSize);
  uint64_t c0 = 0;
  for (int i = 8; i < 12; i++) c0 = (c0 << 8) | job.baseIv[i];
  if (job.chunkSize != 0 && c0 + job.firstChunk + chunks - 1 > 0xFFFFFFFFull) return false;
  tags->assign(chunks * ct::kTagLength, 0);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (uint64_t i = 0; i < chunks; i++) {
    uint8_t iv[ct::kIvLength];
    std::memcpy(iv, job.baseIv, ct::kIvLength);
    if (job.chunkSize != 0) {
      uint64_t counter = c0 + job.firstChunk + i;
      for (int b = 0; b < 4; b++) iv[11 - b] = static_cast<uint8_t>(counter >> (8 * b));
    }
    uint64_t start = job.chunkSize == 0 ? 0 : i * job.chunkSize;
    uint64_t stop = job.chunkSize == 0 ? job.length : std::min(job.length, start + job.chunkSize);
    int out = 0;
    EVP_EncryptInit_ex(ctx, Cipher(job.algorithm), nullptr, job.key, iv);
    if (stop > start)
      EVP_EncryptUpdate(ctx, data->data() + start, &out, data->data() + start,
                        static_cast<int>(stop - start));
    EVP_EncryptFinal_ex(ctx, nullptr, &out);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ct::kTagLength,
                        tags->data() + i * ct::kTagLength);
  }
  EVP_CIPHER_CTX_free(ctx);
  return true;
}

std::shared_ptr<ct::MappedFile> OpenMemfd(const std::vector<uint8_t>& contents, int* fdOut) {
  int fd = memfd_create("ct-fuzz", MFD_CLOEXEC);
  if (fd < 0) Fail("memfd_create");
  if (!contents.empty() &&
      write(fd, contents.data(), contents.size()) != static_cast<ssize_t>(contents.size()))
    Fail("write");
  std::shared_ptr<ct::MappedFile> state;
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (ct::MappedFile::Open(path, &state) != ct::kOk) Fail("open of a regular memfd failed");
  if (state->size() != contents.size()) Fail("size at open");
  *fdOut = fd;
  return state;
}

}  // namespace

#if __has_include("plan.h")
// The addon holds the pool from its N-API init; the harness has no environment, so it holds it
// itself (else every plan would run on the calling thread only and the threaded paths go unseen).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ct::HoldPool();
  return 0;
}
#endif

#if __has_include("gcm-vaes.h")
// OpenSSL's one-shot AES-GCM of `plain` (no AAD): ciphertext and tag.
void OpenSslSeal(const uint8_t* key, size_t keyLength, const uint8_t* iv,
                 const std::vector<uint8_t>& plain, std::vector<uint8_t>& out, uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  out.assign(plain.size() + 16, 0);
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx, keyLength == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(), nullptr, key,
                         iv) != 1 ||
      (!plain.empty() &&
       EVP_EncryptUpdate(ctx, out.data(), &n, plain.data(), static_cast<int>(plain.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx, out.data() + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
    Fail("OpenSSL AES-GCM");
  }
  out.resize(plain.size());
  EVP_CIPHER_CTX_free(ctx);
}

// The addon's VAES/AVX2 AES-GCM against OpenSSL: pieces cut at lengths taken from `cuts`.
void CheckVaesGcm(const uint8_t* key, const uint8_t* iv, uint8_t mode, const uint8_t* cuts,
                  const std::vector<uint8_t>& plain) {
  if (!ct::VaesGcmUsable()) return;
  const size_t keyLength = (mode & 8) ? 16 : 32;
  const bool inPlace = (mode & 16) != 0;
  std::vector<uint8_t> expected;
  uint8_t expectedTag[16], tag[16];
  OpenSslSeal(key, keyLength, iv, plain, expected, expectedTag);
  static ct::VaesGcm gcm;
  if (!gcm.SetKey(key, keyLength)) Fail("VaesGcm::SetKey");
  auto run = [&](bool encrypt, const std::vector<uint8_t>& in, std::vector<uint8_t>& out) {
    if (inPlace) out = in;
    gcm.Begin(iv);
    for (size_t pos = 0, i = 0; pos < in.size(); i++) {
      // Piece lengths 1..1024 from the input's bytes, or the rest at once.
      size_t cut = cuts[i % 12] == 0 ? in.size() - pos : (cuts[i % 12] * 4 + i) % 1024 + 1;
      size_t step = std::min(cut, in.size() - pos);
      const uint8_t* src = inPlace ? out.data() + pos : in.data() + pos;
      if (encrypt) {
        gcm.Encrypt(src, out.data() + pos, step);
      } else {
        gcm.Decrypt(src, out.data() + pos, step);
      }
      pos += step;
    }
    gcm.Finish(tag);
  };
  std::vector<uint8_t> sealed(plain.size()), opened(plain.size());
  run(true, plain, sealed);
  if (sealed != expected || std::memcmp(tag, expectedTag, 16) != 0)
    Fail("VaesGcm sealed differently from OpenSSL");
  run(false, sealed, opened);
  if (opened != plain || std::memcmp(tag, expectedTag, 16) != 0)
    Fail("VaesGcm opened differently from OpenSSL");
  gcm.Wipe();
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (size < kHeaderBytes) return 0;
  const uint8_t mode = input[0];
  // Threaded (1 MiB) jobs are slow under ASan: one input in four, not one in two.
  const bool seal = mode & 1, truncate = mode & 2, threaded = (mode & 4) && (mode & 0x80);
  const auto algorithm = static_cast<ct::AeadAlgorithm>(((mode >> 3) & 3) % 3);
  uint64_t fileOffset = Le(input + 1, 8);
  uint64_t length = threaded ? kThreadedLength : Le(input + 9, 4) % (kMaxLength + 1);
  uint64_t chunkSize = Le(input + 13, 4);
  if (threaded && chunkSize == 0)
    chunkSize = 4096;  // the threaded split only applies to chunked jobs
  uint64_t firstChunk = Le(input + 17, 4);
  const uint8_t* key = input + 21;
  const uint8_t* baseIv = input + 53;
  std::vector<uint8_t> contents(input + kHeaderBytes, input + size);
#if __has_include("gcm-vaes.h")
  CheckVaesGcm(key, baseIv, mode, input + 1, contents);
#endif

  // --- Range read: any offset/length; success only for bytes that exist.
  {
    int fd = -1;
    auto state = OpenMemfd(contents, &fd);
    uint64_t readLength = Le(input + 9, 4) % (kMaxLength + 1);
    std::vector<uint8_t> dest(readLength);
    if (truncate && ftruncate(fd, static_cast<off_t>(contents.size() / 2)) != 0) Fail("ftruncate");
    uint64_t available = truncate ? contents.size() / 2 : contents.size();
    int64_t status = state->ReadExact(fileOffset, dest.data(), dest.size());
    // A zero-length read is a no-op wherever it points.
    bool fits =
        readLength == 0 || (fileOffset <= available && readLength <= available - fileOffset);
    if (status == ct::kOk && !fits) Fail("ReadExact succeeded past the end of the file");
    if (fits && status != ct::kOk) Fail("ReadExact failed inside the file");
    if (status == ct::kOk && readLength > 0 &&
        std::memcmp(dest.data(), contents.data() + fileOffset, readLength) != 0)
      Fail("ReadExact returned other bytes");
    state->Close();
    if (state->ReadExact(0, dest.data(), dest.size()) != ct::kClosed) Fail("read after close");
    close(fd);
  }

  // --- Decrypt: a job over [fileOffset, fileOffset + length) of the file.
  if (seal || threaded) fileOffset %= 4096;
  Job job{algorithm, key, fileOffset, length, chunkSize, firstChunk, baseIv, nullptr};
  uint64_t chunks = ct::AeadChunkCount(length, chunkSize);
  if (chunks > (uint64_t{1} << 16)) return 0;  // the TS layer sizes tags; keep inputs small
  std::vector<uint8_t> tags;
  std::vector<uint8_t> plain;
  if (seal || threaded) {
    contents.resize(fileOffset + length, 0);
    plain.assign(contents.begin() + fileOffset, contents.end());
    std::vector<uint8_t> sealed = plain;
    if (!Seal(job, &sealed, &tags)) tags.assign(chunks * ct::kTagLength, 0);
    std::copy(sealed.begin(), sealed.end(), contents.begin() + fileOffset);
  } else {
    tags.assign(chunks * ct::kTagLength, 0);
    for (size_t i = 0; i < tags.size() && i < contents.size(); i++)
      tags[i] = contents[contents.size() - 1 - i];
  }
  job.tags = tags.data();
  int fd = -1;
  auto state = OpenMemfd(contents, &fd);
  if (truncate && ftruncate(fd, static_cast<off_t>(contents.size() / 2)) != 0) Fail("ftruncate");
  std::vector<uint8_t> dest(length, 0xA5);
  int64_t status = Decrypt(job, *state, dest.data(), 1 + (mode >> 5) % 4);
  if (status == ct::kOk) {
    if (!seal && !threaded && length > 0) Fail("decrypt accepted unsealed bytes");
    if ((seal || threaded) && dest != plain) Fail("decrypt returned other plaintext");
  } else {
    // Refused before touching dest (counter overflow): still the filler. Failed later: wiped.
    bool untouched = std::all_of(dest.begin(), dest.end(), [](uint8_t b) { return b == 0xA5; });
    bool wiped = std::all_of(dest.begin(), dest.end(), [](uint8_t b) { return b == 0; });
    if (!untouched && !wiped) Fail("a failed decrypt left bytes in the destination");
  }
  close(fd);
  return 0;
}
