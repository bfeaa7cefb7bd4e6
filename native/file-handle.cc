#include "file-handle.h"

#include <cmath>
#include <string>
#include <utility>

#include "aead.h"
#include "args.h"
#include "status.h"
#include "workers.h"

namespace ct {

namespace {
struct ClassData {
  Napi::FunctionReference constructor;
};
}  // namespace

Napi::Function FileHandle::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeFileHandle",
                                   {
                                       InstanceAccessor<&FileHandle::Size>("size"),
                                       InstanceAccessor<&FileHandle::InFlight>("inFlight"),
                                       InstanceMethod<&FileHandle::Read>("read"),
                                       InstanceMethod<&FileHandle::Decrypt>("decrypt"),
                                       InstanceMethod<&FileHandle::Plan>("plan"),
                                       InstanceMethod<&FileHandle::Close>("close"),
                                   });
  // One constructor per environment (main thread and each worker_thread load their own).
  auto* data = new ClassData{Napi::Persistent(cls)};
  env.SetInstanceData<ClassData>(data);
  return cls;
}

Napi::Object FileHandle::NewInstance(Napi::Env env, std::shared_ptr<FileState> state) {
  Napi::Object object = env.GetInstanceData<ClassData>()->constructor.New({});
  Unwrap(object)->state_ = std::move(state);
  return object;
}

FileHandle::FileHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileHandle>(info) {}

void FileHandle::RequireState(Napi::Env env) const {
  if (!state_) throw Napi::TypeError::New(env, "NativeFileHandle is only created by openFile()");
}

Napi::Value FileHandle::Resolved(Napi::Env env, int64_t status) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Resolve(Napi::Number::New(env, static_cast<double>(status)));
  return deferred.Promise();
}

Napi::Value FileHandle::Size(const Napi::CallbackInfo& info) {
  RequireState(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(state_->size()));
}

Napi::Value FileHandle::InFlight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), inFlight_);
}

Napi::Value FileHandle::QueuePlan(Napi::Env env, const char* name, std::vector<PlanEntry> entries,
                                  std::vector<uint8_t> keys, std::vector<uint8_t> ivs,
                                  std::vector<uint8_t> tags, std::vector<Destination> dests,
                                  Napi::Object failed, double* failedSlot) {
  if (closing_) return Resolved(env, kClosed);
  auto* worker =
      new PlanWorker(env, name, Value(), this, state_, std::move(entries), std::move(keys),
                     std::move(ivs), std::move(tags), std::move(dests), failed, failedSlot);
  inFlight_++;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// read(offset, length, dest) -> Promise<status>
Napi::Value FileHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  PlanEntry entry;
  entry.fileOffset = ArgSafeInteger(info, 0, "offset");
  entry.length = ArgSafeInteger(info, 1, "length");
  std::vector<Destination> dests;
  dests.push_back(ArgDestination(info, 2, "dest", entry.length));
  entry.dest = dests.back().data;
  return QueuePlan(env, "cryptotensors:read", {entry}, {}, {}, {}, std::move(dests), Napi::Object(),
                   nullptr);
}

// decrypt(algorithm, key, fileOffset, length, chunkSize, firstChunk, baseIv, tags, dest)
//   -> Promise<status>
Napi::Value FileHandle::Decrypt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  PlanEntry entry;
  entry.decrypt = true;
  uint64_t algorithm = ArgSafeInteger(info, 0, "algorithm");
  if (algorithm > 2) throw Napi::RangeError::New(env, "algorithm must be 0, 1 or 2");
  entry.algorithm = static_cast<AeadAlgorithm>(algorithm);
  ByteView key = ArgBytes(info, 1, "key");
  entry.fileOffset = ArgSafeInteger(info, 2, "fileOffset");
  entry.length = ArgSafeInteger(info, 3, "length");
  entry.chunkSize = ArgSafeInteger(info, 4, "chunkSize");
  entry.firstChunk = ArgSafeInteger(info, 5, "firstChunk");
  ByteView baseIv = ArgBytes(info, 6, "baseIv");
  ByteView tags = ArgBytes(info, 7, "tags");
  std::vector<Destination> dests;
  dests.push_back(ArgDestination(info, 8, "dest", entry.length));

  // Memory safety only: the worker copies exactly these many bytes.
  if (key.length != AeadKeyLength(entry.algorithm)) {
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  }
  if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
  uint64_t chunks = AeadChunkCount(entry.length, entry.chunkSize);
  if (tags.length / kTagLength < chunks) {
    throw Napi::RangeError::New(env, "tags must hold 16 bytes per covered chunk");
  }
  // Copied so that JS may reuse or wipe its buffers at once; the key copy is wiped by the worker.
  std::vector<uint8_t> keyCopy(key.data, key.data + key.length);
  std::vector<uint8_t> ivCopy(baseIv.data, baseIv.data + kIvLength);
  std::vector<uint8_t> tagCopy(tags.data, tags.data + chunks * kTagLength);
  entry.key = keyCopy.data();
  entry.baseIv = ivCopy.data();
  entry.tags = tagCopy.data();
  entry.dest = dests.back().data;
  return QueuePlan(env, "cryptotensors:decrypt", {entry}, std::move(keyCopy), std::move(ivCopy),
                   std::move(tagCopy), std::move(dests), Napi::Object(), nullptr);
}

// plan(table, keys, ivs, tags, dests, failed) -> Promise<status>
//   table: Float64Array of 9 numbers per entry: kind (0 read, 1 decrypt), algorithm, fileOffset,
//   length, chunkSize, firstChunk, keyOffset, ivOffset, tagOffset (offsets into keys/ivs/tags);
//   dests: an Array of one destination per entry; failed: Float64Array(1) that receives the index
//   of the entry that failed.
Napi::Value FileHandle::Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  constexpr size_t kFields = 9;
  if (!info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "table must be a Float64Array");
  }
  Napi::Float64Array table = info[0].As<Napi::Float64Array>();
  if (table.ElementLength() % kFields != 0) {
    throw Napi::RangeError::New(env, "table must hold 9 numbers per entry");
  }
  ByteView keys = ArgBytes(info, 1, "keys");
  ByteView ivs = ArgBytes(info, 2, "ivs");
  ByteView tags = ArgBytes(info, 3, "tags");
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "dests must be an Array");
  Napi::Array destArray = info[4].As<Napi::Array>();
  if (!info[5].IsTypedArray() ||
      info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[5].As<Napi::Float64Array>().ElementLength() < 1) {
    throw Napi::TypeError::New(env, "failed must be a Float64Array of at least one element");
  }
  Napi::Float64Array failed = info[5].As<Napi::Float64Array>();
  const size_t count = table.ElementLength() / kFields;
  if (destArray.Length() != count)
    throw Napi::RangeError::New(env, "dests must hold one destination per entry");

  std::vector<uint8_t> keyCopy(keys.data, keys.data + keys.length);
  std::vector<uint8_t> ivCopy(ivs.data, ivs.data + ivs.length);
  std::vector<uint8_t> tagCopy(tags.data, tags.data + tags.length);
  std::vector<PlanEntry> entries(count);
  std::vector<Destination> dests;
  dests.reserve(count);
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
    PlanEntry& entry = entries[i];
    uint64_t kind = field(i, 0, "kind");
    if (kind > 1) throw Napi::RangeError::New(env, "table.kind must be 0 or 1");
    entry.decrypt = kind == 1;
    uint64_t algorithm = field(i, 1, "algorithm");
    if (algorithm > 2) throw Napi::RangeError::New(env, "table.algorithm must be 0, 1 or 2");
    entry.algorithm = static_cast<AeadAlgorithm>(algorithm);
    entry.fileOffset = field(i, 2, "fileOffset");
    entry.length = field(i, 3, "length");
    entry.chunkSize = field(i, 4, "chunkSize");
    entry.firstChunk = field(i, 5, "firstChunk");
    uint64_t keyOffset = field(i, 6, "keyOffset");
    uint64_t ivOffset = field(i, 7, "ivOffset");
    uint64_t tagOffset = field(i, 8, "tagOffset");
    Napi::Value destValue = destArray.Get(static_cast<uint32_t>(i));
    Destination dest;
    if (!ViewBytes(destValue, &dest.data, &dest.length)) {
      throw Napi::TypeError::New(env, "each dest must be an ArrayBuffer or a TypedArray");
    }
    if (entry.length > dest.length)
      throw Napi::RangeError::New(env, "a dest is smaller than its entry's length");
    dest.owner = Napi::Persistent(destValue.As<Napi::Object>());
    entry.dest = dest.data;
    dests.push_back(std::move(dest));
    if (!entry.decrypt) continue;
    // Memory safety: every key, IV and tag range lies inside the copied buffers.
    uint64_t keyLength = AeadKeyLength(entry.algorithm);
    uint64_t tagBytes = AeadChunkCount(entry.length, entry.chunkSize) * kTagLength;
    if (keyOffset > keyCopy.size() || keyLength > keyCopy.size() - keyOffset ||
        ivOffset > ivCopy.size() || kIvLength > ivCopy.size() - ivOffset ||
        tagOffset > tagCopy.size() || tagBytes > tagCopy.size() - tagOffset) {
      throw Napi::RangeError::New(env, "a table entry points outside keys, ivs or tags");
    }
    entry.key = keyCopy.data() + keyOffset;
    entry.baseIv = ivCopy.data() + ivOffset;
    entry.tags = tagCopy.data() + tagOffset;
  }
  failed[0] = -1;
  return QueuePlan(env, "cryptotensors:plan", std::move(entries), std::move(keyCopy),
                   std::move(ivCopy), std::move(tagCopy), std::move(dests), failed, failed.Data());
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
