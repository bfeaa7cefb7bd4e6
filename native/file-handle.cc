#include "file-handle.h"

#include <cmath>

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

// read(offset, length, dest) -> Promise<status>
Napi::Value FileHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  uint64_t offset = ArgSafeInteger(info, 0, "offset");
  uint64_t length = ArgSafeInteger(info, 1, "length");
  Destination dest = ArgDestination(info, 2, "dest", length);
  if (closing_) return Resolved(env, kClosed);

  auto* worker = new ReadWorker(env, info.This().As<Napi::Object>(), this, state_, std::move(dest),
                                offset, length);
  inFlight_++;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// decrypt(algorithm, key, fileOffset, length, chunkSize, firstChunk, baseIv, tags, dest)
//   -> Promise<status>
Napi::Value FileHandle::Decrypt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireState(env);
  DecryptJob job{};
  uint64_t algorithm = ArgSafeInteger(info, 0, "algorithm");
  if (algorithm > 2) throw Napi::RangeError::New(env, "algorithm must be 0, 1 or 2");
  job.algorithm = static_cast<AeadAlgorithm>(algorithm);
  ByteView key = ArgBytes(info, 1, "key");
  job.fileOffset = ArgSafeInteger(info, 2, "fileOffset");
  job.length = ArgSafeInteger(info, 3, "length");
  job.chunkSize = ArgSafeInteger(info, 4, "chunkSize");
  job.firstChunk = ArgSafeInteger(info, 5, "firstChunk");
  ByteView baseIv = ArgBytes(info, 6, "baseIv");
  ByteView tags = ArgBytes(info, 7, "tags");
  Destination dest = ArgDestination(info, 8, "dest", job.length);

  // Memory safety only: the worker copies exactly these many bytes.
  if (key.length != AeadKeyLength(job.algorithm)) {
    throw Napi::RangeError::New(env, "key has the wrong length for the algorithm");
  }
  if (baseIv.length != kIvLength) throw Napi::RangeError::New(env, "baseIv must be 12 bytes");
  uint64_t chunks = AeadChunkCount(job.length, job.chunkSize);
  if (tags.length / kTagLength < chunks) {
    throw Napi::RangeError::New(env, "tags must hold 16 bytes per covered chunk");
  }
  job.key = key.data;
  job.baseIv = baseIv.data;
  job.tags = tags.data;
  if (closing_) return Resolved(env, kClosed);

  auto* worker = new DecryptWorker(env, info.This().As<Napi::Object>(), this, state_,
                                   std::move(dest), job);
  inFlight_++;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
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
