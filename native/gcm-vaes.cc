#include "gcm-vaes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CT_HAVE_VAES_GCM 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define CT_HAVE_VAES_GCM 0
#endif

namespace ct {

#if CT_HAVE_VAES_GCM

// Only the functions below use these instructions; the rest of the addon runs on any x86-64.
#define CT_VAES __attribute__((target("aes,pclmul,avx2,vaes,vpclmulqdq")))

namespace {

// Each source byte is read once and both the cipher and GHASH use that one value (gcm-vaes.h): a
// decryption may read a file's mapping, which another process can change between two reads. The
// empty asm makes the loaded value opaque, so the compiler cannot fold the load into two
// instructions or read the source again for the second use.
template <typename T>
CT_VAES inline T ReadOnce(T value) {
  __asm__("" : "+x"(value));
  return value;
}

CT_VAES inline uint8_t ReadByteOnce(const uint8_t* from) {
  uint8_t value = *from;
  __asm__("" : "+r"(value));
  return value;
}

// GHASH works on byte-reflected blocks: reversing each block's bytes makes GCM's bit order that of
// carry-less multiplication (with one extra factor x, folded into the precomputed powers of H).
CT_VAES inline __m128i Reflect(__m128i v) {
  return _mm_shuffle_epi8(v, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

CT_VAES inline __m256i Reflect2(__m256i v) {
  const __m256i mask = _mm256_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1,
                                       2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm256_shuffle_epi8(v, mask);
}

// x^128 + x^7 + x^2 + x + 1 in the reflected domain, as the reduction folds it.
CT_VAES inline __m128i Poly() {
  return _mm_set_epi64x(static_cast<int64_t>(0xC200000000000000ull), 1);
}

// Reduces a 256-bit product (hi:lo) to 128 bits: two folds of the low half by the polynomial.
CT_VAES inline __m128i Reduce(__m128i lo, __m128i hi) {
  const __m128i poly = Poly();
  __m128i t = _mm_clmulepi64_si128(lo, poly, 0x10);
  lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4E), t);
  t = _mm_clmulepi64_si128(lo, poly, 0x10);
  lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4E), t);
  return _mm_xor_si128(hi, lo);
}

// a . b / x in GF(2^128), reflected: with b = H . x this is a . H.
CT_VAES inline __m128i GfMul(__m128i a, __m128i b) {
  __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
  __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
  __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
  lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  return Reduce(lo, hi);
}

// One step of the key schedule: the previous round key's words chained, plus the assist word.
CT_VAES inline __m128i ExpandStep(__m128i key, __m128i assist) {
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, assist);
}

#define CT_EXPAND128(i, rcon) \
  rk[i] = ExpandStep(rk[i - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff))

CT_VAES void Expand128(const uint8_t* key, __m128i* rk) {
  rk[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  CT_EXPAND128(1, 0x01);
  CT_EXPAND128(2, 0x02);
  CT_EXPAND128(3, 0x04);
  CT_EXPAND128(4, 0x08);
  CT_EXPAND128(5, 0x10);
  CT_EXPAND128(6, 0x20);
  CT_EXPAND128(7, 0x40);
  CT_EXPAND128(8, 0x80);
  CT_EXPAND128(9, 0x1b);
  CT_EXPAND128(10, 0x36);
}

// AES-256: even round keys take RotWord+SubWord+rcon of the key before, odd ones SubWord alone.
#define CT_EXPAND256(i, rcon)                                                                     \
  rk[i] =                                                                                         \
      ExpandStep(rk[i - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff)); \
  if (i + 1 < 15)                                                                                 \
  rk[i + 1] = ExpandStep(rk[i - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa))

CT_VAES void Expand256(const uint8_t* key, __m128i* rk) {
  rk[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  rk[1] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key + 16));
  CT_EXPAND256(2, 0x01);
  CT_EXPAND256(4, 0x02);
  CT_EXPAND256(6, 0x04);
  CT_EXPAND256(8, 0x08);
  CT_EXPAND256(10, 0x10);
  CT_EXPAND256(12, 0x20);
  CT_EXPAND256(14, 0x40);
}

CT_VAES inline __m128i EncryptBlock(const uint8_t (*roundKeys)[16], int rounds, __m128i block) {
  block = _mm_xor_si128(block, _mm_load_si128(reinterpret_cast<const __m128i*>(roundKeys[0])));
  for (int r = 1; r < rounds; r++)
    block = _mm_aesenc_si128(block, _mm_load_si128(reinterpret_cast<const __m128i*>(roundKeys[r])));
  return _mm_aesenclast_si128(block,
                              _mm_load_si128(reinterpret_cast<const __m128i*>(roundKeys[rounds])));
}

CT_VAES inline __m128i Load(const uint8_t* p) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(p));
}
CT_VAES inline void Store(uint8_t* p, __m128i v) {
  _mm_store_si128(reinterpret_cast<__m128i*>(p), v);
}

// Byte-reflected counter block + n in its 32-bit counter (GCM's inc32: wraps within the word).
CT_VAES inline __m128i CounterPlus(__m128i counter, int n) {
  return _mm_add_epi32(counter, _mm_set_epi32(0, 0, 0, n));
}

// CPUID and XCR0 directly: clang 14 (the fuzzing and sanitizer builds) has no "vaes" for
// __builtin_cpu_supports. AVX2 code also needs the OS to save the YMM registers (XCR0 bits 1-2).
bool Probe() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool aes = (c >> 25) & 1, pclmul = (c >> 1) & 1, osxsave = (c >> 27) & 1,
             avx = (c >> 28) & 1;
  if (!aes || !pclmul || !osxsave || !avx) return false;
  unsigned xcr0Low = 0, xcr0High = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
  if ((xcr0Low & 6) != 6) return false;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool avx2 = (b >> 5) & 1, vaes = (c >> 9) & 1, vpclmulqdq = (c >> 10) & 1;
  return avx2 && vaes && vpclmulqdq;
}

}  // namespace

bool VaesGcmUsable() {
  static const bool usable = Probe();
  return usable;
}

CT_VAES bool VaesGcm::SetKey(const uint8_t* key, size_t keyLength) {
  if (!VaesGcmUsable() || (keyLength != 16 && keyLength != 32)) return false;
  __m128i rk[15];
  if (keyLength == 16) {
    Expand128(key, rk);
    rounds_ = 10;
  } else {
    Expand256(key, rk);
    rounds_ = 14;
  }
  for (int r = 0; r <= rounds_; r++) Store(roundKeys_[r], rk[r]);
  // H . x: H = E_K(0) reflected, shifted left by one bit, reduced.
  __m128i h = Reflect(EncryptBlock(roundKeys_, rounds_, _mm_setzero_si128()));
  __m128i carries = _mm_srli_epi64(h, 63);
  __m128i shifted = _mm_or_si128(_mm_slli_epi64(h, 1), _mm_slli_si128(carries, 8));
  __m128i top = _mm_srai_epi32(_mm_shuffle_epi32(h, 0xff), 31);
  __m128i h1 = _mm_xor_si128(shifted, _mm_and_si128(top, Poly()));
  // powers_[j] = H^(16 - j) . x, so that block j of sixteen is multiplied by powers_[j].
  __m128i power = h1;
  Store(powers_[15], power);
  for (int j = 14; j >= 0; j--) {
    power = GfMul(power, h1);
    Store(powers_[j], power);
  }
  // rk lives on the stack; plain stores to it would be dropped as dead, so OPENSSL_cleanse. (The H
  // values are register locals: C++ has no way to clear a register, and assigning zero to them
  // here would be dropped the same way.)
  OPENSSL_cleanse(rk, sizeof rk);
  return true;
}

CT_VAES void VaesGcm::Begin(const uint8_t* iv) {
  alignas(16) uint8_t j0[16];
  std::memcpy(j0, iv, 12);
  j0[12] = 0;
  j0[13] = 0;
  j0[14] = 0;
  j0[15] = 1;
  __m128i block = Load(j0);
  Store(tagMask_, EncryptBlock(roundKeys_, rounds_, block));
  Store(counter_, CounterPlus(Reflect(block), 1));
  Store(hash_, _mm_setzero_si128());
  length_ = 0;
}

void VaesGcm::Encrypt(const uint8_t* src, uint8_t* dst, size_t length) {
  Crypt(src, dst, length, true);
}

void VaesGcm::Decrypt(const uint8_t* src, uint8_t* dst, size_t length) {
  Crypt(src, dst, length, false);
}

CT_VAES void VaesGcm::Crypt(const uint8_t* src, uint8_t* dst, size_t length, bool encrypt) {
  const __m128i h1 = Load(powers_[15]);
  __m128i hash = Load(hash_);
  size_t pos = 0;
  // A partial block left by the call before: its keystream is kept.
  size_t used = static_cast<size_t>(length_ % 16);
  if (used != 0) {
    while (used < 16 && pos < length) {
      uint8_t in = ReadByteOnce(src + pos);
      uint8_t out = static_cast<uint8_t>(in ^ keystream_[used]);
      dst[pos] = out;
      partial_[used] = encrypt ? out : in;
      used++;
      pos++;
    }
    if (used == 16) hash = GfMul(_mm_xor_si128(hash, Reflect(Load(partial_))), h1);
  }
  __m128i counter = Load(counter_);
  const int rounds = rounds_;
  // Sixteen blocks per step, as eight pairs.
  if (length - pos >= 256) {
    __m256i keys[15];
    for (int r = 0; r <= rounds; r++) keys[r] = _mm256_broadcastsi128_si256(Load(roundKeys_[r]));
    const __m256i two = _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 2);
    __m256i pair = _mm256_add_epi32(_mm256_broadcastsi128_si256(counter),
                                    _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
    for (; length - pos >= 256; pos += 256) {
      __m256i x[8];
#pragma GCC unroll 8
      for (int k = 0; k < 8; k++) {
        x[k] = _mm256_xor_si256(Reflect2(pair), keys[0]);
        pair = _mm256_add_epi32(pair, two);
      }
      for (int r = 1; r < rounds; r++) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) x[k] = _mm256_aesenc_epi128(x[k], keys[r]);
      }
      __m256i lo = _mm256_setzero_si256(), hi = lo, mid = lo;
#pragma GCC unroll 8
      for (int k = 0; k < 8; k++) {
        __m256i in =
            ReadOnce(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + pos + 32 * k)));
        __m256i out = _mm256_xor_si256(_mm256_aesenclast_epi128(x[k], keys[rounds]), in);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + pos + 32 * k), out);
        __m256i c = Reflect2(encrypt ? out : in);
        if (k == 0)
          c = _mm256_xor_si256(c, _mm256_inserti128_si256(_mm256_setzero_si256(), hash, 0));
        __m256i p = _mm256_load_si256(reinterpret_cast<const __m256i*>(powers_[2 * k]));
        lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(c, p, 0x00));
        hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(c, p, 0x11));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(c, p, 0x01));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(c, p, 0x10));
      }
      __m128i l = _mm_xor_si128(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
      __m128i h = _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
      __m128i m = _mm_xor_si128(_mm256_castsi256_si128(mid), _mm256_extracti128_si256(mid, 1));
      hash = Reduce(_mm_xor_si128(l, _mm_slli_si128(m, 8)), _mm_xor_si128(h, _mm_srli_si128(m, 8)));
    }
    counter = _mm256_castsi256_si128(pair);
    // Spilled to the stack (sixteen YMM registers hold the eight blocks and the GHASH sums); plain
    // stores to a dead array are dropped by the compiler, so the wipe goes through OPENSSL_cleanse.
    OPENSSL_cleanse(keys, sizeof keys);
  }
  // Whole blocks left, one at a time.
  for (; length - pos >= 16; pos += 16) {
    __m128i in = ReadOnce(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + pos)));
    __m128i out = _mm_xor_si128(EncryptBlock(roundKeys_, rounds, Reflect(counter)), in);
    counter = CounterPlus(counter, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + pos), out);
    hash = GfMul(_mm_xor_si128(hash, Reflect(encrypt ? out : in)), h1);
  }
  // A partial block: its keystream and its bytes so far are kept for the next call or Finish.
  if (pos < length) {
    Store(keystream_, EncryptBlock(roundKeys_, rounds, Reflect(counter)));
    counter = CounterPlus(counter, 1);
    std::memset(partial_, 0, sizeof partial_);
    for (size_t i = 0; pos + i < length; i++) {
      uint8_t in = ReadByteOnce(src + pos + i);
      uint8_t out = static_cast<uint8_t>(in ^ keystream_[i]);
      dst[pos + i] = out;
      partial_[i] = encrypt ? out : in;
    }
  }
  Store(counter_, counter);
  Store(hash_, hash);
  length_ += length;
}

CT_VAES void VaesGcm::Finish(uint8_t* tag) {
  const __m128i h1 = Load(powers_[15]);
  __m128i hash = Load(hash_);
  if (length_ % 16 != 0) hash = GfMul(_mm_xor_si128(hash, Reflect(Load(partial_))), h1);
  // The length block, len(A) = 0 || len(C) in bits, reflected.
  __m128i lengths = _mm_set_epi64x(0, static_cast<int64_t>(length_ * 8));
  hash = GfMul(_mm_xor_si128(hash, lengths), h1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(tag), _mm_xor_si128(Reflect(hash), Load(tagMask_)));
  OPENSSL_cleanse(keystream_, sizeof keystream_);
  OPENSSL_cleanse(partial_, sizeof partial_);
  OPENSSL_cleanse(hash_, sizeof hash_);
}

#undef CT_VAES
#undef CT_EXPAND128
#undef CT_EXPAND256

#else

bool VaesGcmUsable() { return false; }
bool VaesGcm::SetKey(const uint8_t*, size_t) { return false; }
void VaesGcm::Begin(const uint8_t*) {}
void VaesGcm::Encrypt(const uint8_t*, uint8_t*, size_t) {}
void VaesGcm::Decrypt(const uint8_t*, uint8_t*, size_t) {}
void VaesGcm::Finish(uint8_t*) {}
void VaesGcm::Crypt(const uint8_t*, uint8_t*, size_t, bool) {}

#endif

// Every member derives from the key or the message (gcm-vaes.h): the whole object is cleared.
static_assert(std::is_trivially_copyable_v<VaesGcm> && std::is_standard_layout_v<VaesGcm>,
              "Wipe() clears VaesGcm as bytes");
void VaesGcm::Wipe() { OPENSSL_cleanse(this, sizeof *this); }

}  // namespace ct
