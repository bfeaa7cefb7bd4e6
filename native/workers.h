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

// Shared shape of the read and decrypt workers: pins the handle and the destination.
class FileWorker : public Napi::AsyncWorker {
 public:
  FileWorker(Napi::Env env, const char* name, Napi::Object handleObject, FileHandle* handle,
             std::shared_ptr<FileState> state, Destination dest);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  std::shared_ptr<FileState> state_;
  Destination dest_;
  int64_t status_ = 0;

 private:
  void Finish(int64_t status);
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference handleObject_;
  FileHandle* handle_;
};

class ReadWorker : public FileWorker {
 public:
  ReadWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle,
             std::shared_ptr<FileState> state, Destination dest, uint64_t offset, uint64_t length);

 protected:
  void Execute() override;

 private:
  uint64_t offset_;
  uint64_t length_;
};

class DecryptWorker : public FileWorker {
 public:
  // `key`, `baseIv` and `tags` are copied; the key copy is wiped in the destructor.
  DecryptWorker(Napi::Env env, Napi::Object handleObject, FileHandle* handle,
                std::shared_ptr<FileState> state, Destination dest, DecryptJob job);
  ~DecryptWorker() override;

 protected:
  void Execute() override;

 private:
  DecryptJob job_;
  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, kIvLength> baseIv_{};
  std::vector<uint8_t> tags_;
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
