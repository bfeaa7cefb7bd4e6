#include "file-handle.h"

#include <openssl/crypto.h>

#include <cmath>
#include <string>
#include <utility>

#include "addon-data.h"
#include "args.h"
#include "plan-args.h"
#include "status.h"
#include "workers.h"

namespace ct {

Napi::Function FileHandle::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeFileHandle",
                                   {
                                       InstanceAccessor<&FileHandle::Size>("size"),
                                       InstanceAccessor<&FileHandle::InFlight>("inFlight"),
                                       InstanceMethod<&FileHandle::Read>("read"),
                                       InstanceMethod<&FileHandle::Decrypt>("decrypt"),
                                       InstanceMethod<&FileHandle::Plan>("plan"),
                                       InstanceMethod<&FileHandle::ReadSeal>("readSeal"),
                                       InstanceMethod<&FileHandle::Close>("close"),
                                   });
  // One constructor per environment (main thread and each worker_thread load their own).
  GetAddonData(env).handleConstructor = Napi::Persistent(cls);
  return cls;
}

Napi::Object FileHandle::NewInstance(Napi::Env env, std::shared_ptr<MappedFile> file) {
  Napi::Object object = GetAddonData(env).handleConstructor.New({});
  Unwrap(object)->file_ = std::move(file);
  return object;
}

FileHandle::FileHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileHandle>(info) {}

void FileHandle::RequireState(Napi::Env env) const {
  if (!file_) throw Napi::TypeError::New(env, "NativeFileHandle is only created by openFile()");
}

Napi::Value FileHandle::Resolved(Napi::Env env, int64_t status) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Resolve(Napi::Number::New(env, static_cast<double>(status)));
  return deferred.Promise();
}

Napi::Value FileHandle::Size(const Napi::CallbackInfo& info) {
  RequireState(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(file_->size()));
}

Napi::Value FileHandle::InFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), inFlight_);
}

Napi::Value FileHandle::QueuePlan(Napi::Env env, const char* name, std::unique_ptr<PlanJob> job) {
  // A closing handle drops the job here: its key copy is wiped by SecretBytes.
  if (closing_) return Resolved(env, kClosed);
  auto* worker = new PlanWorker(env, name, Value(), this, file_, std::move(job));
  inFlight_++;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// read(offset, length, dest) -> Promise<status>
Napi::Value FileHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  uint64_t offset = ArgSafeInteger(info, 0, "offset");
  uint64_t length = ArgSafeInteger(info, 1, "length");
  PlanJobBuilder builder(env, {}, {}, {});
  builder.AddRead(offset, length, info[2], "dest");
  return QueuePlan(env, "cryptotensors:read", builder.Finish());
}

// decrypt(algorithm, key, fileOffset, length, chunkSize, firstChunk, baseIv, tags, dest)
//   -> Promise<status>
Napi::Value FileHandle::Decrypt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  PlanEntry entry;
  entry.algorithm = ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  ByteView key = ArgBytes(info, 1, "key");
  entry.fileOffset = ArgSafeInteger(info, 2, "fileOffset");
  entry.length = ArgSafeInteger(info, 3, "length");
  entry.chunkSize = ArgSafeInteger(info, 4, "chunkSize");
  entry.firstChunk = ArgSafeInteger(info, 5, "firstChunk");
  ByteView baseIv = ArgBytes(info, 6, "baseIv");
  ByteView tags = ArgBytes(info, 7, "tags");
  if (key.length != AeadKeyLength(entry.algorithm)) {
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  }
  if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
  uint64_t chunks = AeadChunkCount(entry.length, entry.chunkSize);
  if (tags.length / kTagLength < chunks) {
    throw Napi::RangeError::New(env, "tags must hold 16 bytes per covered chunk");
  }
  PlanJobBuilder builder(env, key, baseIv, ByteView{tags.data, chunks * kTagLength});
  builder.AddDecrypt(entry, 0, 0, 0, info[8], "dest");
  return QueuePlan(env, "cryptotensors:decrypt", builder.Finish());
}

// plan(table, keys, ivs, tags, dests, failed, destPrivate) -> Promise<status>
//   table: Float64Array of 9 numbers per entry: kind (0 read, 1 decrypt), algorithm, fileOffset,
//   length, chunkSize, firstChunk, keyOffset, ivOffset, tagOffset (offsets into keys/ivs/tags);
//   dests: an Array of one destination per entry; failed: Float64Array(1) that receives the index
//   of the entry that failed; destPrivate: the destinations are fresh memory of this load that
//   nothing else can observe before the promise settles (PlanEntry::destPrivate).
Napi::Value FileHandle::Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  if (!info[5].IsTypedArray() ||
      info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[5].As<Napi::Float64Array>().ElementLength() < 1) {
    throw Napi::TypeError::New(env, "failed must be a Float64Array of at least one element");
  }
  Napi::Float64Array failed = info[5].As<Napi::Float64Array>();
  if (!info[6].IsUndefined() && !info[6].IsBoolean())
    throw Napi::TypeError::New(env, "destPrivate must be a boolean");
  std::unique_ptr<PlanJob> job =
      ParseTable(env, info[0], info[1], info[2], info[3], info[4],
                 info[6].IsBoolean() && info[6].As<Napi::Boolean>().Value());
  failed[0] = -1;
  job->failedOwner = Napi::Persistent(static_cast<Napi::Object>(failed));
  return QueuePlan(env, "cryptotensors:plan", std::move(job));
}

// readSeal(algorithm, chunkSize, fileOffset, length, firstChunk, key, baseIv, dest, tags, ...)
//   -> Promise<status>
// Reads each part's plaintext range of the file into `dest` (an arena) and seals it there as v2
// chunks of `chunkSize` (IVs from `baseIv` at chunk `firstChunk`), all parts as one plan over the
// pool (PlanEntry::seal); each part's tags (16 bytes per chunk) go to `tags` once all succeeded.
Napi::Value FileHandle::ReadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  constexpr size_t kPart = 7;
  const size_t count = info.Length();
  if (count < 2 + kPart || (count - 2) % kPart != 0)
    throw Napi::TypeError::New(env, "readSeal takes seven arguments per part, at least one part");
  const AeadAlgorithm algorithm =
      ArgAlgorithm(env, ArgSafeInteger(info, 0, "algorithm"), "algorithm");
  const uint64_t chunkSize = ArgSafeInteger(info, 1, "chunkSize");
  if (chunkSize == 0) throw Napi::RangeError::New(env, "chunkSize must be positive");
  const size_t parts = (count - 2) / kPart;
  const size_t keyLength = AeadKeyLength(algorithm);
  // The keys and IVs are packed first (the builder copies them), the tags counted.
  std::vector<PlanEntry> entries(parts);
  std::vector<uint8_t> packedKeys;
  std::vector<uint8_t> ivs;
  uint64_t tagBytes = 0;
  // Reserved once (no reallocation leaves a copy behind) and wiped however this call ends.
  packedKeys.reserve(parts * keyLength);
  struct Wipe {
    std::vector<uint8_t>& bytes;
    ~Wipe() { OPENSSL_cleanse(bytes.data(), bytes.capacity()); }
  } wipe{packedKeys};
  ivs.reserve(parts * kIvLength);
  for (size_t p = 0; p < parts; p++) {
    const size_t at = 2 + p * kPart;
    PlanEntry& entry = entries[p];
    entry.algorithm = algorithm;
    entry.chunkSize = chunkSize;
    entry.fileOffset = ArgSafeInteger(info, at, "fileOffset");
    entry.length = ArgSafeInteger(info, at + 1, "length");
    entry.firstChunk = ArgSafeInteger(info, at + 2, "firstChunk");
    ByteView key = ArgBytes(info, at + 3, "key");
    ByteView baseIv = ArgBytes(info, at + 4, "baseIv");
    if (key.length != keyLength)
      throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
    if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
    packedKeys.insert(packedKeys.end(), key.data, key.data + key.length);
    ivs.insert(ivs.end(), baseIv.data, baseIv.data + kIvLength);
    tagBytes += AeadChunkCount(entry.length, chunkSize) * kTagLength;
  }
  std::vector<uint8_t> tags(static_cast<size_t>(tagBytes), 0);
  PlanJobBuilder builder(env, ByteView{packedKeys.data(), packedKeys.size()},
                         ByteView{ivs.data(), ivs.size()}, ByteView{tags.data(), tags.size()});
  builder.Reserve(parts);
  uint64_t tagOffset = 0;
  for (size_t p = 0; p < parts; p++) {
    const size_t at = 2 + p * kPart;
    builder.AddSeal(entries[p], p * keyLength, p * kIvLength, tagOffset, info[at + 5],
                    info[at + 6]);
    tagOffset += AeadChunkCount(entries[p].length, chunkSize) * kTagLength;
  }
  return QueuePlan(env, "cryptotensors:readSeal", builder.Finish());
}

std::unique_ptr<PlanJob> FileHandle::ParseTable(Napi::Env env, Napi::Value tableValue,
                                                Napi::Value keysValue, Napi::Value ivsValue,
                                                Napi::Value tagsValue, Napi::Value destsValue,
                                                bool destPrivate) {
  constexpr size_t kFields = 9;
  if (!tableValue.IsTypedArray() ||
      tableValue.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "table must be a Float64Array");
  }
  Napi::Float64Array table = tableValue.As<Napi::Float64Array>();
  if (table.ElementLength() % kFields != 0) {
    throw Napi::RangeError::New(env, "table must hold 9 numbers per entry");
  }
  auto bytes = [&](Napi::Value value, const char* name) {
    uint8_t* data = nullptr;
    size_t length = 0;
    if (!ViewBytes(value, &data, &length))
      throw Napi::TypeError::New(env, ArgMessage(name, "must be an ArrayBuffer or a TypedArray"));
    return ByteView{data, length};
  };
  ByteView keys = bytes(keysValue, "keys");
  ByteView ivs = bytes(ivsValue, "ivs");
  ByteView tags = bytes(tagsValue, "tags");
  if (!destsValue.IsArray()) throw Napi::TypeError::New(env, "dests must be an Array");
  Napi::Array destArray = destsValue.As<Napi::Array>();
  const size_t count = table.ElementLength() / kFields;
  if (destArray.Length() != count)
    throw Napi::RangeError::New(env, "dests must hold one destination per entry");

  PlanJobBuilder builder(env, keys, ivs, tags);
  builder.Reserve(count);
  builder.SetDestPrivate(destPrivate);
  auto field = [&](size_t i, size_t f, const char* name) {
    double value = table[i * kFields + f];
    if (!std::isfinite(value) || std::floor(value) != value || value < 0 ||
        value > 9007199254740991.0) {
      throw Napi::RangeError::New(
          env, std::string("table.") + name + " must be a non-negative safe integer");
    }
    return static_cast<uint64_t>(value);
  };
  for (size_t i = 0; i < count; i++) {
    uint64_t kind = field(i, 0, "kind");
    if (kind > 1) throw Napi::RangeError::New(env, "table.kind must be 0 or 1");
    PlanEntry entry;
    entry.algorithm = ArgAlgorithm(env, field(i, 1, "algorithm"), "table.algorithm");
    entry.fileOffset = field(i, 2, "fileOffset");
    entry.length = field(i, 3, "length");
    entry.chunkSize = field(i, 4, "chunkSize");
    entry.firstChunk = field(i, 5, "firstChunk");
    Napi::Value dest = destArray.Get(static_cast<uint32_t>(i));
    if (kind == 0) {
      builder.AddRead(entry.fileOffset, entry.length, dest, "each dest");
    } else {
      builder.AddDecrypt(entry, field(i, 6, "keyOffset"), field(i, 7, "ivOffset"),
                         field(i, 8, "tagOffset"), dest, "each dest");
    }
  }
  return builder.Finish();
}

FileHandle* FileHandle::TakePlan(Napi::Env env, Napi::Value handle, Napi::Object plan,
                                 std::unique_ptr<PlanJob>* job, std::shared_ptr<MappedFile>* file) {
  Napi::Function constructor = GetAddonData(env).handleConstructor.Value();
  if (!handle.IsObject() || !handle.As<Napi::Object>().InstanceOf(constructor))
    throw Napi::TypeError::New(env, "plan.handle must be a NativeFileHandle");
  FileHandle* owner = Unwrap(handle.As<Napi::Object>());
  owner->RequireState(env);
  if (owner->closing_) throw Napi::Error::New(env, "plan.handle is closed");
  *job = ParseTable(env, plan.Get("table"), plan.Get("keys"), plan.Get("ivs"), plan.Get("tags"),
                    plan.Get("dests"), plan.Get("destPrivate").ToBoolean().Value());
  *file = owner->file_;
  owner->inFlight_++;
  return owner;
}

// close() -> Promise<void>; resolves once every in-flight read has finished and the fd is closed.
Napi::Value FileHandle::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  closeWaiters_.push_back(deferred);
  closing_ = true;
  if (inFlight_ == 0 && !closeQueued_) QueueClose(env);
  return deferred.Promise();
}

void FileHandle::QueueClose(Napi::Env env) {
  closeQueued_ = true;
  auto* worker = new CloseWorker(env, Value(), this);
  worker->Queue();
}

void FileHandle::WorkDone() {
  inFlight_--;
  if (inFlight_ == 0 && closing_ && !closeQueued_) QueueClose(Env());
}

}  // namespace ct
