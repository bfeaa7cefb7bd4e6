// The JS-visible file object. All of its mutable state (in-flight count, close requests) is
// touched only on the JS thread; worker threads see nothing but the shared MappedFile.
#ifndef CRYPTOTENSORS_FILE_HANDLE_H_
#define CRYPTOTENSORS_FILE_HANDLE_H_

#include <napi.h>

#include <memory>
#include <vector>

#include "mapped-file.h"
#include "workers.h"

namespace ct {

class FileHandle : public Napi::ObjectWrap<FileHandle> {
 public:
  // Defines the class; instances are only made by the open worker (NewInstance).
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<MappedFile> file);

  explicit FileHandle(const Napi::CallbackInfo& info);

  // Called on the JS thread by every worker this handle started, when it completes.
  void WorkDone();

  // A plan (`plan`: { table, keys, ivs, tags, dests, destPrivate }, as plan() takes them, checked
  // alike) over the file of `handle` (a NativeFileHandle), for native code that runs it on a
  // thread of its own (native/http-receive.cc decrypts a chunk on the thread that received it).
  // Throws as plan() does. The handle counts the plan in flight (close() waits) until the caller
  // calls WorkDone() on the returned handle, on the JS thread.
  static FileHandle* TakePlan(Napi::Env env, Napi::Value handle, Napi::Object plan,
                              std::unique_ptr<PlanJob>* job, std::shared_ptr<MappedFile>* file);

 private:
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value InFlight(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Decrypt(const Napi::CallbackInfo& info);
  Napi::Value Plan(const Napi::CallbackInfo& info);
  Napi::Value ReadSeal(const Napi::CallbackInfo& info);
  Napi::Value QueuePlan(Napi::Env env, const char* name, std::unique_ptr<PlanJob> job);
  static std::unique_ptr<PlanJob> ParseTable(Napi::Env env, Napi::Value table, Napi::Value keys,
                                             Napi::Value ivs, Napi::Value tags, Napi::Value dests,
                                             bool destPrivate);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Throws a TypeError unless the handle came from openFile().
  void RequireState(Napi::Env env) const;
  // A promise already resolved with `status` (used for ERR_CLOSED).
  static Napi::Value Resolved(Napi::Env env, int64_t status);
  void QueueClose(Napi::Env env);

  std::shared_ptr<MappedFile> file_;
  unsigned inFlight_ = 0;
  bool closing_ = false;
  bool closeQueued_ = false;
  bool closed_ = false;
  std::vector<Napi::Promise::Deferred> closeWaiters_;

  friend class CloseWorker;
};

}  // namespace ct

#endif  // CRYPTOTENSORS_FILE_HANDLE_H_
