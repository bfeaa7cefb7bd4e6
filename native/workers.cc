#include "workers.h"

#include <openssl/crypto.h>

#include <cstring>
#include <new>

#include "file-handle.h"
#include "status.h"

namespace ct {

NativeCounters& Counters() {
  static NativeCounters counters;
  return counters;
}

// ---- open ----

OpenWorker::OpenWorker(Napi::Env env, std::string path)
    : Napi::AsyncWorker(env, "cryptotensors:open"),
      deferred_(Napi::Promise::Deferred::New(env)),
      path_(std::move(path)) {}

void OpenWorker::Execute() {
  status_ = FileState::Open(path_, &state_);
  if (status_ == kOk) Counters().opens.fetch_add(1, std::memory_order_relaxed);
}

void OpenWorker::OnOK() {
  Napi::Env env = Env();
  if (status_ != kOk) {
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(status_)));
    return;
  }
  try {
    deferred_.Resolve(FileHandle::NewInstance(env, std::move(state_)));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

void OpenWorker::OnError(const Napi::Error&) {
  deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(kInternal)));
}

// ---- shared read/decrypt plumbing ----

FileWorker::FileWorker(Napi::Env env, const char* name, Napi::Object handleObject,
                       FileHandle* handle, std::shared_ptr<FileState> state, Destination dest)
    : Napi::AsyncWorker(env, name),
      state_(std::move(state)),
      dest_(std::move(dest)),
      deferred_(Napi::Promise::Deferred::New(env)),
      handleObject_(Napi::Persistent(handleObject)),
      handle_(handle) {}

void FileWorker::Finish(int64_t status) {
  Napi::Env env = Env();
  // Unpin before settling, so that a close() waiting on this worker can proceed.
  handle_->WorkDone();
  deferred_.Resolve(Napi::Number::New(env, static_cast<double>(status)));
}

void FileWorker::OnOK() { Finish(status_); }

void FileWorker::OnError(const Napi::Error&) { Finish(kInternal); }

// ---- read ----

ReadWorker::ReadWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle,
                       std::shared_ptr<FileState> state, Destination dest, uint64_t offset,
                       uint64_t length)
    : FileWorker(env, "cryptotensors:read", handleObject, handle, std::move(state), std::move(dest)),
      offset_(offset),
      length_(length) {}

void ReadWorker::Execute() {
  status_ = state_->ReadExact(offset_, dest_.data, static_cast<size_t>(length_));
  if (status_ == kOk) {
    Counters().reads.fetch_add(1, std::memory_order_relaxed);
    Counters().bytes.fetch_add(length_, std::memory_order_relaxed);
  }
}

// ---- decrypt ----

DecryptWorker::DecryptWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle,
                             std::shared_ptr<FileState> state, Destination dest, DecryptJob job)
    : FileWorker(env, "cryptotensors:decrypt", handleObject, handle, std::move(state),
                 std::move(dest)),
      job_(job) {
  // The binding validated the lengths; copy so that JS may reuse or wipe its buffers at once.
  std::memcpy(key_.data(), job.key, AeadKeyLength(job.algorithm));
  std::memcpy(baseIv_.data(), job.baseIv, kIvLength);
  size_t tagBytes = static_cast<size_t>(AeadChunkCount(job.length, job.chunkSize)) * kTagLength;
  tags_.assign(job.tags, job.tags + tagBytes);
  job_.key = key_.data();
  job_.baseIv = baseIv_.data();
  job_.tags = tags_.data();
}

DecryptWorker::~DecryptWorker() { OPENSSL_cleanse(key_.data(), key_.size()); }

void DecryptWorker::Execute() {
  const FileState* file = state_.get();
  RangeReader read = [file](uint64_t offset, uint8_t* dest, size_t length) {
    return file->ReadExact(offset, dest, length);
  };
  status_ = AeadDecryptRange(job_, read, dest_.data, AeadThreadCount());
  if (status_ == kOk) {
    Counters().decrypts.fetch_add(1, std::memory_order_relaxed);
    Counters().bytes.fetch_add(job_.length, std::memory_order_relaxed);
  }
}

// ---- close ----

CloseWorker::CloseWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle)
    : Napi::AsyncWorker(env, "cryptotensors:close"),
      handleObject_(Napi::Persistent(handleObject)),
      handle_(handle),
      state_(handle->state_) {}

void CloseWorker::Execute() {
  if (state_) state_->Close();
}

void CloseWorker::Finish() {
  Napi::Env env = Env();
  handle_->closed_ = true;
  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(handle_->closeWaiters_);
  for (auto& waiter : waiters) waiter.Resolve(env.Undefined());
}

void CloseWorker::OnOK() { Finish(); }

void CloseWorker::OnError(const Napi::Error&) { Finish(); }

}  // namespace ct
