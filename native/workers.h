// Promise-returning AsyncWorkers. Execute() runs on the libuv thread pool and never touches JS
// values; every outcome (success or failure) resolves the promise with a status (status.h).
#ifndef CRYPTOTENSORS_WORKERS_H_
#define CRYPTOTENSORS_WORKERS_H_

#include <napi.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "aead.h"
#include "file-state.h"

namespace ct {

class FileHandle;

// Process-wide counters of completed native operations (diagnostics; proves the native path ran).
struct NativeCounters {
  std::atomic<uint64_t> opens{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> decrypts{0};
  std::atomic<uint64_t> bytes{0};
};
NativeCounters& Counters();

// A caller-supplied destination: the JS object stays referenced while the worker runs, so the
// memory behind `data` cannot be collected under the worker.
struct Destination {
  Napi::ObjectReference owner;
  uint8_t* data = nullptr;
  size_t length = 0;
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
  std::shared_ptr<FileState> state_;
  int64_t status_ = 0;
};

// Shared shape of the file workers: pins the handle while the work runs.
class FileWorker : public Napi::AsyncWorker {
 public:
  FileWorker(Napi::Env env, const char* name, Napi::Object handleObject, FileHandle* handle,
             std::shared_ptr<FileState> state);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  std::shared_ptr<FileState> state_;
  int64_t status_ = 0;

 private:
  void Finish(int64_t status);
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference handleObject_;
  FileHandle* handle_;
};

// A plan of reads and decryptions (aead.h). The entries' key/IV/tag pointers point into the
// three byte vectors this worker owns (copied from JS); `dests` pins every destination. The key
// bytes are wiped in the destructor. Resolves with the status; `failed` (a Float64Array of one
// element, when given) receives the index of the failing entry.
class PlanWorker : public FileWorker {
 public:
  PlanWorker(Napi::Env env, const char* name, Napi::Object handleObject, FileHandle* handle,
             std::shared_ptr<FileState> state, std::vector<PlanEntry> entries,
             std::vector<uint8_t> keys, std::vector<uint8_t> ivs, std::vector<uint8_t> tags,
             std::vector<Destination> dests, Napi::Object failed, double* failedSlot);
  ~PlanWorker() override;

 protected:
  void Execute() override;
  void OnOK() override;

 private:
  std::vector<PlanEntry> entries_;
  std::vector<uint8_t> keys_;
  std::vector<uint8_t> ivs_;
  std::vector<uint8_t> tags_;
  std::vector<Destination> dests_;
  Napi::ObjectReference failedOwner_;
  double* failedSlot_;
  int64_t failedEntry_ = -1;
};

// Memory-to-memory work on the thread pool, with no file: chunked AEAD encryption for the writer
// (seal), and a parallel memcpy used as the benchmarks' bandwidth baseline. `src` and `dst` (and
// `tags`) stay referenced while it runs; the key copy is wiped in the destructor.
class MemoryWorker : public Napi::AsyncWorker {
 public:
  enum class Kind { kSeal, kCopy };
  MemoryWorker(Napi::Env env, Kind kind, Destination src, Destination dst, Destination tags,
               AeadAlgorithm algorithm, std::vector<uint8_t> key, std::vector<uint8_t> baseIv,
               uint64_t firstChunk, uint64_t chunkSize, unsigned threads);
  ~MemoryWorker() override;
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  Kind kind_;
  Destination src_;
  Destination dst_;
  Destination tags_;
  AeadAlgorithm algorithm_;
  std::vector<uint8_t> key_;
  std::vector<uint8_t> baseIv_;
  uint64_t firstChunk_;
  uint64_t chunkSize_;
  unsigned threads_;
  int64_t status_ = 0;
};

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
  std::shared_ptr<FileState> state_;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_WORKERS_H_
