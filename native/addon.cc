// Module entry: exports openFile, nativeInfo and stats. Everything else lives in its own file:
// file-state (fd + pread), aead (OpenSSL EVP), workers (AsyncWorkers), file-handle (ObjectWrap).
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <string>

#include "aead.h"
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
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("aesni", CpuHas("aes"));
  cpu.Set("vaes", CpuHas("vaes"));
  cpu.Set("avx512", CpuHas("avx512f"));
  cpu.Set("pclmul", CpuHas("pclmul"));
  result.Set("cpu", cpu);
  return result;
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
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  FileHandle::Define(env);
  exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile"));
  exports.Set("nativeInfo", Napi::Function::New<NativeInfo>(env, "nativeInfo"));
  exports.Set("stats", Napi::Function::New<Stats>(env, "stats"));
  return exports;
}

}  // namespace
}  // namespace ct

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ct::Init(env, exports); }

NODE_API_MODULE(cryptotensors, InitModule)
