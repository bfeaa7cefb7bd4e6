#include "memory-file.h"

#include <memory>

#include "arena.h"
#include "args.h"
#include "file-handle.h"
#include "huge-pages.h"
#include "mapped-file.h"
#include "status.h"

namespace ct {

namespace {
// The ArrayBuffer holds its own reference to the file: the memory outlives every JS view of it,
// whatever the order in which the handle is closed and the views are collected.
void ReleaseView(Napi::Env, void*, std::shared_ptr<MappedFile>* owner) { delete owner; }
}  // namespace

Napi::Value OpenMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t size = ArgSafeInteger(info, 0, "size");
  std::shared_ptr<MappedFile> file;
  uint8_t* memory = nullptr;
  int64_t status = MappedFile::OpenMemory(size, &file, &memory);
  if (status != kOk) return Napi::Number::New(env, static_cast<double>(status));
  Napi::ArrayBuffer view;
  if (memory == nullptr) {
    view = Napi::ArrayBuffer::New(env, 0);
  } else {
    auto* owner = new std::shared_ptr<MappedFile>(file);
    try {
      view = Napi::ArrayBuffer::New(env, memory, static_cast<size_t>(size), ReleaseView, owner);
    } catch (...) {
      delete owner;
      throw;
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("handle", FileHandle::NewInstance(env, std::move(file)));
  result.Set("memory", view);
  return result;
}

Napi::Value OpenArenaView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView bytes = ArgBytes(info, 0, "view");
  std::shared_ptr<Arena> arena =
      bytes.length > 0 ? Arena::Find(bytes.data, bytes.length) : std::shared_ptr<Arena>();
  if (!arena) throw Napi::TypeError::New(env, "view must lie in memory from allocateArena");
  std::shared_ptr<MappedFile> file;
  int64_t status = MappedFile::OpenBorrowed(const_cast<uint8_t*>(bytes.data), bytes.length,
                                            std::move(arena), &file);
  if (status != kOk) return Napi::Number::New(env, static_cast<double>(status));
  return FileHandle::NewInstance(env, std::move(file));
}

Napi::Value AdviseDestination(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!ViewBytes(env, info[0], &data, &length))
    throw Napi::TypeError::New(env, "view must be an ArrayBuffer or a TypedArray");
  if (data != nullptr) AdviseHugePages(data, length);
  return env.Undefined();
}

}  // namespace ct
