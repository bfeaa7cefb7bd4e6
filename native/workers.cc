#include "workers.h"

#include <cstring>
#include <utility>

#include "args.h"
#include "bench-copy.h"
#include "file-handle.h"
#include "seal.h"
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
  status_ = MappedFile::Open(path_, &file_);
  if (status_ == kOk) Counters().opens.fetch_add(1, std::memory_order_relaxed);
}

void OpenWorker::OnOK() {
  Napi::Env env = Env();
  if (status_ != kOk) {
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(status_)));
    return;
  }
  try {
    deferred_.Resolve(FileHandle::NewInstance(env, std::move(file_)));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

void OpenWorker::OnError(const Napi::Error&) {
  deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(kInternal)));
}

// ---- plans (read, decrypt, plan) ----

PlanWorker::PlanWorker(Napi::Env env, const char* name, Napi::Object handleObject,
                       FileHandle* handle, std::shared_ptr<MappedFile> file,
                       std::unique_ptr<PlanJob> job)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      handleObject_(Napi::Persistent(handleObject)),
      handle_(handle),
      file_(std::move(file)),
      job_(std::move(job)) {}

void PlanWorker::Execute() {
  PlanJob& job = *job_;
  job.result = RunPlan(*file_, job.entries.data(), job.entries.size());
  if (job.result.status != kOk) return;
  uint64_t bytes = 0;
  for (const PlanEntry& entry : job.entries) {
    bytes += entry.length;
    (entry.decrypt ? Counters().decrypts : Counters().reads)
        .fetch_add(1, std::memory_order_relaxed);
  }
  Counters().bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void PlanWorker::Finish(int64_t status) {
  Napi::Env env = Env();
  if (!job_->failedOwner.IsEmpty()) {
    // Looked up again now: the array may have been detached or shrunk while the plan ran.
    Napi::Value failed = job_->failedOwner.Value();
    if (failed.IsTypedArray() &&
        failed.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
        failed.As<Napi::Float64Array>().ElementLength() >= 1) {
      failed.As<Napi::Float64Array>()[0] = static_cast<double>(job_->result.failedEntry);
    }
  }
  // The keys are wiped now, not whenever the worker object is deleted.
  job_->keys.Wipe();
  // Unpin before settling, so that a close() waiting on this worker can proceed.
  handle_->WorkDone();
  deferred_.Resolve(Napi::Number::New(env, static_cast<double>(status)));
}

void PlanWorker::OnOK() {
  // A destination transferred (structuredClone / postMessage with a transfer list) or detached
  // while the plan ran no longer holds the result: the read fails with kDetached rather than
  // resolving with an empty view. Checked on the JS thread, where no transfer can interleave.
  if (job_->result.status == kOk) {
    for (size_t i = 0; i < job_->dests.size(); i++) {
      uint8_t* data = nullptr;
      size_t length = 0;
      Napi::Value owner = job_->dests[i].owner.Value();
      bool viewable = ViewBytes(owner, &data, &length);
      if (!viewable || length < job_->entries[i].length ||
          (job_->entries[i].length > 0 && data != job_->entries[i].dest)) {
        job_->result = PlanResult{kDetached, static_cast<int64_t>(i)};
        break;
      }
    }
  }
  // The tags of seal entries go to their JS buffers here, on the JS thread (looked up again:
  // a buffer may have been detached or shrunk meanwhile).
  for (size_t i = 0; job_->result.status == kOk && i < job_->tagsOut.size(); i++) {
    uint8_t* data = nullptr;
    size_t length = 0;
    const PlanJob::TagsOut& at = job_->tagsOutAt[i];
    if (!ViewBytes(job_->tagsOut[i].owner.Value(), &data, &length) || length < at.bytes) {
      job_->result = PlanResult{kDetached, -1};
      break;
    }
    if (at.bytes > 0) std::memcpy(data, job_->tags.data() + at.offset, at.bytes);
  }
  Finish(job_->result.status);
}

void PlanWorker::OnError(const Napi::Error&) { Finish(kInternal); }

// ---- memory work (seal, copy, the benchmarks' floors) ----

template <>
int64_t MemoryWorker<SealJob>::Run(SealJob& job) {
  int64_t status =
      SealChunks(job.algorithm, job.key.data(), job.baseIv.data(), job.firstChunk, job.chunkSize,
                 job.src.data, job.dst.data, job.src.length, job.tags.data);
  job.key.Wipe();
  return status;
}

template <>
int64_t MemoryWorker<SealBatchJob>::Run(SealBatchJob& job) {
  std::vector<SealSegment> segments;
  segments.reserve(job.parts.size());
  for (const auto& part : job.parts) {
    segments.push_back(SealSegment{part->key.data(), part->baseIv.data(), part->firstChunk,
                                   part->src.data, part->dst.data, part->src.length,
                                   part->tags.data});
  }
  int64_t status = SealSegments(job.algorithm, job.chunkSize, segments.data(), segments.size());
  for (const auto& part : job.parts) part->key.Wipe();
  return status;
}

template <>
int64_t MemoryWorker<CopyJob>::Run(CopyJob& job) {
  return ParallelCopy(job.dst.data, job.src.data, job.src.length, job.threads);
}

template <>
int64_t MemoryWorker<AeadInCacheJob>::Run(AeadInCacheJob& job) {
  int64_t status = AeadInCache(job.algorithm, job.key.data(), job.total, job.message, job.threads);
  job.key.Wipe();
  return status;
}

template <>
int64_t MemoryWorker<PopulateJob>::Run(PopulateJob& job) {
  PopulateForWrite(job.dst.data, job.dst.length);
  return kOk;
}

template <typename Job>
void MemoryWorker<Job>::OnError(const Napi::Error&) {
  deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(kInternal)));
}

template class MemoryWorker<SealJob>;
template class MemoryWorker<SealBatchJob>;
template class MemoryWorker<CopyJob>;
template class MemoryWorker<AeadInCacheJob>;
template class MemoryWorker<PopulateJob>;

// ---- close ----

CloseWorker::CloseWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle)
    : Napi::AsyncWorker(env, "cryptotensors:close"),
      handleObject_(Napi::Persistent(handleObject)),
      handle_(handle),
      file_(handle->file_) {}

void CloseWorker::Execute() {
  if (file_) file_->Close();
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
