// Module entry: exports openFile, openMemory, openArenaView, allocateArena, setArenaReuse,
// isArenaMemory, nativeInfo, stats, setAesEngine, setMappedDecrypt, seal, wrapKeys, unwrapKeys,
// ed25519PublicKey, ed25519Sign, and the benchmarks' copy, aeadInCache and populate. Everything
// else lives in its own file: arena (memory the addon owns, reused when asked), mapped-file (fd +
// mapping + pread), plan (scheduling of reads and decryptions over the thread pool), aead (chunk
// maths and IVs), cipher (OpenSSL EVP and ipsec-mb engines), memory-file (openMemory: a handle over
// addon-owned memory; openArenaView: one over an arena), seal (the writer's chunked encryption),
// data-keys (a save's or an open's data keys in one batch), ed25519 (a seed's public key and
// signatures), bench-copy (the benchmarks' floors: memcpy, AEAD in cache), sigbus-guard,
// thread-pool, workers (AsyncWorkers and their jobs), plan-args (arguments -> plan jobs),
// file-handle (ObjectWrap), secret (wiped key copies).
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <algorithm>
#include <memory>
#include <string>

#include "addon-data.h"
#include "arena.h"
#include "args.h"
#include "cipher.h"
#include "ed25519.h"
#include "file-handle.h"
#include "http-receive.h"
#include "memory-file.h"
#include "plan.h"
#include "status.h"
#include "sigbus-guard.h"
#include "thread-pool.h"
#include "data-keys.h"
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

// allocateArena(bytes, overwritten = false) -> ArrayBuffer over an arena (arena.h): zero-filled,
// unless `overwritten` (the caller writes every byte, or wipes them, before anyone reads) lets a
// recycled arena keep its old bytes. Its finalizer, which Node runs once the backing store is
// freed (after a transfer, on the allocating thread), drops the buffer's reference; plans still
// writing into it hold their own.
Napi::Value AllocateArena(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t length = ArgSafeInteger(info, 0, "bytes");
  if (length == 0) throw Napi::RangeError::New(env, "bytes must be positive");
  const bool overwritten = info.Length() > 1 && info[1].ToBoolean().Value();
  std::shared_ptr<Arena> arena;
  bool recycled = false;
  if (Arena::Create(length, &arena, &recycled) != kOk) {
    throw Napi::RangeError::New(
        env, "could not map " + std::to_string(length) + " bytes for an arena (out of memory)");
  }
  if (recycled && !overwritten) ZeroInParallel(arena->data(), length);
  auto* held = new std::shared_ptr<Arena>(arena);
  try {
    return Napi::ArrayBuffer::New(
        env, arena->data(), static_cast<size_t>(length),
        [](Napi::Env, void*, std::shared_ptr<Arena>* hint) { delete hint; }, held);
  } catch (...) {
    delete held;
    throw;
  }
}

// isArenaMemory(view) -> boolean: whether all of the view's bytes lie in a live arena (a plan
// may write there directly; anything else is staged by the TypeScript layer).
Napi::Value IsArenaMemory(const Napi::CallbackInfo& info) {
  ByteView bytes = ArgBytes(info, 0, "view");
  return Napi::Boolean::New(info.Env(),
                            bytes.length > 0 && Arena::Find(bytes.data, bytes.length) != nullptr);
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
  result.Set("threads", PlanThreadCount());
  result.Set("aesGcmEngine", AesEngineName(ActiveAesEngine()));
#if CT_HAVE_IPSEC_MB
  result.Set("ipsecMbBuilt", true);
#else
  result.Set("ipsecMbBuilt", false);
#endif
  result.Set("ipsecMbUsable", IpsecMbUsable());
  result.Set("vaesAvx2Usable", VaesAvx2Usable());
  // Every engine this CPU runs, fastest first (the first is the default).
  Napi::Array engines = Napi::Array::New(env);
  if (IpsecMbUsable()) engines.Set(engines.Length(), AesEngineName(AesEngine::kIpsecMb));
  if (VaesAvx2Usable()) engines.Set(engines.Length(), AesEngineName(AesEngine::kVaesAvx2));
  engines.Set(engines.Length(), AesEngineName(AesEngine::kOpenSsl));
  result.Set("aesGcmEngines", engines);
  // AES-GCM units are decrypted straight out of the file's mapping (plan.h SetMappedDecrypt).
  result.Set("mappedDecrypt", MappedDecryptEnabled() && EngineReadsSourceOnce(ActiveAesEngine()));
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("aesni", CpuHas("aes"));
  cpu.Set("vaes", CpuHas("vaes"));
  cpu.Set("avx512", CpuHas("avx512f"));
  cpu.Set("pclmul", CpuHas("pclmul"));
  result.Set("cpu", cpu);
  return result;
}

// setAesEngine("openssl" | "ipsec-mb" | "vaes-avx2") -> boolean (false: not built or not usable)
Napi::Value SetEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "engine must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  AesEngine engine;
  if (name == "openssl") {
    engine = AesEngine::kOpenSsl;
  } else if (name == "ipsec-mb") {
    engine = AesEngine::kIpsecMb;
  } else if (name == "vaes-avx2") {
    engine = AesEngine::kVaesAvx2;
  } else {
    throw Napi::RangeError::New(env, "engine must be \"openssl\", \"ipsec-mb\" or \"vaes-avx2\"");
  }
  return Napi::Boolean::New(env, SetAesEngine(engine));
}

// setMappedDecrypt(on) -> the previous setting (benchmarks and tests compare both designs).
Napi::Value SetMappedDecryptArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(env, "on must be a boolean");
  const bool previous = MappedDecryptEnabled();
  SetMappedDecrypt(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(env, previous);
}

// One sealing part from the arguments: key at `keyAt`, then baseIv and firstChunk; src, dst and
// tags from `srcAt` (checked against the algorithm and chunk size, copied/referenced into `part`).
void ArgSealPart(const Napi::CallbackInfo& info, size_t keyAt, size_t srcAt,
                 AeadAlgorithm algorithm, uint64_t chunkSize, SealJob& part) {
  Napi::Env env = info.Env();
  ByteView key = ArgBytes(info, keyAt, "key");
  ByteView baseIv = ArgBytes(info, keyAt + 1, "baseIv");
  part.firstChunk = ArgSafeInteger(info, keyAt + 2, "firstChunk");
  if (key.length != AeadKeyLength(algorithm))
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
  part.src = ArgDestination(info, srcAt, "src", 0);
  part.dst = ArgDestination(info, srcAt + 1, "dst", part.src.length);
  uint64_t chunks = AeadChunkCount(part.src.length, chunkSize);
  part.tags = ArgDestination(info, srcAt + 2, "tags", chunks * kTagLength);
  part.key = SecretBytes(key.data, key.length);
  std::copy(baseIv.data, baseIv.data + kIvLength, part.baseIv.begin());
}

// seal(algorithm, key, baseIv, firstChunk, chunkSize, src, dst, tags) -> Promise<status>
// Encrypts src into dst (same length; may be the same memory) as v2 chunks, tags 16 per chunk.
Napi::Value Seal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<SealJob>();
  job->algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  job->chunkSize = ArgSafeInteger(info, 4, "chunkSize");
  if (job->chunkSize == 0) throw Napi::RangeError::New(env, "chunkSize must be positive");
  ArgSealPart(info, 1, 5, job->algorithm, job->chunkSize, *job);
  auto* worker = new SealWorker(env, "cryptotensors:seal", std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// sealBatch(algorithm, chunkSize, key, baseIv, firstChunk, src, dst, tags, key, ...) ->
// Promise<status> Seals each part of six arguments as seal() would, all in one pool job (a writer
// batch).
Napi::Value SealBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<SealBatchJob>();
  job->algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  job->chunkSize = ArgSafeInteger(info, 1, "chunkSize");
  if (job->chunkSize == 0) throw Napi::RangeError::New(env, "chunkSize must be positive");
  size_t count = info.Length();
  if (count < 8 || (count - 2) % 6 != 0)
    throw Napi::TypeError::New(env, "sealBatch takes six arguments per part, at least one part");
  job->parts.reserve((count - 2) / 6);
  for (size_t at = 2; at < count; at += 6) {
    auto part = std::make_unique<SealJob>();
    ArgSealPart(info, at, at + 3, job->algorithm, job->chunkSize, *part);
    job->parts.push_back(std::move(part));
  }
  auto* worker = new SealBatchWorker(env, "cryptotensors:seal", std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// copy(src, dst, threads) -> Promise<status>: memcpy over `threads` pool threads (benchmarks).
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<CopyJob>();
  job->src = ArgDestination(info, 0, "src", 0);
  job->dst = ArgDestination(info, 1, "dst", job->src.length);
  uint64_t threads = ArgSafeInteger(info, 2, "threads");
  if (threads < 1 || threads > 64) throw Napi::RangeError::New(env, "threads must be 1..64");
  job->threads = static_cast<unsigned>(threads);
  auto* worker = new CopyWorker(env, "cryptotensors:copy", std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// aeadInCache(algorithm, key, totalBytes, messageBytes, threads) -> Promise<status>: the AEAD
// compute floor of the benchmarks (bench-copy.h AeadInCache).
Napi::Value AeadInCacheBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<AeadInCacheJob>();
  job->algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  ByteView key = ArgBytes(info, 1, "key");
  if (key.length != AeadKeyLength(job->algorithm))
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  job->total = ArgSafeInteger(info, 2, "totalBytes");
  job->message = ArgSafeInteger(info, 3, "messageBytes");
  if (job->message == 0 || job->message > (uint64_t{16} << 20) || job->message % 64 != 0)
    throw Napi::RangeError::New(env, "messageBytes must be a multiple of 64 up to 16 MiB");
  uint64_t threads = ArgSafeInteger(info, 4, "threads");
  if (threads < 1 || threads > 64) throw Napi::RangeError::New(env, "threads must be 1..64");
  job->threads = static_cast<unsigned>(threads);
  job->key = SecretBytes(key.data, key.length);
  auto* worker = new AeadInCacheWorker(env, "cryptotensors:aeadInCache", std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// populate(view) -> Promise<status>: faults in the pages of `view`, fresh arena memory whose
// content does not matter (it may be zeroed), over the pool as a fresh load does (benchmarks).
Napi::Value PopulateBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<PopulateJob>();
  job->dst = ArgDestination(info, 0, "view", 0);
  job->arena = Arena::Find(job->dst.data, job->dst.length);
  if (job->dst.length == 0 || !job->arena)
    throw Napi::TypeError::New(env, "view must be non-empty memory from allocateArena");
  auto* worker = new PopulateWorker(env, "cryptotensors:populate", std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// unwrapKeys(algorithm, masterKey, wrapped, ivs, tags, out) -> -1 | index of the first entry
// whose tag does not verify (data-keys.h), synchronously on the JS thread: a batch is a few hundred
// 32-byte messages under one key schedule, far less than a trip to the pool. Throws on a cipher
// failure; `out` is wiped whenever the result is not -1.
Napi::Value UnwrapKeysSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AeadAlgorithm algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  ByteView key = ArgBytes(info, 1, "masterKey");
  ByteView wrapped = ArgBytes(info, 2, "wrapped");
  ByteView ivs = ArgBytes(info, 3, "ivs");
  ByteView tags = ArgBytes(info, 4, "tags");
  OutputView out = ArgOutput(info, 5, "out");
  const size_t keyLength = AeadKeyLength(algorithm);
  if (key.length != keyLength)
    throw Napi::RangeError::New(env, "masterKey has the wrong length for the algorithm");
  const size_t count = ivs.length / kIvLength;
  if (ivs.length % kIvLength != 0 || tags.length != count * kTagLength ||
      wrapped.length != count * keyLength || out.length != wrapped.length) {
    throw Napi::RangeError::New(
        env, "wrapped, ivs, tags and out must hold the same number of keys, IVs and tags");
  }
  int64_t result =
      UnwrapKeys(algorithm, key.data, count, wrapped.data, ivs.data, tags.data, out.data);
  if (result == -2) throw Napi::Error::New(env, "the cipher failed while unwrapping data keys");
  return Napi::Number::New(env, static_cast<double>(result));
}

// ed25519PublicKey(seed, out): the 32-byte public key of a 32-byte seed into `out`.
Napi::Value Ed25519PublicKeySync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView seed = ArgBytes(info, 0, "seed");
  OutputView out = ArgOutput(info, 1, "out");
  if (seed.length != kEd25519KeyLength || out.length != kEd25519KeyLength)
    throw Napi::RangeError::New(env, "seed and out must be 32 bytes");
  if (!Ed25519PublicKey(seed.data, out.data))
    throw Napi::Error::New(env, "OpenSSL could not derive an Ed25519 public key");
  return env.Undefined();
}

// wrapKeys(algorithm, masterKey, keys, ivs, wrapped, tags): seals every data key of `keys` under
// the master key (data-keys.h) into `wrapped` and `tags`, synchronously on the JS thread, as
// unwrapKeys opens them. Throws on inconsistent lengths or a cipher failure.
Napi::Value WrapKeysSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AeadAlgorithm algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  ByteView key = ArgBytes(info, 1, "masterKey");
  ByteView keys = ArgBytes(info, 2, "keys");
  ByteView ivs = ArgBytes(info, 3, "ivs");
  OutputView wrapped = ArgOutput(info, 4, "wrapped");
  OutputView tags = ArgOutput(info, 5, "tags");
  const size_t keyLength = AeadKeyLength(algorithm);
  if (key.length != keyLength)
    throw Napi::RangeError::New(env, "masterKey has the wrong length for the algorithm");
  const size_t count = ivs.length / kIvLength;
  if (ivs.length % kIvLength != 0 || keys.length != count * keyLength ||
      wrapped.length != keys.length || tags.length != count * kTagLength) {
    throw Napi::RangeError::New(
        env, "keys, ivs, wrapped and tags must hold the same number of keys, IVs and tags");
  }
  if (!WrapKeys(algorithm, key.data, count, keys.data, ivs.data, wrapped.data, tags.data))
    throw Napi::Error::New(env, "the cipher failed while wrapping data keys");
  return env.Undefined();
}

// ed25519Sign(seed, message, out): the 64-byte Ed25519 signature of `message` under a 32-byte
// seed into `out`.
Napi::Value Ed25519SignSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView seed = ArgBytes(info, 0, "seed");
  ByteView message = ArgBytes(info, 1, "message");
  OutputView out = ArgOutput(info, 2, "out");
  if (seed.length != kEd25519KeyLength || out.length != kEd25519SignatureLength)
    throw Napi::RangeError::New(env, "seed must be 32 bytes and out 64 bytes");
  if (!Ed25519Sign(seed.data, message.data, message.length, out.data))
    throw Napi::Error::New(env, "OpenSSL could not sign with Ed25519");
  return env.Undefined();
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
  result.Set("httpRanges", static_cast<double>(counters.httpRanges.load()));
  result.Set("httpBytes", static_cast<double>(counters.httpBytes.load()));
  result.Set("httpDecrypts", static_cast<double>(counters.httpDecrypts.load()));
  result.Set("truncationFaults", static_cast<double>(GuardedFaults()));
  result.Set("arenas", static_cast<double>(Arena::LiveCount()));
  result.Set("arenaBytes", static_cast<double>(Arena::LiveBytes()));
  result.Set("arenaIdleBytes", static_cast<double>(Arena::IdleBytes()));
  result.Set("arenaReuses", static_cast<double>(Arena::ReuseCount()));
  result.Set("scratchlessTailUnits", static_cast<double>(ScratchlessTailUnits()));
  result.Set("mappedDecryptUnits", static_cast<double>(MappedDecryptUnits()));
  return result;
}

// setArenaReuse(bytes): how many bytes of freed arenas to keep for reuse (0: none, and unmap
// those kept now). Process-wide, like the thread pool.
Napi::Value SetArenaReuse(const Napi::CallbackInfo& info) {
  Arena::SetReuseLimit(ArgSafeInteger(info, 0, "bytes"));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  Napi::Object arrayBufferPrototype =
      env.Global().Get("ArrayBuffer").As<Napi::Object>().Get("prototype").As<Napi::Object>();
  Napi::Value descriptor = env.Global()
                               .Get("Object")
                               .As<Napi::Object>()
                               .Get("getOwnPropertyDescriptor")
                               .As<Napi::Function>()
                               .Call({arrayBufferPrototype, Napi::String::New(env, "resizable")});
  if (descriptor.IsObject()) {
    Napi::Value getter = descriptor.As<Napi::Object>().Get("get");
    if (getter.IsFunction()) data->resizableGetter = Napi::Persistent(getter.As<Napi::Function>());
  }
  FileHandle::Define(env);
  // The thread pool is process-wide: each environment holds it until its teardown, and the last
  // one to go joins its helpers (their thread-local key state is wiped as they exit).
  HoldPool();
  env.AddCleanupHook([] { ReleasePool(); });
  exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile"));
  exports.Set("allocateArena", Napi::Function::New<AllocateArena>(env, "allocateArena"));
  exports.Set("setArenaReuse", Napi::Function::New<SetArenaReuse>(env, "setArenaReuse"));
  exports.Set("isArenaMemory", Napi::Function::New<IsArenaMemory>(env, "isArenaMemory"));
  exports.Set("nativeInfo", Napi::Function::New<NativeInfo>(env, "nativeInfo"));
  exports.Set("stats", Napi::Function::New<Stats>(env, "stats"));
  exports.Set("setAesEngine", Napi::Function::New<SetEngine>(env, "setAesEngine"));
  exports.Set("setMappedDecrypt",
              Napi::Function::New<SetMappedDecryptArg>(env, "setMappedDecrypt"));
  exports.Set("seal", Napi::Function::New<Seal>(env, "seal"));
  exports.Set("sealBatch", Napi::Function::New<SealBatch>(env, "sealBatch"));
  exports.Set("copy", Napi::Function::New<Copy>(env, "copy"));
  exports.Set("aeadInCache", Napi::Function::New<AeadInCacheBench>(env, "aeadInCache"));
  exports.Set("populate", Napi::Function::New<PopulateBench>(env, "populate"));
  exports.Set("openMemory", Napi::Function::New<OpenMemory>(env, "openMemory"));
  exports.Set("openArenaView", Napi::Function::New<OpenArenaView>(env, "openArenaView"));
  exports.Set("httpReceive", Napi::Function::New<HttpReceive>(env, "httpReceive"));
  exports.Set("httpCancel", Napi::Function::New<HttpCancel>(env, "httpCancel"));
  exports.Set("httpClose", Napi::Function::New<HttpClose>(env, "httpClose"));
  exports.Set("adviseHugePages", Napi::Function::New<AdviseDestination>(env, "adviseHugePages"));
  exports.Set("unwrapKeys", Napi::Function::New<UnwrapKeysSync>(env, "unwrapKeys"));
  exports.Set("wrapKeys", Napi::Function::New<WrapKeysSync>(env, "wrapKeys"));
  exports.Set("ed25519Sign", Napi::Function::New<Ed25519SignSync>(env, "ed25519Sign"));
  exports.Set("ed25519PublicKey",
              Napi::Function::New<Ed25519PublicKeySync>(env, "ed25519PublicKey"));
  return exports;
}

}  // namespace
}  // namespace ct

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return ct::Init(env, exports);
}

NODE_API_MODULE(cryptotensors, InitModule)
