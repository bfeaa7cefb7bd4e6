// Promise-returning AsyncWorkers, one job struct ("baton") each: the JS thread fills a job's
// inputs, Execute() runs it on the libuv thread pool without touching JS values and fills its
// outputs, and every outcome (success or failure) resolves the promise with a status (status.h).
// Key material in a job is a SecretBytes, wiped when the job is destroyed on any path.
#ifndef CRYPTOTENSORS_WORKERS_H_
#define CRYPTOTENSORS_WORKERS_H_

#include <napi.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "arena.h"
#include "mapped-file.h"
#include "plan.h"
#include "secret.h"

namespace ct {

class FileHandle;

// Process-wide counters of completed native operations (diagnostics; proves the native path ran).
struct NativeCounters {
  std::atomic<uint64_t> opens{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> decrypts{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> httpRanges{0};    // range responses received whole (http-receive.h)
  std::atomic<uint64_t> httpBytes{0};     // body bytes received in place by those jobs
  std::atomic<uint64_t> httpDecrypts{0};  // pieces decrypted by the thread that received them
};
NativeCounters& Counters();

// Caller-supplied memory: the JS object stays referenced while the worker runs, so the memory
// behind `data` cannot be collected under the worker.
struct Destination {
  Napi::ObjectReference owner;
  uint8_t* data = nullptr;
  size_t length = 0;
};

// A plan of reads and decryptions (plan.h). The entries' key/IV/tag pointers point into the
// job's own copies; every destination lies in an arena that `arenas` holds until the job is
// destroyed (after its threads are done), whatever happens to the JS buffers meanwhile; `dests`
// keeps the JS views, to tell at completion whether one was transferred or detached;
// `failedOwner` (a Float64Array) receives the index of the failing entry. `destPrivate`: the
// destinations are fresh memory of this load, faulted in by the workers before they decrypt.
struct PlanJob {
  // inputs
  std::vector<PlanEntry> entries;
  SecretBytes keys;
  std::vector<uint8_t> ivs;
  std::vector<uint8_t> tags;
  std::vector<Destination> dests;
  std::vector<std::shared_ptr<Arena>> arenas;
  bool destPrivate = false;
  Napi::ObjectReference failedOwner;
  // Seal entries (a read and seal): the JS buffers their tags are copied to on success, and
  // where those tags lie in `tags` (offset, bytes).
  struct TagsOut {
    size_t offset;
    size_t bytes;
  };
  std::vector<Destination> tagsOut;
  std::vector<TagsOut> tagsOutAt;
  // output
  PlanResult result{0, -1};
};

// Chunked AEAD encryption of memory for the writer (seal.h).
struct SealJob {
  // inputs
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  SecretBytes key;
  std::array<uint8_t, kIvLength> baseIv{};
  uint64_t firstChunk = 0;
  uint64_t chunkSize = 0;
  Destination src;
  Destination dst;
  Destination tags;
  // output
  int64_t status = 0;
};

// Several seal jobs (the chunked pieces of one writer batch) run as one pool job: each part's
// key, base IV, first chunk and buffers (its algorithm and chunk size are the batch's).
struct SealBatchJob {
  // inputs
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  uint64_t chunkSize = 0;
  std::vector<std::unique_ptr<SealJob>> parts;
  // output
  int64_t status = 0;
};

// The benchmarks' parallel memcpy (bench-copy.h).
struct CopyJob {
  // inputs
  Destination src;
  Destination dst;
  unsigned threads = 1;
  // output
  int64_t status = 0;
};

// The benchmarks' AEAD compute floor (bench-copy.h AeadInCache).
struct AeadInCacheJob {
  // inputs
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  SecretBytes key;
  uint64_t total = 0;
  uint64_t message = 0;
  unsigned threads = 1;
  // output
  int64_t status = 0;
};

// The benchmarks' fresh-memory floor: faults in an arena's fresh pages (arena.h PopulateForWrite),
// as a fresh load does before it decrypts.
struct PopulateJob {
  // inputs
  Destination dst;
  std::shared_ptr<Arena> arena;  // held while the pool writes into it
  // output
  int64_t status = 0;
};

// Resolves with a FileHandle, or with a (numeric) status when opening failed.
class OpenWorker : public Napi::AsyncWorker {
 public:
  OpenWorker(Napi::Env env, std::string path);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  int64_t status_ = 0;
};

// Runs a PlanJob against an open file; pins the handle while it runs.
class PlanWorker : public Napi::AsyncWorker {
 public:
  PlanWorker(Napi::Env env, const char* name, Napi::Object handleObject, FileHandle* handle,
             std::shared_ptr<MappedFile> file, std::unique_ptr<PlanJob> job);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void Finish(int64_t status);
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference handleObject_;
  FileHandle* handle_;
  std::shared_ptr<MappedFile> file_;
  std::unique_ptr<PlanJob> job_;
};

// Runs a memory job (SealJob, CopyJob, AeadInCacheJob, PopulateJob) on the pool and resolves with
// its status.
template <typename Job>
class MemoryWorker : public Napi::AsyncWorker {
 public:
  MemoryWorker(Napi::Env env, const char* name, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        job_(std::move(job)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { job_->status = Run(*job_); }
  void OnOK() override {
    deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(job_->status)));
  }
  void OnError(const Napi::Error&) override;

 private:
  static int64_t Run(Job& job);
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Job> job_;
};

template <>
int64_t MemoryWorker<SealJob>::Run(SealJob& job);
template <>
int64_t MemoryWorker<SealBatchJob>::Run(SealBatchJob& job);
template <>
int64_t MemoryWorker<CopyJob>::Run(CopyJob& job);
template <>
int64_t MemoryWorker<AeadInCacheJob>::Run(AeadInCacheJob& job);
template <>
int64_t MemoryWorker<PopulateJob>::Run(PopulateJob& job);
extern template class MemoryWorker<SealJob>;
extern template class MemoryWorker<SealBatchJob>;
extern template class MemoryWorker<CopyJob>;
extern template class MemoryWorker<AeadInCacheJob>;
extern template class MemoryWorker<PopulateJob>;

using SealWorker = MemoryWorker<SealJob>;
using SealBatchWorker = MemoryWorker<SealBatchJob>;
using CopyWorker = MemoryWorker<CopyJob>;
using AeadInCacheWorker = MemoryWorker<AeadInCacheJob>;
using PopulateWorker = MemoryWorker<PopulateJob>;

// Closes the descriptor off the JS thread, then resolves every close() waiter.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle);

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void Finish();
  Napi::ObjectReference handleObject_;
  FileHandle* handle_;
  std::shared_ptr<MappedFile> file_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_WORKERS_H_
