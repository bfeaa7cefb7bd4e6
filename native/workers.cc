#include "workers.h"

#include <openssl/crypto.h>

#include <cstring>
#include <new>
#include <utility>

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

// ---- shared file-work plumbing ----

FileWorker::FileWorker(Napi::Env env, const char* name, Napi::Object handleObject,
                       FileHandle* handle, std::shared_ptr<FileState> state)
    : Napi::AsyncWorker(env, name),
      state_(std::move(state)),
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

// ---- plans (read, decrypt, batch) ----

PlanWorker::PlanWorker(Napi::Env env, const char* name, Napi::Object handleObject,
                       FileHandle* handle, std::shared_ptr<FileState> state,
                       std::vector<PlanEntry> entries, std::vector<uint8_t> keys,
                       std::vector<uint8_t> ivs, std::vector<uint8_t> tags,
                       std::vector<Destination> dests, Napi::Object failed, double* failedSlot)
    : FileWorker(env, name, handleObject, handle, std::move(state)),
      entries_(std::move(entries)),
      keys_(std::move(keys)),
      ivs_(std::move(ivs)),
      tags_(std::move(tags)),
      dests_(std::move(dests)),
      failedSlot_(failedSlot) {
  if (!failed.IsEmpty()) failedOwner_ = Napi::Persistent(failed);
}

PlanWorker::~PlanWorker() {
  if (!keys_.empty()) OPENSSL_cleanse(keys_.data(), keys_.size());
}

void PlanWorker::Execute() {
  PlanResult result = RunPlan(*state_, entries_.data(), entries_.size());
  status_ = result.status;
  failedEntry_ = result.failedEntry;
  if (status_ == kOk) {
    uint64_t bytes = 0;
    for (const PlanEntry& entry : entries_) {
      bytes += entry.length;
      (entry.decrypt ? Counters().decrypts : Counters().reads)
          .fetch_add(1, std::memory_order_relaxed);
    }
    Counters().bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
}

void PlanWorker::OnOK() {
  if (failedSlot_ != nullptr) *failedSlot_ = static_cast<double>(failedEntry_);
  FileWorker::OnOK();
}

// ---- memory work (seal, copy) ----

MemoryWorker::MemoryWorker(Napi::Env env, Kind kind, Destination src, Destination dst,
                           Destination tags, AeadAlgorithm algorithm, std::vector<uint8_t> key,
                           std::vector<uint8_t> baseIv, uint64_t firstChunk, uint64_t chunkSize,
                           unsigned threads)
    : Napi::AsyncWorker(env, kind == Kind::kSeal ? "cryptotensors:seal" : "cryptotensors:copy"),
      deferred_(Napi::Promise::Deferred::New(env)),
      kind_(kind),
      src_(std::move(src)),
      dst_(std::move(dst)),
      tags_(std::move(tags)),
      algorithm_(algorithm),
      key_(std::move(key)),
      baseIv_(std::move(baseIv)),
      firstChunk_(firstChunk),
      chunkSize_(chunkSize),
      threads_(threads) {}

MemoryWorker::~MemoryWorker() {
  if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

void MemoryWorker::Execute() {
  status_ = kind_ == Kind::kSeal
                ? SealChunks(algorithm_, key_.data(), baseIv_.data(), firstChunk_, chunkSize_,
                             src_.data, dst_.data, src_.length, tags_.data)
                : ParallelCopy(dst_.data, src_.data, src_.length, threads_);
}

void MemoryWorker::OnOK() {
  deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(status_)));
}

void MemoryWorker::OnError(const Napi::Error&) {
  deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(kInternal)));
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
