// Module entry: exports openFile, nativeInfo, stats, setAesEngine, seal and copy. Everything else
// lives in its own file: file-state (fd + mapping + pread), aead (plans over the thread pool),
// cipher (OpenSSL EVP and ipsec-mb engines), sigbus-guard, thread-pool, workers (AsyncWorkers),
// file-handle (ObjectWrap).
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <string>

#include "aead.h"
#include "args.h"
#include "cipher.h"
#include "sigbus-guard.h"
#include "file-handle.h"
#include "workers.h"

namespace ct {
namespace {

// openFile(path) -> Promise<NativeFileHandle | status>
Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // An embedded NUL would silently open a different (shorter) path.
  if (path.empty() || path.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(env, "path must be a non-empty string without NUL characters");
  }
  auto* worker = new OpenWorker(env, std::move(path));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

bool CpuHas(const char* feature) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // __builtin_cpu_supports needs a literal, hence the explicit list.
  std::string name(feature);
  if (name == "aes") return __builtin_cpu_supports("aes");
  if (name == "vaes") return __builtin_cpu_supports("vaes");
  if (name == "avx512f") return __builtin_cpu_supports("avx512f");
  if (name == "pclmul") return __builtin_cpu_supports("pclmul");
#endif
  (void)feature;
  return false;
}

// nativeInfo() -> { openssl, opensslDir, opensslHeaders, threads, cpu: {...} }
Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  // OpenSSL_version() reports the library actually linked in, not the headers we compiled with.
  result.Set("openssl", OpenSSL_version(OPENSSL_VERSION));
  result.Set("opensslDir", OpenSSL_version(OPENSSL_DIR));
  result.Set("opensslPlatform", OpenSSL_version(OPENSSL_PLATFORM));
  result.Set("opensslHeaders", OPENSSL_VERSION_TEXT);
  result.Set("threads", AeadThreadCount());
  result.Set("aesGcmEngine", AesEngineName(ActiveAesEngine()));
#if CT_HAVE_IPSEC_MB
  result.Set("ipsecMbBuilt", true);
#else
  result.Set("ipsecMbBuilt", false);
#endif
  result.Set("ipsecMbUsable", IpsecMbUsable());
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("aesni", CpuHas("aes"));
  cpu.Set("vaes", CpuHas("vaes"));
  cpu.Set("avx512", CpuHas("avx512f"));
  cpu.Set("pclmul", CpuHas("pclmul"));
  result.Set("cpu", cpu);
  return result;
}

// setAesEngine("openssl" | "ipsec-mb") -> boolean (false: ipsec-mb is not built or not usable)
Napi::Value SetEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "engine must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  AesEngine engine;
  if (name == "openssl") {
    engine = AesEngine::kOpenSsl;
  } else if (name == "ipsec-mb") {
    engine = AesEngine::kIpsecMb;
  } else {
    throw Napi::RangeError::New(env, "engine must be \"openssl\" or \"ipsec-mb\"");
  }
  return Napi::Boolean::New(env, SetAesEngine(engine));
}

// seal(algorithm, key, baseIv, firstChunk, chunkSize, src, dst, tags) -> Promise<status>
// Encrypts src into dst (same length; may be the same memory) as v2 chunks, tags 16 per chunk.
Napi::Value Seal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t algorithm = ArgSafeInteger(info, 0, "algorithm");
  if (algorithm > 2) throw Napi::RangeError::New(env, "algorithm must be 0, 1 or 2");
  auto alg = static_cast<AeadAlgorithm>(algorithm);
  ByteView key = ArgBytes(info, 1, "key");
  ByteView baseIv = ArgBytes(info, 2, "baseIv");
  uint64_t firstChunk = ArgSafeInteger(info, 3, "firstChunk");
  uint64_t chunkSize = ArgSafeInteger(info, 4, "chunkSize");
  if (key.length != AeadKeyLength(alg))
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
  if (chunkSize == 0) throw Napi::RangeError::New(env, "chunkSize must be positive");
  Destination src = ArgDestination(info, 5, "src", 0);
  Destination dst = ArgDestination(info, 6, "dst", src.length);
  uint64_t chunks = AeadChunkCount(src.length, chunkSize);
  Destination tags = ArgDestination(info, 7, "tags", chunks * kTagLength);
  auto* worker = new MemoryWorker(
      env, MemoryWorker::Kind::kSeal, std::move(src), std::move(dst), std::move(tags), alg,
      std::vector<uint8_t>(key.data, key.data + key.length),
      std::vector<uint8_t>(baseIv.data, baseIv.data + kIvLength), firstChunk, chunkSize, 0);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// copy(src, dst, threads) -> Promise<status>: memcpy over `threads` pool threads (benchmarks).
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Destination src = ArgDestination(info, 0, "src", 0);
  Destination dst = ArgDestination(info, 1, "dst", src.length);
  uint64_t threads = ArgSafeInteger(info, 2, "threads");
  if (threads < 1 || threads > 64) throw Napi::RangeError::New(env, "threads must be 1..64");
  auto* worker = new MemoryWorker(env, MemoryWorker::Kind::kCopy, std::move(src), std::move(dst),
                                  Destination(), AeadAlgorithm::kAes256Gcm, {}, {}, 0, 0,
                                  static_cast<unsigned>(threads));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// stats() -> counters of completed native operations in this process.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeCounters& counters = Counters();
  Napi::Object result = Napi::Object::New(env);
  result.Set("opens", static_cast<double>(counters.opens.load()));
  result.Set("reads", static_cast<double>(counters.reads.load()));
  result.Set("decrypts", static_cast<double>(counters.decrypts.load()));
  result.Set("bytes", static_cast<double>(counters.bytes.load()));
  result.Set("truncationFaults", static_cast<double>(GuardedFaults()));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  FileHandle::Define(env);
  exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile"));
  exports.Set("nativeInfo", Napi::Function::New<NativeInfo>(env, "nativeInfo"));
  exports.Set("stats", Napi::Function::New<Stats>(env, "stats"));
  exports.Set("setAesEngine", Napi::Function::New<SetEngine>(env, "setAesEngine"));
  exports.Set("seal", Napi::Function::New<Seal>(env, "seal"));
  exports.Set("copy", Napi::Function::New<Copy>(env, "copy"));
  return exports;
}

}  // namespace
}  // namespace ct

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return ct::Init(env, exports);
}

NODE_API_MODULE(cryptotensors, InitModule)
